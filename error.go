package gridmint

import (
	"errors"
	"fmt"
)

// Error codes. They say what kind of failure happened so that callers (the
// HTTP API, the quarantine, metrics) can react without parsing messages.
const (
	EInvalid      = "invalid"       // malformed or out-of-range input
	ENotFound     = "not_found"     // no such device, reading or record
	EConflict     = "conflict"      // duplicate or out-of-order data
	EUnauthorized = "unauthorized"  // caller may not do this
	EUnavailable  = "unavailable"   // a dependency (broker, chain, disk) is down
	EInternal     = "internal"      // a bug or an unexpected failure
	ENotBuilt     = "not_built_yet" // the capability is planned but not built
)

// Error is a domain error with a machine-readable code and a human message.
type Error struct {
	Code    string
	Message string
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}
