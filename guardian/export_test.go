package guardian

import (
	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/guardian/wire"
	"github.com/custos-dev/custos/internal/keyfile"
	"github.com/custos-dev/custos/internal/seal"
)

// SharePathForTest is where n keeps the sealed share of ref.
func (n *Node) SharePathForTest(ref wire.KeyRef) string { return n.sharePath(ref) }

// OpenShareFileForTest opens the sealed share file at path with n's
// key-encryption key and the associated data of a share of ref held by
// guardianID as participant index, as openShare does for its own shares.
func (n *Node) OpenShareFileForTest(path, guardianID string, ref wire.KeyRef, index uint16) (*frost.KeyShare, error) {
	sealed, err := keyfile.Read(path)
	if err != nil {
		return nil, err
	}
	plain, err := seal.Open(n.kek, sealed, shareAD(guardianID, ref, index))
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	return frost.UnmarshalKeyShare(plain)
}
