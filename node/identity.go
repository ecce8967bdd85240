package node

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/crypto/sha3"
)

// Identity is the node's one key: a secp256k1 key whose libp2p peer ID and
// Ethereum-style address both derive from it, so a peer on the network
// and an account on chain are the same party.
type Identity struct {
	Key     crypto.PrivKey
	PeerID  peer.ID
	Address string // EIP-55 checksummed 0x address
}

// nodeKeyFile is the key's file in the data dir.
//
// It is stored unencrypted (mode 0600) for now; the encrypted go-ethereum
// keystore with a passphrase is issue 5.
const nodeKeyFile = "node.key"

// LoadOrCreateIdentity reads the node key from dataDir, creating it on
// first start. The key, and so every DeviceID, stays the same across
// restarts.
func LoadOrCreateIdentity(dataDir string) (*Identity, error) {
	path := filepath.Join(dataDir, nodeKeyFile)
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		key, err := crypto.UnmarshalPrivateKey(raw)
		if err != nil {
			return nil, fmt.Errorf("node key %s: %w", path, err)
		}
		if key.Type() != crypto.Secp256k1 {
			return nil, fmt.Errorf("node key %s: type %v, want secp256k1", path, key.Type())
		}
		return identityFrom(key)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("node key: %w", err)
	}
	key, _, err := crypto.GenerateSecp256k1Key(nil)
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	raw, err = crypto.MarshalPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	// Write to a temporary file and rename, so a crash never leaves a
	// truncated key behind.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	return identityFrom(key)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func identityFrom(key crypto.PrivKey) (*Identity, error) {
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	pub, ok := key.GetPublic().(*crypto.Secp256k1PublicKey)
	if !ok {
		return nil, fmt.Errorf("node key: public key type %T, want secp256k1", key.GetPublic())
	}
	return &Identity{Key: key, PeerID: id, Address: ethAddress((*secp256k1.PublicKey)(pub))}, nil
}

// ethAddress is the Ethereum address of pub: the last 20 bytes of the
// Keccak-256 of the uncompressed key without its 0x04 prefix, EIP-55
// checksummed.
func ethAddress(pub *secp256k1.PublicKey) string {
	h := sha3.NewLegacyKeccak256()
	h.Write(pub.SerializeUncompressed()[1:])
	return checksumAddress(h.Sum(nil)[12:])
}

// checksumAddress formats a 20-byte address per EIP-55: a hex letter is
// upper case when the matching nibble of Keccak-256(lowercase hex) is ≥ 8.
func checksumAddress(addr []byte) string {
	lower := hex.EncodeToString(addr)
	h := sha3.NewLegacyKeccak256()
	h.Write([]byte(lower))
	sum := h.Sum(nil)
	out := []byte(lower)
	for i, c := range out {
		nibble := sum[i/2] >> 4
		if i%2 == 1 {
			nibble = sum[i/2] & 0x0f
		}
		if c >= 'a' && nibble >= 8 {
			out[i] = c - 'a' + 'A'
		}
	}
	return "0x" + string(out)
}
