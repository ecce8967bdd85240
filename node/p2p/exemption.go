package p2p

import (
	"bytes"
	"errors"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	"google.golang.org/protobuf/encoding/protowire"
)

// Exemption is a home node's declaration that one of its devices will not
// deliver its award in one event: the homeowner opted out of the event
// (gridmint.FlexOptOut) or a grid operator's limit stops the device
// (gridmint.FlexGridLimit). It is declared at the envelope's Created time,
// which the signature covers: every node measuring the award needs it to
// excuse the shortfall instead of slashing it (flex.Verify's exemptions),
// so it is gossiped, not kept at home.
//
// The device is named by its DeviceKey, as in the offer: a device is the
// pair (author, key), so an exemption only ever speaks for its author's
// devices. Whether the award exists and the declaration came before the
// window start is the receivers' check (node/market), since the body
// alone does not know the event's window.
//
// It travels on TopicExemptions under KindExemption. Wire:
//
//	message Exemption {
//	  bytes request = 1; // 32-byte request envelope ID
//	  bytes device = 2;  // 32-byte device key
//	  string reason = 3; // "opt_out" or "grid_limit"
//	}
type Exemption struct {
	Request gridmint.RequestID
	Device  gridmint.DeviceKey
	Reason  gridmint.FlexReason
}

// ExemptionType is the EIP-712 type string of an exemption envelope.
const ExemptionType = "Exemption(bytes32 request,bytes32 device,string reason,uint64 created)"

var exemptionTypeHash = ethcrypto.Keccak256Hash([]byte(ExemptionType))

var exemptionFields = []protowire.Type{lenDelim, lenDelim, lenDelim}

// Kind implements Body.
func (Exemption) Kind() Kind { return KindExemption }

// Validate checks the request id, the device key and the reason.
func (x Exemption) Validate() error {
	switch {
	case x.Request == (gridmint.RequestID{}):
		return gridmint.Errorf(gridmint.EInvalid, "exemption: zero request id")
	case x.Device.IsZero():
		return gridmint.Errorf(gridmint.EInvalid, "exemption: zero device key")
	case x.Reason != gridmint.FlexOptOut && x.Reason != gridmint.FlexGridLimit:
		return gridmint.Errorf(gridmint.EInvalid, "exemption: reason %q, want %s or %s", x.Reason, gridmint.FlexOptOut, gridmint.FlexGridLimit)
	}
	return nil
}

func (x Exemption) appendBody(dst []byte) []byte {
	w := writer(dst)
	w.bytes(1, x.Request[:])
	w.bytes(2, x.Device[:])
	w.string(3, string(x.Reason))
	return w
}

// DecodeExemptionBody parses an exemption body (the envelope's field 5);
// exported for fuzz targets.
func DecodeExemptionBody(in []byte) (Exemption, error) {
	b, err := decodeExemption(in)
	if err != nil {
		return Exemption{}, err
	}
	return b.(Exemption), nil
}

func decodeExemption(in []byte) (Body, error) {
	f, err := parse(in, exemptionFields)
	if err != nil {
		return nil, err
	}
	var x Exemption
	var errs [3]error
	var req, dev common.Hash
	var reason string
	req, errs[0] = f.hash(1, "request")
	dev, errs[1] = f.hash(2, "device")
	reason, errs[2] = f.str(3, "reason")
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	x.Request, x.Device, x.Reason = gridmint.RequestID(req), gridmint.DeviceKey(dev), gridmint.FlexReason(reason)
	if !bytes.Equal(x.appendBody(nil), in) {
		return nil, errNonCanonical
	}
	return x, nil
}

func (x Exemption) structHash(created uint64) common.Hash {
	return ethcrypto.Keccak256Hash(
		exemptionTypeHash.Bytes(),
		x.Request[:],
		x.Device[:],
		keccakString(string(x.Reason)),
		uintWord(created),
	)
}
