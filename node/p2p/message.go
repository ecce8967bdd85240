package p2p

import (
	"crypto/ecdsa"
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
)

// Kind is what an envelope carries; each kind has its own topic.
type Kind uint8

// Message kinds. The numbers are on the wire: never reuse one.
const (
	KindOffer       Kind = 1
	KindRequest     Kind = 2
	KindMeter       Kind = 3
	KindAttestation Kind = 4
	KindAward       Kind = 5
	KindRECClaim    Kind = 6
	KindAwardsRoot  Kind = 7
	KindSchedule    Kind = 8
	KindExemption   Kind = 9
)

// Kinds lists every kind, in wire order.
var Kinds = []Kind{KindOffer, KindRequest, KindMeter, KindAttestation, KindAward, KindRECClaim, KindAwardsRoot, KindSchedule, KindExemption}

// Version is the envelope version this package speaks. The topics carry
// it too ("/gridmint/1/..."), so a version 2 network is a separate mesh.
const Version = 1

// Topic names, one per kind.
const (
	TopicOffers       = "/gridmint/1/offers"
	TopicRequests     = "/gridmint/1/requests"
	TopicMeter        = "/gridmint/1/meter"
	TopicAttestations = "/gridmint/1/attestations"
	TopicAwards       = "/gridmint/1/awards"
	TopicClaims       = "/gridmint/1/claims"
	// TopicAwardsRoots carries AwardsRoot: a kind of its own, so a topic
	// of its own (every kind has one; the validator checks the pair).
	TopicAwardsRoots = "/gridmint/1/roots"
	// TopicSchedules carries Schedule (schedule.go).
	TopicSchedules = "/gridmint/1/schedules"
	// TopicExemptions carries Exemption (exemption.go).
	TopicExemptions = "/gridmint/1/exemptions"
)

// Topic returns the topic messages of kind k travel on, "" for an unknown
// kind.
func (k Kind) Topic() string {
	switch k {
	case KindOffer:
		return TopicOffers
	case KindRequest:
		return TopicRequests
	case KindMeter:
		return TopicMeter
	case KindAttestation:
		return TopicAttestations
	case KindAward:
		return TopicAwards
	case KindRECClaim:
		return TopicClaims
	case KindAwardsRoot:
		return TopicAwardsRoots
	case KindSchedule:
		return TopicSchedules
	case KindExemption:
		return TopicExemptions
	}
	return ""
}

