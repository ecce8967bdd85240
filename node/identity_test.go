package node

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func testPassphrase() ([]byte, error) { return []byte("correct horse battery"), nil }

func TestIdentityAddressKnownVector(t *testing.T) {
	// Private key 1: its Ethereum address is well known.
	raw := make([]byte, 32)
	raw[31] = 1
	key, err := ethcrypto.ToECDSA(raw)
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
	// The peer ID is the same key: its public key is the one signing.
	pub, err := id.PeerID.ExtractPublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equals(id.Key.GetPublic()) {
		t.Error("peer ID does not carry the node key's public key")
	}
}

func TestIdentityKeystore(t *testing.T) {
	parallel(t)
	dir := t.TempDir()
	ks := filepath.Join(dir, "keystore")
	pass, _ := testPassphrase()
	if _, err := OpenIdentity(ks, dir, pass); !errors.Is(err, ErrNoKey) {
		t.Fatalf("OpenIdentity on an empty keystore = %v, want ErrNoKey", err)
	}
	if _, err := CreateIdentity(ks, []byte("short"), KDFLight); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Errorf("CreateIdentity with a 5-byte passphrase = %v, want a passphrase error", err)
	}
	a, err := CreateIdentity(ks, pass, KDFLight)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateIdentity(ks, pass, KDFLight); err == nil {
		t.Error("CreateIdentity replaced an existing key")
	}
	b, err := OpenIdentity(ks, dir, pass)
	if err != nil {
		t.Fatal(err)
	}
	if a.Address != b.Address || a.PeerID != b.PeerID {
		t.Errorf("identity changed across opens: %s/%s then %s/%s", a.Address, a.PeerID, b.Address, b.PeerID)
	}
	if _, err := OpenIdentity(ks, dir, []byte("wrong passphrase")); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Errorf("OpenIdentity with a wrong passphrase = %v, want 'wrong passphrase'", err)
	}
	path, err := keyFile(ks)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %v, want 0600", perm)
	}
	// go-ethereum's keystore reads the same file as an account.
	blob, _ := os.ReadFile(path)
	k, err := keystore.DecryptKey(blob, string(pass))
	if err != nil {
		t.Fatalf("go-ethereum cannot read the key: %v", err)
	}
	if k.Address != a.Account {
		t.Errorf("keystore account = %s, want %s", k.Address, a.Account)
	}
	if err := os.WriteFile(filepath.Join(ks, "second"), blob, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenIdentity(ks, dir, pass); err == nil || !strings.Contains(err.Error(), "exactly one") {
		t.Errorf("two key files: OpenIdentity = %v, want an 'exactly one' error", err)
	}
}

func TestIdentityMigratesLegacyKey(t *testing.T) {
	parallel(t)
	dir := t.TempDir()
	legacy, _, err := crypto.GenerateSecp256k1Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := crypto.MarshalPrivateKey(legacy)
	if err := os.WriteFile(filepath.Join(dir, legacyKeyFile), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	wantID, _ := peer.IDFromPrivateKey(legacy)
	pass, _ := testPassphrase()
	ks := filepath.Join(dir, "keystore")
	id, err := openIdentity(ks, dir, pass, KDFLight)
	if err != nil {
		t.Fatal(err)
	}
	if id.PeerID != wantID {
		t.Errorf("migrated peer ID = %s, want %s (the legacy key's)", id.PeerID, wantID)
	}
	if _, err := os.Stat(filepath.Join(dir, legacyKeyFile)); !os.IsNotExist(err) {
		t.Errorf("unencrypted %s still there after migration (stat: %v)", legacyKeyFile, err)
	}
	again, err := OpenIdentity(ks, dir, pass)
	if err != nil || again.PeerID != wantID {
		t.Errorf("reopen after migration = %v, %v; want peer ID %s", again, err, wantID)
	}
}

func TestReadPassphraseFile(t *testing.T) {
	for _, tt := range []struct{ content, want string }{
		{"secret passphrase\n", "secret passphrase"},
		{"secret passphrase\r\n", "secret passphrase"},
		{"secret passphrase", "secret passphrase"},
		{"first line\nsecond\n", "first line"},
		{"  spaced  \n", "  spaced  "},
	} {
		p := filepath.Join(t.TempDir(), "pass")
		if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := ReadPassphraseFile(p)
		if err != nil || string(got) != tt.want {
			t.Errorf("ReadPassphraseFile(%q) = %q, %v; want %q", tt.content, got, err, tt.want)
		}
	}
}
