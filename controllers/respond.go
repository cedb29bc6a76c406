package controllers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/onlinenow/onlinenow/dto"
	"github.com/onlinenow/onlinenow/services"
)

// MaxBodyBytes is the largest request body accepted: Express's JSON
// parser default of 100 kB.
const MaxBodyBytes = 100 << 10

// errTooLarge is a request body over MaxBodyBytes.
var errTooLarge = errors.New("request entity too large")

// nestError is the body Nest's built-in errors use (validation, 404 route,
// 413), in Nest's field order.
type nestError struct {
	StatusCode int    `json:"statusCode"`
	Message    any    `json:"message"`
	Error      string `json:"error"`
}

// uncaughtError is Nest's answer to an exception nothing handled.
type uncaughtError struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
}

// serviceError is the body the original's services threw:
// {status, error[, message]}.
type serviceError struct {
	Status  int    `json:"status"`
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
}

// fail maps err to its HTTP answer. It is the one place errors become
// statuses; internal errors are logged here, once, and never sent.
func (a *api) fail(c *gin.Context, err error) {
	var (
		bodyErr *dto.BodyError
		valErr  *services.ValidationError
		pubErr  *services.PublicError
	)
	msg := ""
	if errors.As(err, &pubErr) {
		msg = pubErr.Msg
	}
	switch {
	case errors.Is(err, errTooLarge):
		writeJSON(c, http.StatusRequestEntityTooLarge, nestError{http.StatusRequestEntityTooLarge, "request entity too large", "Payload Too Large"})
	case errors.As(err, &bodyErr):
		writeJSON(c, http.StatusBadRequest, nestError{http.StatusBadRequest, bodyErr.Msg, "Bad Request"})
	case errors.As(err, &valErr):
		writeJSON(c, http.StatusBadRequest, nestError{http.StatusBadRequest, valErr.Problems, "Bad Request"})
	case errors.Is(err, services.ErrUnauthorized) && msg == "":
		writeJSON(c, http.StatusUnauthorized, uncaughtError{http.StatusUnauthorized, "Unauthorized"})
	case errors.Is(err, services.ErrUnauthorized):
		writeJSON(c, http.StatusUnauthorized, nestError{http.StatusUnauthorized, msg, "Unauthorized"})
	case errors.Is(err, services.ErrRateLimited):
		c.Header("Retry-After", "300")
		writeJSON(c, http.StatusTooManyRequests, nestError{http.StatusTooManyRequests, orText(msg, "Too many attempts: try again later"), "Too Many Requests"})
	case errors.Is(err, services.ErrTooLarge):
		writeJSON(c, http.StatusRequestEntityTooLarge, nestError{http.StatusRequestEntityTooLarge, orText(msg, "request entity too large"), "Payload Too Large"})
	case errors.Is(err, services.ErrProviderTimeout):
		a.Log.WarnContext(c.Request.Context(), "sign-in provider timed out", "err", err)
		writeJSON(c, http.StatusGatewayTimeout, nestError{http.StatusGatewayTimeout, "The sign-in provider did not answer in time: try again", "Gateway Timeout"})
	case errors.Is(err, services.ErrProvider):
		a.Log.WarnContext(c.Request.Context(), "sign-in provider failed", "err", err)
		writeJSON(c, http.StatusBadGateway, nestError{http.StatusBadGateway, "The sign-in provider failed: try again", "Bad Gateway"})
	case errors.Is(err, services.ErrNotFound):
		writeJSON(c, http.StatusNotFound, serviceError{http.StatusNotFound, "NotFoundException", msg})
	case errors.Is(err, services.ErrForbidden):
		writeJSON(c, http.StatusForbidden, serviceError{http.StatusForbidden, "ForbiddenException", msg})
	case errors.Is(err, services.ErrConflict):
		writeJSON(c, http.StatusConflict, serviceError{http.StatusConflict, "ConflictException", msg})
	case errors.Is(err, services.ErrInvalid):
		writeJSON(c, http.StatusBadRequest, serviceError{http.StatusBadRequest, "BadRequestException", msg})
	default:
		a.Log.ErrorContext(c.Request.Context(), "request failed", "method", c.Request.Method,
			"path", c.Request.URL.Path, "err", err)
		writeJSON(c, http.StatusInternalServerError, serviceError{Status: http.StatusInternalServerError, Error: "InternalServerErrorException"})
	}
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// readJSON reads the request body (at most MaxBodyBytes) into dst; a body
// that is not that JSON is a 400 saying shape.
func readJSON(c *gin.Context, dst any, shape string) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return &dto.BodyError{Msg: "body must be " + shape}
	}
	return nil
}

// readBody reads the request body, at most MaxBodyBytes.
func readBody(c *gin.Context) ([]byte, error) {
	if c.Request.ContentLength > MaxBodyBytes {
		return nil, errTooLarge
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, errTooLarge
	}
	if err != nil {
		return nil, &dto.BodyError{Msg: "request body could not be read"}
	}
	return b, nil
}

// writeJSON writes v as JSON like Express's res.json: no HTML escaping and
// no trailing newline.
func writeJSON(c *gin.Context, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only a bug can get here (the dto types always marshal).
		panic(err)
	}
	c.Data(status, "application/json; charset=utf-8", bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// ok answers v as JSON with status; it never fails.
func ok(c *gin.Context, status int, v any) error {
	writeJSON(c, status, v)
	return nil
}

// text answers a string result like Nest: a text/html body.
func text(c *gin.Context, status int, s string) error {
	c.Data(status, "text/html; charset=utf-8", []byte(s))
	return nil
}

// empty answers a null result like Nest: no body, no Content-Type.
func empty(c *gin.Context, status int) error {
	c.Status(status)
	return nil
}
