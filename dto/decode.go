package dto

import (
	"bytes"
	"encoding/json"
	"math"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/onlinenow/onlinenow/services"
)

// BodyError is a request body that is not a JSON object. Its message is
// safe to show to the client.
type BodyError struct {
	Msg string
}

func (e *BodyError) Error() string { return e.Msg }

// fields reads the members of a JSON object body one by one and collects
// class-validator style problems ("email must be an email"). Unknown
// members are ignored (stripped); a JSON null counts as absent.
type fields struct {
	raw      map[string]json.RawMessage
	problems []string
}

// parseObject decodes body as a JSON object; an empty body is {}.
func parseObject(body []byte) (*fields, error) {
	f := &fields{raw: map[string]json.RawMessage{}}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return f, nil
	}
	if trimmed[0] != '{' {
		return nil, &BodyError{Msg: "request body must be a JSON object"}
	}
	if err := json.Unmarshal(trimmed, &f.raw); err != nil {
		return nil, &BodyError{Msg: "request body is not valid JSON"}
	}
	return f, nil
}

func (f *fields) fail(msg string) { f.problems = append(f.problems, msg) }

// err returns the collected problems as a services.ValidationError, or nil.
func (f *fields) err() error {
	if len(f.problems) == 0 {
		return nil
	}
	return services.Invalid(f.problems...)
}

// get returns the raw member, or false when it is absent or null.
func (f *fields) get(name string) (json.RawMessage, bool) {
	r, ok := f.raw[name]
	if !ok || string(r) == "null" {
		return nil, false
	}
	return r, true
}

// str reads a string member without recording problems: present says the
// member is there and not null, ok that it is a string.
func (f *fields) str(name string) (s string, present, ok bool) {
	r, present := f.get(name)
	if !present {
		return "", false, false
	}
	if err := json.Unmarshal(r, &s); err != nil {
		return "", true, false
	}
	return s, true, true
}

// optString reads an optional string member; a member of another type is
// recorded as a problem. ok is true only for a string.
func (f *fields) optString(name string) (s string, ok bool) {
	s, present, ok := f.str(name)
	if present && !ok {
		f.fail(name + " must be a string")
	}
	return s, ok
}

// check reads a string member that must satisfy valid; absent, mistyped
// and invalid values all record the single problem msg.
func (f *fields) check(name, msg string, valid func(string) bool) (string, bool) {
	s, _, ok := f.str(name)
	if !ok || !valid(s) {
		f.fail(msg)
		return s, false
	}
	return s, true
}

// nonEmptyString reads a required, non-blank string of at most max runes.
func (f *fields) nonEmptyString(name string, max int) string {
	s, present, ok := f.str(name)
	switch {
	case !present:
		f.fail(name + " should not be empty")
	case !ok:
		f.fail(name + " must be a string")
	case strings.TrimSpace(s) == "":
		f.fail(name + " should not be empty")
	case utf8.RuneCountInString(s) > max:
		f.fail(name + " must be shorter than or equal to " + strconv.Itoa(max) + " characters")
	}
	return s
}

// uuid reads a required UUID string.
func (f *fields) uuid(name string) string {
	s, _ := f.check(name, name+" must be a UUID", services.ValidID)
	return s
}

// boolean reads a required boolean.
func (f *fields) boolean(name string) bool {
	var b bool
	r, ok := f.get(name)
	if !ok || json.Unmarshal(r, &b) != nil {
		f.fail(name + " must be a boolean value")
	}
	return b
}

// number reads a required finite JSON number.
func (f *fields) number(name string) (float64, bool) {
	r, ok := f.get(name)
	var n json.Number
	// json.Number also accepts a quoted number: only a bare number counts.
	if !ok || r[0] == '"' || json.Unmarshal(r, &n) != nil {
		f.fail(name + " must be a number conforming to the specified constraints")
		return 0, false
	}
	v, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		f.fail(name + " must be a number conforming to the specified constraints")
		return 0, false
	}
	return v, true
}

// count reads a required integer in [0, 2^31-1] (Prisma's Int).
func (f *fields) count(name string) int {
	v, ok := f.number(name)
	switch {
	case !ok:
		return 0
	case v != math.Trunc(v):
		f.fail(name + " must be an integer number")
	case v < 0:
		f.fail(name + " must not be less than 0")
	case v > math.MaxInt32:
		f.fail(name + " must not be greater than " + strconv.Itoa(math.MaxInt32))
	default:
		return int(v)
	}
	return 0
}

// isEmail is a practical e-mail check: a bare addr-spec with a dotted domain.
func isEmail(s string) bool {
	if len(s) > 254 {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// isHTTPURL reports whether s is an absolute http(s) URL with a host.
func isHTTPURL(s string) bool {
	if len(s) > 2048 || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
