package frost

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors returned by the signer and the aggregator. Callers branch on them
// with errors.Is; several may match one error (an undecodable commitment is
// both ErrCommitmentList and ErrElement).
var (
	// ErrCommitmentList: the commitment list is malformed (length outside
	// [threshold, n], identifiers not strictly ascending, 0 or above n, an
	// element that does not decode, the signer's own commitment missing or
	// altered).
	ErrCommitmentList = errors.New("frost: invalid commitment list")
	// ErrCommitmentMismatch: the list carries, under the signer's nonce
	// identifier, a commitment other than the one the signer issued.
	ErrCommitmentMismatch = errors.New("frost: commitment differs from the one issued")
	// ErrUnknownNonce: the signer holds no nonce under the identifier the
	// list names (never issued, already used, discarded, or issued before a
	// restart).
	ErrUnknownNonce = errors.New("frost: unknown or already used nonce")
	// ErrTooManyNonces: the signer already holds MaxPendingNonces nonces.
	ErrTooManyNonces = errors.New("frost: too many pending nonces")
	// ErrClosed: the signer was closed.
	ErrClosed = errors.New("frost: signer closed")
	// ErrShares: the set of signature shares does not match the commitment
	// list (a share is missing, or comes from a signer not in the list).
	ErrShares = errors.New("frost: signature shares do not match the commitment list")
	// ErrInvalidShare: a signature share does not verify. *InvalidSharesError
	// matches it.
	ErrInvalidShare = errors.New("frost: invalid signature share")
	// ErrInvalidSignature: a signature does not verify.
	ErrInvalidSignature = errors.New("frost: invalid signature")
	// ErrInternal: the FROST library failed unexpectedly.
	ErrInternal = errors.New("frost: internal error")
)

// InvalidSharesError names every signer whose signature share is invalid
// (undecodable, zero, or failing verification against its public share and
// commitment). It matches ErrInvalidShare.
type InvalidSharesError struct {
	// Signers are the misbehaving participants, ascending.
	Signers []uint16
}

func (e *InvalidSharesError) Error() string {
	ids := make([]string, len(e.Signers))
	for i, id := range e.Signers {
		ids[i] = strconv.FormatUint(uint64(id), 10)
	}
	return fmt.Sprintf("frost: invalid signature shares from signers %s", strings.Join(ids, ", "))
}

// Is reports whether target is ErrInvalidShare.
func (e *InvalidSharesError) Is(target error) bool { return target == ErrInvalidShare }
