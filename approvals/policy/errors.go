package policy

import "errors"

// Errors callers branch on with errors.Is.
var (
	// ErrInvalidDocument: Parse refused the document. The error is a
	// *FieldError naming the JSON path of the bad field.
	ErrInvalidDocument = errors.New("policy: invalid document")
	// ErrNoPolicy: the document has no entry for the action; requests for
	// it are denied.
	ErrNoPolicy = errors.New("policy: no policy for action")
	// ErrInvalidInput: Evaluate or RequirementFor got an input it cannot
	// decide on (nil document, zero time, missing amount, nil ledger...).
	ErrInvalidInput = errors.New("policy: invalid input")
	// ErrInvalidRate: a Rate with a malformed or non-positive price, or
	// decimals out of range.
	ErrInvalidRate = errors.New("policy: invalid rate")
	// ErrInvalidAmount: a nil or negative amount.
	ErrInvalidAmount = errors.New("policy: invalid amount")
	// ErrOverflow: the EUR value does not fit in int64 cents.
	ErrOverflow = errors.New("policy: EUR value overflows int64 cents")
	// ErrLedger: the ledger failed or returned an impossible value; the
	// decision is an error, never an allow.
	ErrLedger = errors.New("policy: ledger")
)

// FieldError is the error Parse returns for a bad document. It wraps
// ErrInvalidDocument.
type FieldError struct {
	// Path is the JSON path of the bad field, e.g.
	// `actions["transfer"].tiers[1].up_to_eur`; empty for the document
	// itself.
	Path string
	// Msg says what is wrong, in lower case.
	Msg string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return "policy: invalid document: " + e.Msg
	}
	return "policy: invalid document: " + e.Path + ": " + e.Msg
}

func (e *FieldError) Unwrap() error { return ErrInvalidDocument }
