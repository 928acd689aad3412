package dkg

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Errors returned by this package. Callers branch on them with errors.Is;
// failures caused by another participant are *MisbehaviourError values that
// wrap ErrMisbehaviour.
var (
	// ErrSession reports invalid ceremony parameters.
	ErrSession = errors.New("dkg: invalid session")
	// ErrState reports a call made out of order, twice, after a failure
	// or after Zero.
	ErrState = errors.New("dkg: participant is not in the state this call needs")
	// ErrMisbehaviour is wrapped by every *MisbehaviourError.
	ErrMisbehaviour = errors.New("dkg: participant misbehaved")
	// ErrTranscriptMismatch reports that the transcript hash the caller
	// agreed on is not the one this participant computed in round 2.
	ErrTranscriptMismatch = errors.New("dkg: transcript mismatch")
	// ErrTampered reports that the round-1 set handed to a participant
	// does not carry that participant's own package unaltered: the relay,
	// not a named participant, is at fault.
	ErrTampered = errors.New("dkg: own round-1 package missing or altered")
	// ErrRecipientKey reports a missing or unusable HPKE public key for a
	// round-2 recipient.
	ErrRecipientKey = errors.New("dkg: invalid recipient key")
	// ErrMalformed reports bytes that are not a well-formed message
	// encoding.
	ErrMalformed = errors.New("dkg: malformed message")
	// ErrDegenerate reports key material that cannot be used (for example
	// a public share at the identity); it cannot happen unless the
	// discrete logarithm problem is broken.
	ErrDegenerate = errors.New("dkg: degenerate key material")
)

// MisbehaviourError names the participant whose message caused a failure.
// Participant is the identifier the message claimed; it lies outside 1..n
// when that claim was itself the fault. Reason describes what was wrong; it
// never carries secret values.
type MisbehaviourError struct {
	Participant uint16
	Reason      string
	cause       error
}

func (e *MisbehaviourError) Error() string {
	return fmt.Sprintf("dkg: participant %d misbehaved: %s", e.Participant, e.Reason)
}

// Unwrap returns ErrMisbehaviour and, where there is one, the decoding error
// that caused it (for example frost.ErrElement).
func (e *MisbehaviourError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrMisbehaviour}
	}
	return []error{ErrMisbehaviour, e.cause}
}

func misbehaved(id uint16, reason string) *MisbehaviourError {
	return &MisbehaviourError{Participant: id, Reason: reason}
}

// misbehavedCause records the decoding error cause of a public value; its
// text (on one line) completes the reason.
func misbehavedCause(id uint16, reason string, cause error) *MisbehaviourError {
	text := strings.Join(strings.Fields(cause.Error()), " ")
	return &MisbehaviourError{Participant: id, Reason: reason + ": " + text, cause: cause}
}

// misbehavedSecret records the cause of a failure on a secret value: the
// cause is kept for errors.Is but its text is left out of the reason.
func misbehavedSecret(id uint16, reason string, cause error) *MisbehaviourError {
	return &MisbehaviourError{Participant: id, Reason: reason, cause: cause}
}

// joinMisbehaviour returns nil, the single error, or all of them joined,
// ordered by participant.
func joinMisbehaviour(errs []*MisbehaviourError) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	slices.SortStableFunc(errs, func(a, b *MisbehaviourError) int { return int(a.Participant) - int(b.Participant) })
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}

// Culprits returns every participant named by a *MisbehaviourError in
// err's tree, sorted and without duplicates. A ceremony that fails with a
// non-empty result is restarted without them.
func Culprits(err error) []uint16 {
	var ids []uint16
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if m, ok := err.(*MisbehaviourError); ok {
			ids = append(ids, m.Participant)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	slices.Sort(ids)
	return slices.Compact(ids)
}
