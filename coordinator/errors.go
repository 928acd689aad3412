package coordinator

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the edge (HTTP status, CLI exit).
type Kind int

const (
	KindInternal        Kind = iota // 500: the cause is logged, never shown
	KindInvalid                     // 400: malformed input
	KindUnauthenticated             // 401
	KindForbidden                   // 403
	KindNotFound                    // 404
	KindConflict                    // 409: state does not allow it
	KindUnprocessable               // 422: well-formed but refused
	KindUnavailable                 // 503: a dependency failed; nothing was done
	KindTooMany                     // 429: too many requests; retry later
)

// Error is a domain error: a public code and message for the caller, and an
// internal cause that is logged but never sent.
type Error struct {
	Kind    Kind
	Code    string // stable machine-readable code
	Message string // safe to show to the caller
	Err     error  // internal cause, may be nil
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func newErr(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

func wrapErr(kind Kind, code, msg string, cause error) *Error {
	return &Error{Kind: kind, Code: code, Message: msg, Err: cause}
}

// Sentinels for common answers.
var (
	ErrUnauthenticated = &Error{Kind: KindUnauthenticated, Code: "unauthenticated", Message: "missing, unknown, expired or revoked credentials"}
	ErrForbidden       = &Error{Kind: KindForbidden, Code: "forbidden", Message: "not allowed"}
)

// internal wraps an unexpected error.
func internal(what string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return wrapErr(KindInternal, "internal", "internal error", fmt.Errorf("%s: %w", what, err))
}
