package node

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/google/uuid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Identity is the node's one key: a secp256k1 key whose libp2p peer ID,
// Ethereum address and message signatures all derive from it, so a peer
// on the network and an account on chain are the same party.
type Identity struct {
	// Private signs gossip, attestations and transactions.
	Private *ecdsa.PrivateKey
	// Key is Private as a libp2p key, for the host.
	Key     crypto.PrivKey
	PeerID  peer.ID
	Account common.Address
	Address string // Account, EIP-55 checksummed
}

// Key derivation strengths of a new keystore: Standard is go-ethereum's
// default (about 1 s and 256 MiB to unlock); Light (geth --lightkdf) is for
// small boards, tests and the demo's throw-away key.
const (
	KDFStandard = "standard"
	KDFLight    = "light"
)

// legacyKeyFile is where nodes before the keystore kept their key,
// unencrypted. OpenIdentity moves it into the keystore.
const legacyKeyFile = "node.key"

// minPassphraseLen guards against an empty passphrase, which leaves the
// key as good as unencrypted.
const minPassphraseLen = 8

// ErrNoKey means the keystore holds no key: create one with `gridmint
// init`.
var ErrNoKey = errors.New("no node key")

// CreateIdentity generates a key and writes it, encrypted with
// passphrase, to the keystore directory dir in go-ethereum's format (geth
// and clef can use it as an account). It refuses when dir already holds a
// key, so a node never silently becomes another node.
func CreateIdentity(dir string, passphrase []byte, kdf string) (*Identity, error) {
	key, err := ethcrypto.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	return storeIdentity(dir, key, passphrase, kdf)
}

