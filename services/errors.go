// Package services holds the business rules: users, friendships and blocks,
// direct messages and presence. It never imports gin, socket.io or dto.
package services

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; callers wrap them with the operation name and edges map
// them to HTTP statuses or to the socket "exception" event in one place each.
var (
	ErrNotFound  = errors.New("not found")
	ErrForbidden = errors.New("forbidden")
	ErrConflict  = errors.New("conflict")
	ErrInvalid   = errors.New("invalid input")
)

// ValidationError lists what is wrong with an input; it matches ErrInvalid.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string { return "invalid input: " + strings.Join(e.Problems, "; ") }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Invalid builds a ValidationError from one or more problems.
func Invalid(problems ...string) error { return &ValidationError{Problems: problems} }

// PublicError is an error whose message is safe to show to a client.
type PublicError struct {
	Kind error // one of the sentinels
	Msg  string
}

func (e *PublicError) Error() string { return e.Msg }

// Unwrap returns the sentinel.
func (e *PublicError) Unwrap() error { return e.Kind }

// Public returns an error of kind whose text a client may see.
func Public(kind error, format string, args ...any) error {
	return &PublicError{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}
