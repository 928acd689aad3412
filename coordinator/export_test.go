package coordinator

import (
	"fmt"
	"time"

	"github.com/custos-dev/custos/store"
)

// PoolSize is the number of precomputed commitments this process holds for
// a guardian's share of a wallet key (for tests).
func (s *Service) PoolSize(walletID string, keyVersion int, guardianID string) int {
	s.frost.mu.Lock()
	defer s.frost.mu.Unlock()
	return len(s.frost.pools[poolKey{walletID, keyVersion, guardianID}])
}

// GuardianFailedAt is when a call to a guardian last failed in this
// process, zero if none did (for tests).
func (s *Service) GuardianFailedAt(id string) time.Time {
	s.guardians.mu.Lock()
	defer s.guardians.mu.Unlock()
	if l := s.guardians.live[id]; l != nil {
		return l.fail
	}
	return time.Time{}
}

// VerifyWalletSignature checks sig over msg with the signer of w's mode
// (for tests).
func (s *Service) VerifyWalletSignature(w *store.Wallet, msg, sig []byte) error {
	sg, ok := s.signers[w.Mode]
	if !ok {
		return fmt.Errorf("no signer for wallet mode %q", w.Mode)
	}
	return sg.Verify(w, msg, sig)
}