func storeIdentity(dir string, key *ecdsa.PrivateKey, passphrase []byte, kdf string) (*Identity, error) {
	if len(passphrase) < minPassphraseLen {
		return nil, fmt.Errorf("node key: passphrase of %d bytes; want at least %d", len(passphrase), minPassphraseLen)
	}
	n, p := keystore.StandardScryptN, keystore.StandardScryptP
	switch kdf {
	case KDFStandard, "":
	case KDFLight:
		n, p = keystore.LightScryptN, keystore.LightScryptP
	default:
		return nil, fmt.Errorf("node key: kdf %q: want %s or %s", kdf, KDFStandard, KDFLight)
	}
	switch _, err := keyFile(dir); {
	case err == nil:
		return nil, fmt.Errorf("node key: %s already holds a key; refusing to replace it", dir)
	case !errors.Is(err, ErrNoKey):
		return nil, err
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	account := ethcrypto.PubkeyToAddress(key.PublicKey)
	blob, err := keystore.EncryptKey(&keystore.Key{Id: id, Address: account, PrivateKey: key}, string(passphrase), n, p)
	if err != nil {
		return nil, fmt.Errorf("node key: encrypt: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	// go-ethereum's file name, so its tools find the account; wall time,
	// as a file's own time.
	name := fmt.Sprintf("UTC--%s--%s", time.Now().UTC().Format("2006-01-02T15-04-05.000000000Z"), hex.EncodeToString(account[:]))
	if err := writeFileAtomic(filepath.Join(dir, name), blob, 0o600); err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	return identityFrom(key)
}

// OpenIdentity decrypts the key in the keystore directory dir. If dir
// holds none but dataDir holds a key from before the keystore, that key
// is encrypted into dir and its plain file removed, so the node keeps its
// address and device IDs.
func OpenIdentity(dir, dataDir string, passphrase []byte) (*Identity, error) {
	return openIdentity(dir, dataDir, passphrase, KDFStandard)
}

// openIdentity is OpenIdentity with the KDF a migrated key is encrypted
// with (tests migrate with the light one: the standard one takes tens of
// seconds under the race detector).
func openIdentity(dir, dataDir string, passphrase []byte, migrateKDF string) (*Identity, error) {
	path, err := keyFile(dir)
	if errors.Is(err, ErrNoKey) {
		return migrateLegacyKey(dir, dataDir, passphrase, migrateKDF)
	}
	if err != nil {
		return nil, err
	}
	blob, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	k, err := keystore.DecryptKey(blob, string(passphrase))
	switch {
	case errors.Is(err, keystore.ErrDecrypt):
		return nil, fmt.Errorf("node key %s: wrong passphrase", path)
	case err != nil:
		return nil, fmt.Errorf("node key %s: %w", path, err)
	}
	return identityFrom(k.PrivateKey)
}

func migrateLegacyKey(dir, dataDir string, passphrase []byte, kdf string) (*Identity, error) {
	legacy := filepath.Join(dataDir, legacyKeyFile)
	raw, err := os.ReadFile(legacy)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", ErrNoKey, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	lk, err := crypto.UnmarshalPrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("node key %s: %w", legacy, err)
	}
	if lk.Type() != crypto.Secp256k1 {
		return nil, fmt.Errorf("node key %s: type %v, want secp256k1", legacy, lk.Type())
	}
	d, err := lk.Raw()
	if err != nil {
		return nil, fmt.Errorf("node key %s: %w", legacy, err)
	}
	key, err := ethcrypto.ToECDSA(d)
	if err != nil {
		return nil, fmt.Errorf("node key %s: %w", legacy, err)
	}
	id, err := storeIdentity(dir, key, passphrase, kdf)
	if err != nil {
		return nil, err
	}
	// The keystore file is synced before the plain key goes.
	if err := os.Remove(legacy); err != nil {
		return nil, fmt.Errorf("node key: remove the unencrypted %s: %w", legacy, err)
	}
	return id, nil
}

// HasIdentity reports whether the keystore directory dir, or a data dir
// from before the keystore, holds a node key, without decrypting it.
func HasIdentity(dir, dataDir string) bool {
	if _, err := keyFile(dir); !errors.Is(err, ErrNoKey) {
		return true // a key, or a keystore that OpenIdentity must explain
	}
	return fileExists(filepath.Join(dataDir, legacyKeyFile))
}

// KeystoreAddress is the address of the key in the keystore directory
// dir, read without the passphrase (a go-ethereum keystore file carries
// it in clear), so that scripts can name the node's device ids. It is
// what the file says: OpenIdentity is what proves it.
func KeystoreAddress(dir string) (common.Address, error) {
	path, err := keyFile(dir)
	if err != nil {
		return common.Address{}, err
	}
	blob, err := os.ReadFile(path)
	if err != nil {
		return common.Address{}, fmt.Errorf("node key: %w", err)
	}
	var f struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal(blob, &f); err != nil || !common.IsHexAddress(f.Address) {
		return common.Address{}, fmt.Errorf("node key %s: not a go-ethereum keystore file with an address", path)
	}
	return common.HexToAddress(f.Address), nil
}

// keyFile is the one key file in the keystore directory dir.
func keyFile(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w in %s", ErrNoKey, dir)
	}
	if err != nil {
		return "", fmt.Errorf("node key: %w", err)
	}
	var keys []string
	for _, e := range entries {
		// Skip what go-ethereum's keystore skips: hidden, temporary and
		// editor files.
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") || strings.HasSuffix(name, ".tmp") {
			continue
		}
		keys = append(keys, filepath.Join(dir, name))
	}
	switch len(keys) {
	case 0:
		return "", fmt.Errorf("%w in %s", ErrNoKey, dir)
	case 1:
		return keys[0], nil
	}
	return "", fmt.Errorf("node key: %s holds %d files; keep exactly one key there", dir, len(keys))
}

// ReadPassphraseFile reads a passphrase from a file: its first line,
// without the line ending.
func ReadPassphraseFile(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("passphrase file: %w", err)
	}
	line, _, _ := bytes.Cut(raw, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), nil
}

// createThrowAwayPassphrase writes a random passphrase to path unless one
// is there: the demo's key is encrypted like any other, but nobody has to
// type anything.
func createThrowAwayPassphrase(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return writeFileAtomic(path, []byte(hex.EncodeToString(b)+"\n"), 0o600)
}

// writeFileAtomic writes to a temporary file, syncs and renames it, so a
// crash never leaves a truncated file behind.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncFile(filepath.Dir(path))
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func identityFrom(key *ecdsa.PrivateKey) (*Identity, error) {
	lk, err := crypto.UnmarshalSecp256k1PrivateKey(ethcrypto.FromECDSA(key))
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	id, err := peer.IDFromPrivateKey(lk)
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	account := ethcrypto.PubkeyToAddress(key.PublicKey)
	return &Identity{Private: key, Key: lk, PeerID: id, Account: account, Address: account.Hex()}, nil
}
