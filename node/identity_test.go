package node

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
)

func TestIdentityAddressKnownVector(t *testing.T) {
	// Private key 1: its Ethereum address is well known.
	raw := make([]byte, 32)
	raw[31] = 1
	key, err := crypto.UnmarshalSecp256k1PrivateKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	id, err := identityFrom(key)
	if err != nil {
		t.Fatal(err)
	}
	if want := "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"; id.Address != want {
		t.Errorf("address = %s, want %s", id.Address, want)
	}
}

func TestChecksumAddressEIP55Vectors(t *testing.T) {
	for _, want := range []string{
		"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
		"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
		"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
		"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
	} {
		var b [20]byte
		for i := range b {
			var v byte
			for _, c := range want[2+2*i : 4+2*i] {
				v <<= 4
				switch {
				case c >= '0' && c <= '9':
					v |= byte(c - '0')
				case c >= 'a' && c <= 'f':
					v |= byte(c - 'a' + 10)
				default:
					v |= byte(c - 'A' + 10)
				}
			}
			b[i] = v
		}
		if got := checksumAddress(b[:]); got != want {
			t.Errorf("checksumAddress = %s, want %s", got, want)
		}
	}
}

func TestIdentityPersists(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.Address != b.Address || a.PeerID != b.PeerID {
		t.Errorf("identity changed across loads: %s/%s then %s/%s", a.Address, a.PeerID, b.Address, b.PeerID)
	}
	info, err := os.Stat(filepath.Join(dir, nodeKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %v, want 0600", perm)
	}
	if err := os.WriteFile(filepath.Join(dir, nodeKeyFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateIdentity(dir); err == nil {
		t.Error("corrupt key file accepted")
	}
}
