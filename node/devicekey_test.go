package node

import (
	"bytes"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
)

// TestDeviceKey: a device's key is stable for its node (also after the
// key is reopened from the keystore, as at a restart), differs between
// devices and between nodes, and shows nothing of the serial, not even
// as the plain keccak256 of the id that anyone could recompute by trying
// serials.
func TestDeviceKey(t *testing.T) {
	parallel(t)
	ks := filepath.Join(t.TempDir(), "keystore")
	pass := []byte("correct horse battery")
	a, err := CreateIdentity(ks, pass, KDFLight)
	if err != nil {
		t.Fatal(err)
	}
	reopened, err := OpenIdentity(ks, t.TempDir(), pass)
	if err != nil {
		t.Fatal(err)
	}
	b, err := CreateIdentity(filepath.Join(t.TempDir(), "keystore"), pass, KDFLight)
	if err != nil {
		t.Fatal(err)
	}
	const serial = "200001"
	charger := gridmint.DeviceID(a.Address + "/goe/" + serial)
	plug := gridmint.DeviceID(a.Address + "/tasmota/tasmota_5E1F0C")
	k := a.DeviceKey(charger)

	if k.IsZero() {
		t.Fatal("zero key")
	}
	if got := reopened.DeviceKey(charger); got != k {
		t.Errorf("after reopening the keystore: %s, want %s", got, k)
	}
	if got := a.DeviceKey(plug); got == k {
		t.Errorf("two devices share the key %s", k)
	}
	if got := b.DeviceKey(charger); got == k {
		t.Errorf("two nodes give the same id the same key %s", k)
	}
	if plain := gridmint.DeviceKey(ethcrypto.Keccak256Hash([]byte(charger))); k == plain {
		t.Errorf("key %s is keccak256 of the id: anyone could find the serial by trying them", k)
	}
	for _, form := range [][]byte{k[:], []byte(k.String()), []byte(hex.EncodeToString(k[:]))} {
		for _, secret := range []string{serial, string(charger)} {
			if bytes.Contains(form, []byte(secret)) || strings.Contains(strings.ToLower(string(form)), strings.ToLower(secret)) {
				t.Errorf("key %s holds %q", k, secret)
			}
		}
	}
}

// TestDeviceKeyKnownVector pins the derivation: REC high-water marks and
// certificates on chain are per device key, so a change here re-keys
// every device and must be deliberate (with a new deviceKeyLabel).
func TestDeviceKeyKnownVector(t *testing.T) {
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
	// Computed apart from this code: Python hmac + x/crypto legacy keccak.
	const want = "0xadbc2e119c787bf5f1ed729a0fdd3ba01f72f11fa79a27fbd251ccabbcc201f8"
	if got := id.DeviceKey(gridmint.DeviceID(id.Address + "/opendtu/116181234567")).String(); got != want {
		t.Errorf("device key %s, want %s", got, want)
	}
}
