package wire

// The protocol, as the coordinator drives it. Every request is an Envelope
// from CoordinatorID to a guardian id, POSTed as JSON to
// <guardian endpoint>/v1/rpc; the answer is an Envelope from the guardian
// to CoordinatorID whose ReplyTo is the request's Digest, with the same
// Kind, Session and Round, or Kind KindError with an Error body (a typed
// refusal). HTTP status is 200 for every signed answer; a request the
// guardian cannot authenticate gets 401 and no envelope.
//
// Health (KindHealth, any session): HealthRequest -> Health.
//
// Enrolment is plain HTTP to the coordinator (POST /v1/guardians/enroll),
// see EnrollRequest.
//
// Key ceremony for wallet W, key version v, session S (the ceremony id),
// with n participants (indexes 1..n in Participants order) and threshold t:
//
//	round 1  KindDKGStart    DKGStart            -> DKGRound1 (dkg.Round1.Marshal())
//	round 2  KindDKGConfirm  DKGConfirm (all n)  -> DKGTranscript
//	round 3  KindDKGShares   DKGShares (all n DKGTranscript answer envelopes,
//	                         each signed by its guardian) -> DKGSharesResponse
//	                         (dkg.Round2.Marshal(), one per other participant)
//	round 4  KindDKGFinalize DKGFinalize (the shares addressed to it)
//	                         -> DKGCompletion (signed: the completion statement)
//	test     a signature of TestMessage(S, group key) by t guardians, through
//	         the signing rounds below with SignRequest.Ceremony = S and no
//	         certificate (allowed only for a pending key, only that message)
//	round 5  KindDKGActivate DKGActivate (all n DKGCompletion envelopes and
//	                         the test signature) -> DKGActivated
//	any      KindDKGAbort    DKGAbort -> DKGAbort (the guardian forgets S and
//	                         removes the key S produced, pending or active; the
//	                         coordinator sends it only for a wallet that never
//	                         became active. A guardian refuses to remove an
//	                         active key that has signed for an approval
//	                         certificate or was activated too long ago.)
//
// A guardian that refuses a ceremony round because of another participant
// names it in Error.Culprits (participant indexes), so the coordinator
// can blame it without reading the message.
//
// Signing with key (W, v), session S (fresh per attempt), t participants:
//
//	pool     KindCommit   CommitRequest -> CommitResponse (session: any
//	         fresh id). Nonces live only in the guardian's memory.
//	round 1  KindPrepare  SignRequest   -> Prepared (the guardian checked the
//	         message and the list, and the certificate if there is one
//	         yet, and reserved its commitment for S)
//	round 2  KindSign     ShareRequest (the same SignRequest, now with its
//	         certificate, and all t Prepared answer envelopes) ->
//	         ShareResponse
//
// A guardian releases a share only if every participant was shown the same
// message and commitment list (the Prepared envelopes carry the
// RequestDigest, signed by each participant) and the certificate verifies
// against its own governance state. An identical round-2 retry returns the
// same share; any other reuse of a commitment is refused.
//
// Round 1 does not need the certificate, so the coordinator runs it for a
// transfer as soon as the transfer awaits approval: once approved, the
// transfer needs round 2 only, one network round.
//
// Governance (KindGovernance, any session): GovernanceUpdate -> GovernanceState.
