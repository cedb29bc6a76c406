// Package fakepush is a Web Push service for tests: an httptest TLS server
// that checks each request's VAPID JWT (RFC 8292) and decrypts its RFC 8291
// aes128gcm body with the fake browser subscription's private key, as a
// browser would.
package fakepush

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/onlinenow/onlinenow/services"
)

// Browser is a fake browser's push subscription: its ECDH key pair and
// auth secret, which the fake push service uses to decrypt, as the
// browser would.
type Browser struct {
	Endpoint string
	priv     *ecdh.PrivateKey
	auth     []byte
}

func newBrowser(t testing.TB, endpoint string) Browser {
	t.Helper()
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	if _, err := rand.Read(auth); err != nil {
		t.Fatal(err)
	}
	return Browser{Endpoint: endpoint, priv: priv, auth: auth}
}

// Input is the subscription as a browser would post it.
func (b Browser) Input() services.PushSubscriptionInput {
	return services.PushSubscriptionInput{
		Endpoint: b.Endpoint,
		P256dh:   base64.RawURLEncoding.EncodeToString(b.priv.PublicKey().Bytes()),
		Auth:     base64.RawURLEncoding.EncodeToString(b.auth),
	}
}

// Request is one request the fake push service verified and decrypted.
type Request struct {
	Path      string
	Plaintext []byte
	BodyLen   int
	Header    http.Header
	At        time.Time
}

// Service is an httptest push service. It verifies the VAPID
// Authorization header and decrypts the RFC 8291 body with the matching
// browser's keys; respond chooses the status of the n-th request (from 0).
type Service struct {
	t        testing.TB
	srv      *httptest.Server
	vapidPub string

	mu    sync.Mutex         // guards subs, reqs and n
	subs  map[string]Browser // path -> browser
	reqs  []Request
	n     int
	got   chan Request // each verified request, buffered (Got)
	reply func(n int, w http.ResponseWriter, r *http.Request)
}

func New(t testing.TB, vapidPub string, reply func(n int, w http.ResponseWriter, r *http.Request)) *Service {
	f := &Service{t: t, vapidPub: vapidPub, subs: map[string]Browser{}, got: make(chan Request, 100), reply: reply}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// browser registers a new fake browser at a fresh endpoint path.
func (f *Service) Browser(t testing.TB, name string) Browser {
	b := newBrowser(t, f.srv.URL+"/push/"+name)
	f.mu.Lock()
	f.subs["/push/"+name] = b
	f.mu.Unlock()
	return b
}

// Requests returns every verified request so far.
func (f *Service) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.reqs...)
}

func (f *Service) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("fake push: read body: %v", err)
		return
	}
	f.mu.Lock()
	b, ok := f.subs[r.URL.Path]
	f.mu.Unlock()
	if !ok {
		f.t.Errorf("fake push: unknown endpoint %s", r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if err := f.verifyVAPID(r); err != nil {
		f.t.Errorf("fake push: VAPID: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if got := r.Header.Get("Content-Encoding"); got != "aes128gcm" {
		f.t.Errorf("fake push: Content-Encoding %q", got)
	}
	if r.Header.Get("TTL") == "" {
		f.t.Errorf("fake push: no TTL header")
	}
	plain, err := Decrypt(b, body)
	if err != nil {
		f.t.Errorf("fake push: decrypt: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	req := Request{Path: r.URL.Path, Plaintext: plain, BodyLen: len(body), Header: r.Header.Clone(), At: time.Now()}
	f.mu.Lock()
	n := f.n
	f.n++
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	f.got <- req
	if f.reply != nil {
		f.reply(n, w, r)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// verifyVAPID checks "vapid t=<jwt>, k=<key>" (RFC 8292): k is the
// server's key, the JWT is ES256-signed by it, aud is the endpoint's
// origin, exp is in the future and within 24 hours, sub is present.
func (f *Service) verifyVAPID(r *http.Request) error {
	rest, ok := strings.CutPrefix(r.Header.Get("Authorization"), "vapid ")
	if !ok {
		return fmt.Errorf("authorization %q is not vapid", r.Header.Get("Authorization"))
	}
	var tok, key string
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			tok = v
		case "k":
			key = v
		}
	}
	if key != f.vapidPub {
		return fmt.Errorf("k=%q, want the server's key %q", key, f.vapidPub)
	}
	raw, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil {
		return err
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return err
	}
	origin := "https://" + r.Host
	if origin != f.srv.URL {
		return fmt.Errorf("request host %s is not the endpoint's", r.Host)
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithExpirationRequired(), jwt.WithAudience(origin))
	if err != nil {
		return err
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return fmt.Errorf("exp: %v", err)
	}
	if exp.After(time.Now().Add(24 * time.Hour)) {
		return fmt.Errorf("exp %v is more than 24h away", exp)
	}
	if sub, _ := claims.GetSubject(); !strings.HasPrefix(sub, "mailto:") && !strings.HasPrefix(sub, "https:") {
		return fmt.Errorf("sub %q is not a mailto: or https: URL", sub)
	}
	return nil
}

// Decrypt is the user agent's side of RFC 8291 over RFC 8188
// aes128gcm: the header gives salt, record size and the application
// server's public key (keyid); ECDH with the subscription's private key
// and HKDF with the auth secret give the content key and nonce.
func Decrypt(b Browser, body []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("body shorter than the header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if len(body) < 21+idlen {
		return nil, errors.New("truncated keyid")
	}
	asPublic, records := body[21:21+idlen], body[21+idlen:]
	if rs < 18 {
		return nil, fmt.Errorf("record size %d too small", rs)
	}
	asKey, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, fmt.Errorf("keyid is not a P-256 key: %w", err)
	}
	secret, err := b.priv.ECDH(asKey)
	if err != nil {
		return nil, err
	}
	// RFC 8291 section 3.4: IKM from the ECDH secret, keyed by auth.
	keyInfo := append(append([]byte("WebPush: info\x00"), b.priv.PublicKey().Bytes()...), asPublic...)
	prkKey, err := hkdf.Extract(sha256.New, secret, b.auth)
	if err != nil {
		return nil, err
	}
	ikm, err := hkdf.Expand(sha256.New, prkKey, string(keyInfo), 32)
	if err != nil {
		return nil, err
	}
	// RFC 8188 section 2.2 and 2.3: content key and nonce from the salt.
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	baseNonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	var out []byte
	for seq := uint64(0); len(records) > 0; seq++ {
		n := min(int(rs), len(records))
		rec := records[:n]
		records = records[n:]
		nonce := bytes.Clone(baseNonce)
		var s [8]byte
		binary.BigEndian.PutUint64(s[:], seq)
		for i := range 8 {
			nonce[4+i] ^= s[i]
		}
		plain, err := gcm.Open(nil, nonce, rec, nil)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", seq, err)
		}
		// Strip padding: zeros after the delimiter, 2 on the last record.
		i := len(plain) - 1
		for i >= 0 && plain[i] == 0 {
			i--
		}
		last := len(records) == 0
		switch {
		case i < 0:
			return nil, fmt.Errorf("record %d: no delimiter", seq)
		case last && plain[i] != 2, !last && plain[i] != 1:
			return nil, fmt.Errorf("record %d: delimiter %d", seq, plain[i])
		}
		out = append(out, plain[:i]...)
	}
	return out, nil
}

// Got delivers each verified request as it arrives.
func (f *Service) Got() <-chan Request { return f.got }

// Client is an HTTP client that trusts the service's certificate.
func (f *Service) Client() *http.Client { return f.srv.Client() }

// URL is the service's origin.
func (f *Service) URL() string { return f.srv.URL }
