package flex

import (
	"errors"

	"github.com/gridmint/gridmint"
)

// ReasonError is an error with the flexibility reason code that a record
// or a refusal carries. errors.As also finds the *gridmint.Error inside,
// so ErrorCode works on it.
type ReasonError struct {
	Reason gridmint.FlexReason
	Err    *gridmint.Error
}

func (e *ReasonError) Error() string { return string(e.Reason) + ": " + e.Err.Error() }

// Unwrap returns the domain error.
func (e *ReasonError) Unwrap() error { return e.Err }

func reasonf(r gridmint.FlexReason, code, format string, args ...any) error {
	return &ReasonError{Reason: r, Err: gridmint.Errorf(code, format, args...)}
}

// Reason is the flexibility reason of err: the ReasonError's, FlexInvalid
// for any other non-nil error, "" for nil.
func Reason(err error) gridmint.FlexReason {
	if err == nil {
		return ""
	}
	var re *ReasonError
	if errors.As(err, &re) {
		return re.Reason
	}
	return gridmint.FlexInvalid
}
