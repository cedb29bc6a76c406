// Package dto holds the wire shapes of the HTTP API: response types with
// hand-written mappers from the GORM models, and request decoders that
// validate bodies the way the original's class-validator pipes did.
package dto

import "time"

// jsLayout is JavaScript's Date.prototype.toJSON form: UTC, milliseconds, Z.
const jsLayout = "2006-01-02T15:04:05.000Z"

// Time is an instant that marshals like JavaScript's Date.toJSON,
// e.g. "2023-08-25T10:00:00.000Z". A nil *Time marshals as null.
type Time struct {
	t time.Time
}

// NewTime wraps t.
func NewTime(t time.Time) Time { return Time{t: t} }

// TimePtr wraps p, keeping nil as nil (null on the wire).
func TimePtr(p *time.Time) *Time {
	if p == nil {
		return nil
	}
	t := NewTime(*p)
	return &t
}

// Time returns the wrapped instant.
func (t Time) Time() time.Time { return t.t }

// String returns the wire form without quotes.
func (t Time) String() string { return t.t.UTC().Format(jsLayout) }

// MarshalJSON writes the quoted wire form.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(jsLayout)+2)
	b = append(b, '"')
	b = t.t.UTC().AppendFormat(b, jsLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON reads an RFC 3339 instant (the wire form is one).
func (t *Time) UnmarshalJSON(b []byte) error {
	var parsed time.Time
	if err := parsed.UnmarshalJSON(b); err != nil {
		return err
	}
	t.t = parsed
	return nil
}
