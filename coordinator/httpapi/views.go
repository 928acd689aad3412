package httpapi

import (
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/approvals/proof"
	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/store"
)

type decisionView struct {
	Outcome     string           `json:"outcome"`
	Stage       string           `json:"stage"`
	Reasons     []policy.Reason  `json:"reasons"`
	EURCents    int64            `json:"eur_cents"`
	EURValue    string           `json:"eur_value"`
	Requirement approvals.Quorum `json:"requirement"`
	Counters    policy.Counters  `json:"counters"`
	PolicyHash  string           `json:"policy_hash"`
	Fingerprint string           `json:"fingerprint"`
}

type transactionView struct {
	ID            string          `json:"id"`
	Status        store.TxStatus  `json:"status"`
	WalletID      string          `json:"wallet_id"`
	Chain         string          `json:"chain"`
	Asset         string          `json:"asset"`
	To            string          `json:"to"`
	Amount        string          `json:"amount"`
	Memo          string          `json:"memo"`
	Fingerprint   string          `json:"fingerprint"`
	Words         string          `json:"fingerprint_words"`
	Intent        json.RawMessage `json:"intent"`
	RequestID     string          `json:"request_id,omitempty"`
	Decision      *decisionView   `json:"decision,omitempty"`
	Proof         *proof.Proof    `json:"proof,omitempty"`
	Signature     string          `json:"signature,omitempty"`
	FailureReason string          `json:"failure_reason,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	SignedAt      *time.Time      `json:"signed_at,omitempty"`
}

func viewTransaction(t *store.Transaction) (*transactionView, error) {
	v := &transactionView{
		ID: t.ID, Status: t.Status, WalletID: t.WalletID, Chain: t.Chain, Asset: t.Asset, To: t.To,
		Amount: t.Amount, Memo: t.Memo, Fingerprint: hex.EncodeToString(t.Fingerprint),
		Words: intent.WordString(t.Fingerprint), Intent: t.Intent,
		RequestID: t.RequestID, FailureReason: t.FailureReason, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, SignedAt: t.SignedAt,
	}
	if len(t.Signature) > 0 {
		v.Signature = hex.EncodeToString(t.Signature)
	}
	if len(t.Decision) > 0 {
		var p proof.Proof
		if err := json.Unmarshal(t.Decision, &p); err != nil {
			return nil, err
		}
		st, err := coordinator.ParseStatement(p.Statement)
		if err != nil {
			return nil, err
		}
		v.Proof = &p
		v.Decision = &decisionView{Outcome: st.Outcome, Stage: st.Stage, Reasons: st.Reasons, EURCents: st.EURCents,
			EURValue: policy.FormatEURCents(st.EURCents), Requirement: st.Requirement, Counters: st.Counters,
			PolicyHash: st.PolicyHash, Fingerprint: st.Fingerprint}
	}
	return v, nil
}

type voteView struct {
	ApproverID   string               `json:"approver_id"`
	ApproverName string               `json:"approver_name"`
	Role         string               `json:"role"`
	Decision     string               `json:"decision"`
	Method       string               `json:"method"` // "approval_key" or "passkey"
	Signature    []byte               `json:"signature"`
	Assertion    *approvals.Assertion `json:"assertion,omitempty"`
	Reason       string               `json:"reason,omitempty"`
	CreatedAt    time.Time            `json:"created_at"`
}

type requestView struct {
	ID            string              `json:"id"`
	Action        string              `json:"action"`
	Status        store.RequestStatus `json:"status"`
	RequesterID   string              `json:"requester_id"`
	Intent        json.RawMessage     `json:"intent"`
	Fingerprint   string              `json:"fingerprint"`
	Words         string              `json:"fingerprint_words"`
	PolicyVersion int64               `json:"policy_version"`
	PolicyHash    string              `json:"policy_hash"`
	Revision      int64               `json:"revision"`
	EURCents      int64               `json:"eur_cents"`
	Requirement   approvals.Quorum    `json:"requirement"`
	Tally         approvals.Tally     `json:"tally"`
	Votes         []voteView          `json:"votes"`
	CreatedAt     time.Time           `json:"created_at"`
	UpdatedAt     time.Time           `json:"updated_at"`
	ExpiresAt     time.Time           `json:"expires_at"`
}

func viewRequest(v *coordinator.RequestView) *requestView {
	r := v.Request
	out := &requestView{ID: r.ID, Action: r.Action, Status: r.Status, RequesterID: r.RequesterID, Intent: r.Payload,
		Fingerprint: hex.EncodeToString(r.Fingerprint), Words: intent.WordString(r.Fingerprint),
		PolicyVersion: r.PolicyVersion, PolicyHash: hex.EncodeToString(r.PolicyHash),
		Revision: r.Revision, EURCents: r.EURCents, Requirement: v.Quorum, Tally: v.Tally, Votes: []voteView{},
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ExpiresAt: r.ExpiresAt}
	for _, a := range v.Approvals {
		u := v.Roster[a.ApproverID]
		vv := voteView{ApproverID: a.ApproverID, ApproverName: u.Name, Role: u.Role, Decision: a.Decision, Method: "approval_key",
			Signature: a.Signature, Reason: a.Reason, CreatedAt: a.CreatedAt}
		if a.Assertion != nil {
			vv.Method, vv.Assertion = "passkey", new(approvals.Assertion)
			if json.Unmarshal(a.Assertion, vv.Assertion) != nil {
				vv.Assertion = nil // the coordinator refused to count it already
			}
		}
		out.Votes = append(out.Votes, vv)
	}
	return out
}

func viewRequestSummary(r *store.Request) *requestView {
	return &requestView{ID: r.ID, Action: r.Action, Status: r.Status, RequesterID: r.RequesterID, Intent: r.Payload,
		Fingerprint: hex.EncodeToString(r.Fingerprint), Words: intent.WordString(r.Fingerprint),
		PolicyVersion: r.PolicyVersion, PolicyHash: hex.EncodeToString(r.PolicyHash),
		Revision: r.Revision, EURCents: r.EURCents, Requirement: quorum(r.Requirement), Votes: []voteView{},
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ExpiresAt: r.ExpiresAt}
}

func quorum(b []byte) approvals.Quorum {
	var q approvals.Quorum
	_ = json.Unmarshal(b, &q)
	return q
}

type walletView struct {
	ID             string             `json:"id"`
	Name           string             `json:"name"`
	Mode           string             `json:"mode"`
	Curve          string             `json:"curve"`
	DerivationPath string             `json:"derivation_path"`
	PublicKey      string             `json:"public_key"`
	KeyVersion     int                `json:"key_version"`
	Frozen         bool               `json:"frozen"`
	CreatedAt      time.Time          `json:"created_at"`
	Status         store.WalletStatus `json:"status"`
	Threshold      int                `json:"threshold,omitempty"`
	Guardians      []string           `json:"guardians,omitempty"`
	Ceremony       *ceremonyView      `json:"ceremony,omitempty"`
}

// viewWallet shows a wallet; its public key (its address) only once the
// key is active: a FROST key is not usable before its ceremony completed.
func viewWallet(w *store.Wallet) walletView {
	v := walletView{ID: w.ID, Name: w.Name, Mode: w.Mode, Curve: w.Curve, DerivationPath: w.DerivationPath,
		KeyVersion: w.KeyVersion, Frozen: w.Frozen, CreatedAt: w.CreatedAt, Status: w.Status,
		Threshold: w.Threshold, Guardians: w.Guardians}
	if w.Active() {
		v.PublicKey = hex.EncodeToString(w.PublicKey)
	}
	return v
}

type rateView struct {
	Asset      string    `json:"asset"`
	EURPerUnit string    `json:"eur_per_unit"`
	Decimals   int       `json:"decimals"`
	UpdatedAt  time.Time `json:"updated_at"`
}

type apiKeyView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	OwnerID    string     `json:"owner_user_id"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

type auditView struct {
	Seq       int64             `json:"seq"`
	ID        string            `json:"id"`
	Time      time.Time         `json:"time"`
	Category  string            `json:"category"`
	Action    string            `json:"action"`
	Actor     string            `json:"actor"`
	Target    string            `json:"target"`
	RequestID string            `json:"request_id"`
	Result    string            `json:"result"`
	Metadata  map[string]string `json:"metadata"`
	PrevHash  string            `json:"prev_hash"`
	Hash      string            `json:"hash"`
}

func viewAudit(e *audit.Event) auditView {
	md := e.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return auditView{Seq: e.Seq, ID: e.ID, Time: e.Time, Category: e.Category, Action: e.Action, Actor: e.Actor,
		Target: e.Target, RequestID: e.RequestID, Result: e.Result, Metadata: md,
		PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash)}
}