// String is the kind's name for logs and stats.
func (k Kind) String() string {
	switch k {
	case KindOffer:
		return "offer"
	case KindRequest:
		return "request"
	case KindMeter:
		return "meter"
	case KindAttestation:
		return "attestation"
	case KindAward:
		return "award"
	case KindRECClaim:
		return "claim"
	case KindAwardsRoot:
		return "awards_root"
	case KindSchedule:
		return "schedule"
	case KindExemption:
		return "exemption"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// kindOfTopic is the inverse of Kind.Topic; 0 for an unknown topic.
func kindOfTopic(topic string) Kind {
	for _, k := range Kinds {
		if k.Topic() == topic {
			return k
		}
	}
	return 0
}

// Topics lists every topic, in kind order.
func Topics() []string {
	out := make([]string, len(Kinds))
	for i, k := range Kinds {
		out[i] = k.Topic()
	}
	return out
}

// Body is the payload of one envelope: one of Offer, Request, MeterClaim,
// Attestation, AwardNotice, RECClaim, AwardsRoot, Schedule, Exemption. The set is closed (the interface has
// unexported methods) because each body has a fixed wire encoding and
// EIP-712 type.
type Body interface {
	Kind() Kind
	// Validate checks the body on its own, as every receiver does.
	Validate() error
	appendBody(b []byte) []byte
	structHash(created uint64) common.Hash
}

// Offer is a flexibility offer (gridmint.Offer) on the wire, its device
// named by its DeviceKey: a salted hash of the DeviceID that only the
// device's node can compute, so gossip never carries vendor serials and
// nobody else can tell which device it is. NewOffer makes one from the
// node's own offer. Times are whole Unix seconds and Power whole watts;
// Publish refuses anything finer, because the signed typed data carries
// integers.
//
// The key is opaque, so a peer cannot check that the device is the
// author's: a device is the pair (author, key), and consumers must not
// let one author's key stand for another author's device.
type Offer struct {
	Device      gridmint.DeviceKey      `json:"device"`
	Zone        string                  `json:"zone"`
	WindowStart time.Time               `json:"window_start"`
	WindowEnd   time.Time               `json:"window_end"` // exclusive
	Power       gridmint.W              `json:"power_w"`
	Direction   gridmint.Direction      `json:"direction"`
	FloorPrice  gridmint.MicroFLEX      `json:"floor_price"` // per kWh
	Baseline    gridmint.BaselineMethod `json:"baseline"`
	Expiry      time.Time               `json:"expiry"`
}

// NewOffer is o on the wire, its device named by key (the node's
// DeviceKey of o.Device). o must be valid. An offer measured at another
// meter than the device's own (o.Meter) is refused: the wire has no
// meter yet, and when it gets one the meter must travel as its key too.
func NewOffer(o gridmint.Offer, key gridmint.DeviceKey) (Offer, error) {
	if err := o.Validate(); err != nil {
		return Offer{}, err
	}
	if o.Meter != "" {
		// Refuse rather than sign an offer that would silently lose its
		// meter of record.
		return Offer{}, gridmint.Errorf(gridmint.EInvalid, "offer: meter %q: a meter of record other than the device is not carried on the wire yet", o.Meter)
	}
	w := Offer{Device: key, Zone: o.Zone, WindowStart: o.WindowStart, WindowEnd: o.WindowEnd, Power: o.Power,
		Direction: o.Direction, FloorPrice: o.FloorPrice, Baseline: o.Baseline, Expiry: o.Expiry}
	return w, w.Validate()
}

// Terms is the offer without its device, as gridmint.Offer.
func (o Offer) Terms() gridmint.Offer {
	return gridmint.Offer{Zone: o.Zone, WindowStart: o.WindowStart, WindowEnd: o.WindowEnd, Power: o.Power,
		Direction: o.Direction, FloorPrice: o.FloorPrice, Baseline: o.Baseline, Expiry: o.Expiry}
}

// Request is a utility's flexibility request (gridmint.Request) on the
// wire, with the same whole-second and whole-watt rule as Offer.
type Request gridmint.Request

// MeterClaim is the meter claim of one device-hour (chain.Claim): what
// attestors check and the REC contract issues.
type MeterClaim chain.Claim

// AwardNotice is one cleared award (chain.Award).
type AwardNotice chain.Award

// SubjectKind says what an attestation is about.
type SubjectKind uint8

// Subject kinds, on the wire.
const (
	SubjectMeterClaim  SubjectKind = 1 // Subject is a meter claim envelope's ID
	SubjectIssueBatch  SubjectKind = 2 // Subject is the REC-domain digest of a chain.IssueBatch
	SubjectRewardBatch SubjectKind = 3 // Subject is the FLEX-domain digest of a chain.RewardBatch
	SubjectOffer       SubjectKind = 4 // Subject is an offer envelope's ID
	SubjectAward       SubjectKind = 5 // Subject is an award envelope's ID
	SubjectSlash       SubjectKind = 6 // Subject is the FLEX-domain digest of a chain.Slash
)

// Verdict is an attestor's decision.
type Verdict uint8

// Verdicts.
const (
	VerdictAccept Verdict = 1
	VerdictReject Verdict = 2
)

// RejectReason says why an attestor rejected a subject; zero for accept.
// The codes are open-ended: receivers accept any non-zero code so that new
// ones need no flag day.
type RejectReason uint8

// Reject reasons known today.
const (
	RejectNone          RejectReason = 0
	RejectImplausible   RejectReason = 1 // energy above what the device or the sun allows
	RejectDataGap       RejectReason = 2 // readings missing inside the hour
	RejectDuplicate     RejectReason = 3 // the same energy claimed twice
	RejectUnknownDevice RejectReason = 4
	RejectOther         RejectReason = 255
)

// Attestation is a peer's verdict on a subject. For an accepted issue or
// reward batch it carries ChainSignature, the author's signature over the
// Subject digest itself: that is what the contracts verify, so any node
// can collect k of them from gossip and submit the batch.
type Attestation struct {
	Subject        common.Hash
	SubjectKind    SubjectKind
	Verdict        Verdict
	Reason         RejectReason
	ChainSignature []byte // 65 bytes r‖s‖v, or empty
}

// Message is one decoded, verified envelope. Messages handed to handlers
// are never modified afterwards; treat them as read-only.
type Message struct {
	// ID is the envelope's EIP-712 digest: what the author signed, the
	// gossip message ID and the replay-cache key. A duplicate wrapped in
	// another gossip message has the same ID.
	ID      common.Hash
	Kind    Kind
	Author  common.Address
	Created time.Time // Unix milliseconds, UTC
	Body    Body
	// Signature is 65 bytes r‖s‖v (v = 27 or 28) over ID.
	Signature []byte
	// Raw is the canonical envelope.
	Raw []byte
}

// Topic is the topic m travels on.
func (m Message) Topic() string { return m.Kind.Topic() }

// EIP-712 type strings of the envelope structs. Each is the body's fields
// plus the envelope's creation time, so a signature covers what was said
// and when; the author is whoever the signature recovers to. Referenced
// types are appended, as EIP-712 requires.
const (
	OfferType       = "Offer(bytes32 device,string zone,uint64 windowStart,uint64 windowEnd,uint64 watts,string direction,uint64 floorPrice,string baseline,uint64 expiry,uint64 created)"
	RequestType     = "Request(string zone,uint64 windowStart,uint64 windowEnd,uint64 watts,string direction,uint64 maxPrice,uint64 gateClosure,uint64 created)"
	MeterClaimType  = "MeterClaim(Claim claim,uint64 created)" + chain.ClaimType
	AttestationType = "Attestation(bytes32 subject,uint8 subjectKind,uint8 verdict,uint8 reason,bytes signature,uint64 created)"
	AwardNoticeType = "AwardNotice(Award award,uint64 created)" + chain.AwardType
)

var (
	offerTypeHash       = ethcrypto.Keccak256Hash([]byte(OfferType))
	requestTypeHash     = ethcrypto.Keccak256Hash([]byte(RequestType))
	meterClaimTypeHash  = ethcrypto.Keccak256Hash([]byte(MeterClaimType))
	attestationTypeHash = ethcrypto.Keccak256Hash([]byte(AttestationType))
	awardNoticeTypeHash = ethcrypto.Keccak256Hash([]byte(AwardNoticeType))
)

// DomainName is the EIP-712 domain name of gossip messages.
const DomainName = "gridmint p2p"

// NewDomain returns the EIP-712 domain of gossip messages on the
// settlement chain chainID. contract may be zero; set it to bind messages
// to one deployment.
func NewDomain(chainID *big.Int, contract common.Address) chain.Domain {
	return chain.Domain{Name: DomainName, Version: "1", ChainID: chainID, Contract: contract}
}

// Kind implements Body.
func (Offer) Kind() Kind { return KindOffer }

// Kind implements Body.
func (Request) Kind() Kind { return KindRequest }

// Kind implements Body.
func (MeterClaim) Kind() Kind { return KindMeter }

// Kind implements Body.
func (Attestation) Kind() Kind { return KindAttestation }

// Kind implements Body.
func (AwardNotice) Kind() Kind { return KindAward }

// Validate checks the offer's terms (gridmint.Offer.ValidateTerms), that
// it names a device, and that its times and power are the whole seconds
// and watts the wire carries.
func (o Offer) Validate() error {
	if o.Device.IsZero() {
		return gridmint.Errorf(gridmint.EInvalid, "offer: zero device key")
	}
	if err := o.Terms().ValidateTerms(); err != nil {
		return err
	}
	for _, t := range []time.Time{o.WindowStart, o.WindowEnd, o.Expiry} {
		if _, err := unixSeconds(t); err != nil {
			return err
		}
	}
	_, err := wholeWatts(o.Power)
	return err
}

// Validate checks the request (gridmint.Request.Validate) and its wire
// granularity.
func (r Request) Validate() error {
	if err := gridmint.Request(r).Validate(); err != nil {
		return err
	}
	for _, t := range []time.Time{r.WindowStart, r.WindowEnd, r.GateClosure} {
		if _, err := unixSeconds(t); err != nil {
			return err
		}
	}
	_, err := wholeWatts(r.Power)
	return err
}

// Validate checks what a claim must have to be attestable at all; the
// plausibility of its energy is the attestors' job (package rec).
func (c MeterClaim) Validate() error {
	switch {
	case c.Device == (common.Hash{}):
		return gridmint.Errorf(gridmint.EInvalid, "meter claim: zero device")
	case c.Node == (common.Address{}):
		return gridmint.Errorf(gridmint.EInvalid, "meter claim: zero node")
	case c.Owner == (common.Address{}):
		return gridmint.Errorf(gridmint.EInvalid, "meter claim: zero owner")
	case c.Zone == [32]byte{}:
		return gridmint.Errorf(gridmint.EInvalid, "meter claim: empty zone")
	case c.Technology != chain.TechnologySolarPV:
		return gridmint.Errorf(gridmint.EInvalid, "meter claim: technology %d unknown", c.Technology)
	case c.Hour == 0 || c.Hour > math.MaxInt64/3600:
		return gridmint.Errorf(gridmint.EInvalid, "meter claim: hour %d out of range", c.Hour)
	}
	return nil
}

// Validate checks the verdict, reason and chain signature rules. Whether
// the chain signature recovers to the author is checked with the envelope
// (Message.verify), since the body alone does not know its author.
func (a Attestation) Validate() error {
	if a.Subject == (common.Hash{}) {
		return gridmint.Errorf(gridmint.EInvalid, "attestation: zero subject")
	}
	if a.SubjectKind < SubjectMeterClaim || a.SubjectKind > SubjectSlash {
		return gridmint.Errorf(gridmint.EInvalid, "attestation: subject kind %d unknown", a.SubjectKind)
	}
	switch a.Verdict {
	case VerdictAccept:
		if a.Reason != RejectNone {
			return gridmint.Errorf(gridmint.EInvalid, "attestation: accept with reason %d", a.Reason)
		}
	case VerdictReject:
		if a.Reason == RejectNone {
			return gridmint.Errorf(gridmint.EInvalid, "attestation: reject without a reason")
		}
	default:
		return gridmint.Errorf(gridmint.EInvalid, "attestation: verdict %d unknown", a.Verdict)
	}
	if a.wantsChainSignature() {
		if len(a.ChainSignature) != 65 {
			return gridmint.Errorf(gridmint.EInvalid, "attestation: accepted batch needs a 65-byte chain signature, got %d bytes", len(a.ChainSignature))
		}
	} else if len(a.ChainSignature) != 0 {
		return gridmint.Errorf(gridmint.EInvalid, "attestation: chain signature only goes with an accepted issue or reward batch or slash")
	}
	return nil
}

// wantsChainSignature: only accepted batches go on chain.
func (a Attestation) wantsChainSignature() bool {
	return a.Verdict == VerdictAccept && (a.SubjectKind == SubjectIssueBatch || a.SubjectKind == SubjectRewardBatch || a.SubjectKind == SubjectSlash)
}

// Validate checks the award's window, power and parties.
func (a AwardNotice) Validate() error {
	switch {
	case a.RequestID == (common.Hash{}) || a.OfferID == (common.Hash{}):
		return gridmint.Errorf(gridmint.EInvalid, "award: zero request or offer id")
	case a.Provider == (common.Address{}):
		return gridmint.Errorf(gridmint.EInvalid, "award: zero provider")
	case a.WindowEnd <= a.WindowStart || a.WindowEnd > math.MaxInt64:
		return gridmint.Errorf(gridmint.EInvalid, "award: window [%d, %d) is empty or out of range", a.WindowStart, a.WindowEnd)
	case a.Watts == 0:
		return gridmint.Errorf(gridmint.EInvalid, "award: zero watts")
	case a.Price != nil && (a.Price.Sign() < 0 || a.Price.BitLen() > 256):
		return gridmint.Errorf(gridmint.EInvalid, "award: price out of uint256 range")
	}
	return nil
}

// Struct hashes: hashStruct of the envelope typed struct with created in
// Unix milliseconds. Validate has been called (or the body came from the
// decoder), so the conversions below cannot fail.

func (o Offer) structHash(created uint64) common.Hash {
	ws, _ := unixSeconds(o.WindowStart)
	we, _ := unixSeconds(o.WindowEnd)
	ex, _ := unixSeconds(o.Expiry)
	w, _ := wholeWatts(o.Power)
	return ethcrypto.Keccak256Hash(
		offerTypeHash.Bytes(),
		o.Device[:],
		keccakString(o.Zone),
		uintWord(ws), uintWord(we), uintWord(w),
		keccakString(string(o.Direction)),
		uintWord(uint64(o.FloorPrice)),
		keccakString(string(o.Baseline)),
		uintWord(ex),
		uintWord(created),
	)
}

func (r Request) structHash(created uint64) common.Hash {
	ws, _ := unixSeconds(r.WindowStart)
	we, _ := unixSeconds(r.WindowEnd)
	gc, _ := unixSeconds(r.GateClosure)
	w, _ := wholeWatts(r.Power)
	return ethcrypto.Keccak256Hash(
		requestTypeHash.Bytes(),
		keccakString(r.Zone),
		uintWord(ws), uintWord(we), uintWord(w),
		keccakString(string(r.Direction)),
		uintWord(uint64(r.MaxPrice)),
		uintWord(gc),
		uintWord(created),
	)
}

func (c MeterClaim) structHash(created uint64) common.Hash {
	return ethcrypto.Keccak256Hash(meterClaimTypeHash.Bytes(), chain.Claim(c).StructHash().Bytes(), uintWord(created))
}

func (a Attestation) structHash(created uint64) common.Hash {
	return ethcrypto.Keccak256Hash(
		attestationTypeHash.Bytes(),
		a.Subject.Bytes(),
		uintWord(uint64(a.SubjectKind)),
		uintWord(uint64(a.Verdict)),
		uintWord(uint64(a.Reason)),
		ethcrypto.Keccak256(a.ChainSignature),
		uintWord(created),
	)
}

func (a AwardNotice) structHash(created uint64) common.Hash {
	return ethcrypto.Keccak256Hash(awardNoticeTypeHash.Bytes(), chain.Award(a).StructHash().Bytes(), uintWord(created))
}

// signer computes envelope digests in one domain; the domain separator is
// hashed once, not per message.
type signer struct {
	separator common.Hash
}

func newSigner(d chain.Domain) signer { return signer{separator: d.Separator()} }

// digest is chain.Domain.Digest with the cached separator.
func (s signer) digest(structHash common.Hash) common.Hash {
	return ethcrypto.Keccak256Hash([]byte{0x19, 0x01}, s.separator.Bytes(), structHash.Bytes())
}

// sign builds and signs the envelope of body, created at now (cut to the
// millisecond, the wire's resolution).
func (s signer) sign(key *ecdsa.PrivateKey, body Body, now time.Time) (Message, error) {
	if body == nil {
		return Message{}, gridmint.Errorf(gridmint.EInvalid, "p2p: nil body")
	}
	if err := body.Validate(); err != nil {
		return Message{}, err
	}
	ms := now.UnixMilli()
	if ms <= 0 {
		return Message{}, gridmint.Errorf(gridmint.EInvalid, "p2p: creation time %v before 1970", now)
	}
	m := Message{
		Kind:    body.Kind(),
		Author:  ethcrypto.PubkeyToAddress(key.PublicKey),
		Created: time.UnixMilli(ms).UTC(),
		Body:    body,
	}
	m.ID = s.digest(body.structHash(uint64(ms)))
	sig, err := chain.Sign(key, m.ID)
	if err != nil {
		return Message{}, err
	}
	m.Signature = sig
	m.Raw = encodeEnvelope(m)
	return m, nil
}

// verify checks that the signature recovers to the author and, for an
// attestation that carries one, that the chain signature does too.
func (m Message) verify() error {
	got, err := chain.Recover(m.ID, m.Signature)
	if err != nil {
		return err
	}
	if got != m.Author {
		return fmt.Errorf("signed by %s, author is %s", got, m.Author)
	}
	if a, ok := m.Body.(Attestation); ok && len(a.ChainSignature) > 0 {
		got, err := chain.Recover(a.Subject, a.ChainSignature)
		if err != nil {
			return fmt.Errorf("chain signature: %w", err)
		}
		if got != m.Author {
			return fmt.Errorf("chain signature by %s, author is %s", got, m.Author)
		}
	}
	return nil
}

// unixSeconds is t in whole Unix seconds; sub-second or pre-1970 times do
// not fit the wire.
func unixSeconds(t time.Time) (uint64, error) {
	if t.Nanosecond() != 0 || t.Unix() < 0 {
		return 0, gridmint.Errorf(gridmint.EInvalid, "p2p: time %v is not a whole second after 1970", t)
	}
	return uint64(t.Unix()), nil
}

// maxWatts bounds power on the wire; gridmint.Offer.Validate allows 1 MW.
const maxWatts = 1 << 40

func wholeWatts(p gridmint.W) (uint64, error) {
	f := float64(p)
	if f < 0 || f > maxWatts || f != math.Trunc(f) {
		return 0, gridmint.Errorf(gridmint.EInvalid, "p2p: power %v W is not a whole number of watts", f)
	}
	return uint64(f), nil
}

func keccakString(s string) []byte { return ethcrypto.Keccak256([]byte(s)) }

func uintWord(v uint64) []byte {
	var w [32]byte
	for i := 0; i < 8; i++ {
		w[31-i] = byte(v >> (8 * i))
	}
	return w[:]
}
