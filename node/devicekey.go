package node

import (
	"crypto/hmac"
	"crypto/sha256"

	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
)

// Device keys: how a device is named outside its node. A DeviceID ends in
// the vendor's serial, which identifies the household's hardware and is
// short enough (a go-e serial is six digits) that a plain hash of the id
// could be reversed by trying every serial. So gossip and the chain carry
//
//	salt = HMAC-SHA256(node private key, "gridmint device key v1")
//	key  = keccak256(salt ‖ DeviceID)
//
// The salt is derived from the node's key, so it needs no file of its own,
// is the same after every restart, and no one without the key can compute
// or reverse a key. A device keeps its key as long as its node keeps its
// key and the device its id; a new node key means new device ids anyway.
// Settlement (REC claims, FLEX awards) uses the same key as gossip, so a
// device's offers, claims and certificates can be matched by anyone, but
// never traced to a serial.

// deviceKeyLabel versions the derivation: a different scheme gets a new
// label, so its keys cannot collide with these.
const deviceKeyLabel = "gridmint device key v1"

// deviceKeySalt is the node's secret salt for device keys.
func (id *Identity) deviceKeySalt() [32]byte {
	mac := hmac.New(sha256.New, ethcrypto.FromECDSA(id.Private))
	mac.Write([]byte(deviceKeyLabel))
	var salt [32]byte
	copy(salt[:], mac.Sum(nil))
	return salt
}

// DeviceKey is the network's and the chain's name for one of this node's
// devices: what offers, meter claims and REC claims carry instead of the
// DeviceID. Only this node can compute it; it is stable across restarts.
func (id *Identity) DeviceKey(d gridmint.DeviceID) gridmint.DeviceKey {
	salt := id.deviceKeySalt()
	return gridmint.DeviceKey(ethcrypto.Keccak256Hash(salt[:], []byte(d)))
}
