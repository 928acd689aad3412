package coordinator

// PoolSize is the number of precomputed commitments this process holds for
// a guardian's share of a wallet key (for tests).
func (s *Service) PoolSize(walletID string, keyVersion int, guardianID string) int {
	s.frost.mu.Lock()
	defer s.frost.mu.Unlock()
	return len(s.frost.pools[poolKey{walletID, keyVersion, guardianID}])
}
