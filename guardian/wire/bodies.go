package wire

import (
	"encoding/json"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/governance"
)

// Error is the body of a KindError answer: a typed refusal.
//
// In a key ceremony, Culprits are the participant indexes (1..n, as in
// DKGStart.Participants) that the guardian holds responsible for the
// refusal: a round-1 package, an encrypted round-2 share or a signed
// statement of theirs that is invalid or disagrees with its own. It is
// empty when the guardian names nobody (the fault may then be the relay's,
// or its own). The Message names the same participants for people; a
// coordinator decides whom to blame from Culprits only.
type Error struct {
	Code     string   `json:"code"`
	Message  string   `json:"message"`
	Culprits []uint16 `json:"culprits,omitempty"`
}

// Error is the refusal's code and message, so that a guardian can return
// one as an error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Refusal codes a guardian answers with, beyond governance's certificate
// codes.
const (
	CodeUnauthenticated = "unauthenticated"
	CodeMalformed       = "malformed"
	CodeUnknownKey      = "unknown_key"
	CodeKeyNotActive    = "key_not_active"
	CodeUnknownNonce    = "unknown_commitment" // spent, or issued before a restart
	CodeNonceReserved   = "commitment_reserved"
	CodeCommitmentList  = "invalid_commitment_list"
	CodeMessageMismatch = "message_mismatch"
	CodeCertificateUsed = "certificate_used"
	CodeNotPrepared     = "not_prepared"
	CodeInconsistent    = "inconsistent_session" // guardians were shown different requests
	CodeCeremony        = "ceremony_error"
	CodeMisbehaviour    = "participant_misbehaved"
	CodeInternal        = "internal"
)

// HealthRequest asks a guardian how it is.
type HealthRequest struct{}

// Health is a guardian's report.
type Health struct {
	GuardianID     string      `json:"guardian_id"`
	Version        string      `json:"version"`
	StartedAt      time.Time   `json:"started_at"`
	GovernanceHash string      `json:"governance_hash"`
	Applied        int         `json:"governance_applied"` // approved governance requests applied since enrolment
	Keys           []KeyStatus `json:"keys"`
}

// KeyStatus describes one key share a guardian holds.
type KeyStatus struct {
	WalletID   string `json:"wallet_id"`
	KeyVersion int    `json:"key_version"`
	Index      uint16 `json:"index"`
	Status     string `json:"status"` // pending, active
	Nonces     int    `json:"nonces"` // commitments on hand
}

// KeyRef names a key share.
type KeyRef struct {
	WalletID   string `json:"wallet_id"`
	KeyVersion int    `json:"key_version"`
}

// CommitRequest asks for Count fresh commitments for a key.
type CommitRequest struct {
	KeyRef
	Count int `json:"count"`
}

// CommitResponse carries them. Their nonces live only in the guardian's
// memory: after a restart they are unknown.
type CommitResponse struct {
	Commitments []frost.Commitment `json:"commitments"`
}

// SignRequest is what the coordinator asks t guardians to sign, the same
// for all of them: in round 1 (KindPrepare) each checks it and answers a
// Prepared statement; in round 2 (KindSign) it comes back with every
// participant's statement. A transfer's certificate may be missing in
// round 1 (the transfer awaits approval) and is required in round 2.
type SignRequest struct {
	KeyRef
	Message     []byte                 `json:"message"`
	Commitments []frost.Commitment     `json:"commitments"` // sorted by signer
	Certificate *approvals.Certificate `json:"certificate,omitempty"`
	Valuation   *governance.Valuation  `json:"valuation,omitempty"`
	Ceremony    string                 `json:"ceremony,omitempty"` // test signature of a new key: the ceremony's session id
}

// Prepared is a guardian's round-1 answer: the digest of the request it
// checked. Signed inside its envelope, it shows the other participants
// what this guardian was asked.
type Prepared struct {
	Guardian uint16   `json:"guardian"` // participant index
	Request  [32]byte `json:"request"`  // RequestDigest of the SignRequest
}

// ShareRequest is round 2: the same request and the prepared statements
// (answer envelopes) of every participant.
type ShareRequest struct {
	Request  SignRequest `json:"request"`
	Prepared []Envelope  `json:"prepared"`
}

// ShareResponse carries the signature share.
type ShareResponse struct {
	Guardian uint16 `json:"guardian"`
	Share    []byte `json:"share"`
}

// RequestDigest identifies what a signing session signs: the key, the
// message, the commitment list and, for a key's test signature, the
// ceremony. These must be the same for every participant. The certificate
// and the valuation are not in it: each participant checks them on its own
// in round 2, and round 1 may run before the request is approved.
func RequestDigest(r *SignRequest) ([32]byte, error) {
	b, err := json.Marshal(struct {
		KeyRef
		Message     []byte             `json:"message"`
		Commitments []frost.Commitment `json:"commitments"`
		Ceremony    string             `json:"ceremony,omitempty"`
	}{r.KeyRef, r.Message, r.Commitments, r.Ceremony})
	if err != nil {
		return [32]byte{}, err
	}
	return sumDomain("custos/sign-package/v1\x00", b), nil
}

// Participant is one member of a key ceremony.
type Participant struct {
	Index         uint16 `json:"index"`
	GuardianID    string `json:"guardian_id"`
	IdentityKey   []byte `json:"identity_key"`
	EncryptionKey []byte `json:"encryption_key"`
}

