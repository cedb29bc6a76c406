package services

import (
	"crypto/subtle"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// totpPeriod is the TOTP time step.
const totpPeriod = 30

func totpValidateOpts() totp.ValidateOpts {
	return totp.ValidateOpts{Period: totpPeriod, Skew: 0, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
}

// newTOTPSecret returns a new random base32 TOTP secret.
func newTOTPSecret(account string) (string, error) {
	if account == "" {
		account = "user"
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: totpIssuer, AccountName: account, Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return "", fmt.Errorf("generate TOTP secret: %w", err)
	}
	return key.Secret(), nil
}

// totpKey is the key URI the original's QR code encodes:
// otpauth://totp/<issuer>:<email>?secret=&period=30&digits=6&algorithm=SHA1&issuer=.
func totpKey(email, secret string) (*otp.Key, error) {
	q := url.Values{}
	q.Set("secret", secret)
	q.Set("period", "30")
	q.Set("digits", "6")
	q.Set("algorithm", "SHA1")
	q.Set("issuer", totpIssuer)
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + totpIssuer + ":" + email, RawQuery: q.Encode()}
	key, err := otp.NewKeyFromURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("TOTP key: %w", err)
	}
	return key, nil
}

// TOTPCode returns the code of secret at t (for tests and tools).
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totpOpts)
}

// matchStep returns the time step (t/30 s, one either side) whose code is
// code, comparing in constant time.
func matchStep(secret, code string, t time.Time) (int64, bool) {
	now := t.Unix() / totpPeriod
	for _, step := range []int64{now - 1, now, now + 1} {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// stepMemory remembers, per user, the last time step whose code was
// accepted, so that a code is accepted once. It holds at most max users;
// entries older than the acceptance window are dropped when it is full.
type stepMemory struct {
	max int
	mu  sync.Mutex // guards last; only map operations run under it
	// last maps a user id to its last accepted step.
	last map[string]int64
}

func newStepMemory(max int) *stepMemory {
	return &stepMemory{max: max, last: map[string]int64{}}
}

// Use records step for user and reports whether it is newer than the last
// one used.
func (m *stepMemory) Use(user string, step int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if last, ok := m.last[user]; ok && step <= last {
		return false
	}
	if len(m.last) >= m.max {
		// A step two behind the newest accepted one can never be replayed
		// (codes are accepted one step either side of now).
		for u, s := range m.last {
			if s < step-2 {
				delete(m.last, u)
			}
		}
	}
	m.last[user] = step
	return true
}

// attemptLimiter counts failures per key in a sliding window: after max
// failures within window, Allow is false until the oldest leaves the
// window. It holds at most maxKeys keys, dropping expired ones when full
// (and refusing new keys while still full, so memory stays bounded).
type attemptLimiter struct {
	max     int
	window  time.Duration
	maxKeys int
	mu      sync.Mutex // guards fails; only slice and map operations run under it
	// fails maps a key to the times of its recent failures, oldest first.
	fails map[string][]time.Time
}

func newAttemptLimiter(max int, window time.Duration, maxKeys int) *attemptLimiter {
	return &attemptLimiter{max: max, window: window, maxKeys: maxKeys, fails: map[string][]time.Time{}}
}

// recent drops the failures of key older than the window; callers hold mu.
func (l *attemptLimiter) recent(key string, now time.Time) []time.Time {
	fs := l.fails[key]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= l.window {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(l.fails, key)
	} else {
		l.fails[key] = fs
	}
	return fs
}

// Allow reports whether key may make another attempt now.
func (l *attemptLimiter) Allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.fails[key]; !ok && len(l.fails) >= l.maxKeys {
		for k := range l.fails {
			l.recent(k, now)
		}
		if len(l.fails) >= l.maxKeys {
			return false
		}
	}
	return len(l.recent(key, now)) < l.max
}

// Fail records a failed attempt of key.
func (l *attemptLimiter) Fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fs := l.recent(key, now)
	if len(fs) >= l.max {
		fs = fs[1:]
	}
	l.fails[key] = append(fs, now)
}
