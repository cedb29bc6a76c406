package services

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the claims of an access token: the original's {id, email}.
type Claims struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	jwt.RegisteredClaims
}

// Tokens signs and verifies HS256 access tokens.
type Tokens struct {
	secret []byte
}

// NewTokens returns Tokens using secret.
func NewTokens(secret []byte) *Tokens { return &Tokens{secret: secret} }

// Sign returns a token for id and email that expires after ttl (a negative
// ttl makes an already expired token, for tests; ttl 0 makes a token
// without expiry, which Verify refuses).
func (t *Tokens) Sign(id, email string, ttl time.Duration) (string, error) {
	now := time.Now()
	c := Claims{ID: id, Email: email, RegisteredClaims: jwt.RegisteredClaims{IssuedAt: jwt.NewNumericDate(now)}}
	if ttl != 0 {
		c.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// ErrBadToken is returned for any token that does not verify.
var ErrBadToken = errors.New("invalid token")

// Verify checks the signature (HS256 only) and expiry of raw and returns
// its claims; the id must be a UUID. A token without "exp" (the original
// backend issued such tokens, valid forever) is refused.
func (t *Tokens) Verify(raw string) (Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired())
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	if !ValidID(c.ID) {
		return Claims{}, fmt.Errorf("%w: id is not a UUID", ErrBadToken)
	}
	return c, nil
}