// DKGStart opens a ceremony (round 1); the answer is the guardian's
// round-1 package (json of dkg.Round1).
type DKGStart struct {
	KeyRef
	Curve        string                 `json:"curve"`
	Threshold    uint16                 `json:"threshold"`
	Participants []Participant          `json:"participants"`
	Certificate  *approvals.Certificate `json:"certificate,omitempty"` // the wallet.create approval
}

// DKGRound1 is the answer to DKGStart.
type DKGRound1 struct {
	Package []byte `json:"package"` // dkg.Round1.Marshal()
}

// DKGConfirm carries every participant's round-1 package; the answer is
// the transcript hash the guardian computed (DKGTranscript).
type DKGConfirm struct {
	Packages [][]byte `json:"packages"` // dkg.Round1.Marshal() of every participant
}

// DKGTranscript is a guardian's signed view of round 1.
type DKGTranscript struct {
	Index      uint16   `json:"index"`
	Transcript [32]byte `json:"transcript"`
}

// DKGShares carries every participant's DKGTranscript answer envelope; a
// guardian produces its encrypted round-2 shares only if all agree.
type DKGShares struct {
	Confirmations []Envelope `json:"confirmations"`
}

// DKGSharesResponse carries the encrypted shares (json of dkg.Round2).
type DKGSharesResponse struct {
	Shares [][]byte `json:"shares"` // dkg.Round2.Marshal(), one per other participant
}

// DKGFinalize carries the shares addressed to the recipient.
type DKGFinalize struct {
	Shares [][]byte `json:"shares"` // dkg.Round2.Marshal()
}

// DKGCompletion is a guardian's signed statement of the key it holds.
type DKGCompletion struct {
	Index      uint16         `json:"index"`
	Transcript [32]byte       `json:"transcript"`
	GroupKey   frost.GroupKey `json:"group_key"`
}

// DKGActivate carries the completion certificate (every participant's
// DKGCompletion envelope) and the test signature by t guardians.
type DKGActivate struct {
	Completions   []Envelope `json:"completions"`
	TestSignature []byte     `json:"test_signature"`
}

// DKGActivated answers DKGActivate.
type DKGActivated struct {
	Status string `json:"status"`
}

// DKGAbort ends a ceremony.
type DKGAbort struct {
	Reason string `json:"reason"`
}

// GovernanceUpdate carries approved governance requests, oldest first.
type GovernanceUpdate struct {
	Certificates []*approvals.Certificate `json:"certificates"`
}

// GovernanceState answers it: the state the guardian now holds.
type GovernanceState struct {
	Hash    string `json:"hash"`
	Applied int    `json:"applied"`
}

// TestMessage is the message a new key signs before it is activated.
func TestMessage(session string, g *frost.GroupKey) []byte {
	b, _ := json.Marshal(g)
	d := sumDomain("custos/dkg-test/v1\x00"+session+"\x00", b)
	return append([]byte("custos key ceremony test signature\n"), d[:]...)
}

// EnrollPreviewRequest is what `custos guardian enroll` POSTs first, to
// the coordinator's /v1/guardians/enroll/preview: it shows what the claim
// code would enrol without claiming it.
type EnrollPreviewRequest struct {
	Code string `json:"code"`
}

// EnrollPreview is the coordinator's answer to an EnrollPreviewRequest:
// the name the guardian would get, the coordinator key it would pin and
// the governance state with its hash, for the operator to confirm before
// anything is claimed.
type EnrollPreview struct {
	Name           string          `json:"name"`
	CoordinatorKey []byte          `json:"coordinator_key"`
	Governance     json.RawMessage `json:"governance"` // governance.State
	GovernanceHash string          `json:"governance_hash"`
}

// EnrollRequest is what `custos guardian enroll` POSTs to the coordinator's
// /v1/guardians/enroll (no API key: the claim code is the credential)
// once the operator confirmed the previewed governance state.
// GovernanceHash is that state's hash: the coordinator refuses the
// enrolment, claiming nothing, when its state is another one by then.
// Signature is the guardian identity key's signature over EnrollMessage.
type EnrollRequest struct {
	Code           string `json:"code"`
	IdentityKey    []byte `json:"identity_key"`
	EncryptionKey  []byte `json:"encryption_key"`
	Endpoint       string `json:"endpoint"`
	GovernanceHash string `json:"governance_hash"`
	Signature      []byte `json:"signature"`
}

// EnrollMessage is what an enrolling guardian signs: proof that it holds
// the identity key, bound to the claim code, what it registers and the
// governance state its operator confirmed.
func EnrollMessage(r *EnrollRequest) []byte {
	b, _ := json.Marshal([]any{"custos/guardian-enroll/v2", r.Code, r.IdentityKey, r.EncryptionKey, r.Endpoint, r.GovernanceHash})
	return b
}

// EnrollResponse pins the coordinator and hands over the governance state
// the enrolment was accepted under: GovernanceHash is the one the request
// carried.
type EnrollResponse struct {
	GuardianID     string          `json:"guardian_id"`
	Name           string          `json:"name"`
	CoordinatorKey []byte          `json:"coordinator_key"`
	Governance     json.RawMessage `json:"governance"` // governance.State
	GovernanceHash string          `json:"governance_hash"`
}
