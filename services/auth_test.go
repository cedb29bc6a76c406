package services

import (
	"strings"
	"testing"
	"time"
)

func TestAttemptLimiter(t *testing.T) {
	l := newAttemptLimiter(5, 5*time.Minute, 3)
	t0 := time.Unix(1_000_000, 0)
	for i := 0; i < 5; i++ {
		if !l.Allow("a", t0) {
			t.Fatalf("attempt %d refused", i+1)
		}
		l.Fail("a", t0.Add(time.Duration(i)*time.Second))
	}
	if l.Allow("a", t0.Add(10*time.Second)) {
		t.Fatal("a sixth attempt within the window is allowed")
	}
	if !l.Allow("b", t0) {
		t.Fatal("another key is limited")
	}
	// The first failure leaves the window: one more attempt.
	if !l.Allow("a", t0.Add(5*time.Minute)) {
		t.Fatal("not allowed once the oldest failure left the window")
	}
	// Bounded: at most 3 keys with failures; expired ones make room.
	l.Fail("b", t0)
	l.Fail("c", t0)
	if l.Allow("d", t0) {
		t.Fatal("a fourth key is tracked while the limiter is full")
	}
	if !l.Allow("d", t0.Add(time.Hour)) {
		t.Fatal("expired keys do not make room")
	}
	if n := len(l.fails); n > 3 {
		t.Fatalf("%d keys held", n)
	}
}

func TestStepMemory(t *testing.T) {
	m := newStepMemory(2)
	if !m.Use("a", 100) || m.Use("a", 100) || m.Use("a", 99) || !m.Use("a", 101) {
		t.Fatal("a step is accepted once, and never an older one")
	}
	m.Use("b", 101)
	m.Use("c", 200) // full: a and b (more than 2 steps behind) are dropped
	if len(m.last) > 2 {
		t.Fatalf("%d users held", len(m.last))
	}
}

func TestSignedValues(t *testing.T) {
	now := time.Unix(2_000_000, 0)
	s := NewAuthService(nil, NewTokens([]byte("k")), AuthConfig{Key: []byte("0123456789abcdef"), Now: func() time.Time { return now }})
	other := NewAuthService(nil, NewTokens([]byte("k")), AuthConfig{Key: []byte("fedcba9876543210"), Now: func() time.Time { return now }})
	st := s.NewState()
	if !s.CheckState(st) || other.CheckState(st) || s.CheckState(st+"x") || s.CheckState(strings.Replace(st, ".", "", 1)) {
		t.Fatal("state check")
	}
	if s.ProofFor(st, "") {
		t.Fatal("a state passes for a 2FA proof")
	}
	p := s.sign("2fa", "user-1", ProofTTL)
	if !s.ProofFor(p, "user-1") || s.ProofFor(p, "user-2") || other.ProofFor(p, "user-1") {
		t.Fatal("proof check")
	}
	now = now.Add(ProofTTL)
	if s.ProofFor(p, "user-1") {
		t.Fatal("an expired proof passes")
	}
	if !strings.HasPrefix(s.AuthorizeURL("xyz"), "?") && !strings.Contains(s.AuthorizeURL("xyz"), "state=xyz") {
		t.Fatalf("authorize URL %q", s.AuthorizeURL("xyz"))
	}
}

func TestMatchStep(t *testing.T) {
	secret, err := newTOTPSecret("a@b")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(3_000_000_000, 0)
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		code, _ := TOTPCode(secret, now.Add(d))
		step, ok := matchStep(secret, code, now)
		if !ok || step != now.Add(d).Unix()/30 {
			t.Fatalf("drift %v: step %d ok %v", d, step, ok)
		}
	}
	code, _ := TOTPCode(secret, now.Add(-90*time.Second))
	if _, ok := matchStep(secret, code, now); ok {
		t.Fatal("a code three steps old is accepted")
	}
	key, err := totpKey("a@b.c", secret)
	if err != nil || key.Issuer() != "ft_transcendence" || key.AccountName() != "a@b.c" || key.Period() != 30 || key.Digits().Length() != 6 {
		t.Fatalf("key %v %v", key, err)
	}
}
