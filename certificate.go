package gridmint

import (
	"encoding/hex"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// Granular renewable certificates: the claim a node makes for one device's
// energy in one clock hour, the reasons peers refuse or flag a claim, and
// the identities a claim names. The rules that build and check claims live
// in package rec; these types are shared by rec, the node and the chain
// wiring.

// Hour is one UTC clock hour, numbered as Unix seconds / 3600: the REC
// contract's Claim.hour and the token id's hour field.
type Hour int64

// HourOf returns the clock hour that contains t.
func HourOf(t time.Time) Hour {
	s := t.Unix()
	h := s / 3600
	if s%3600 < 0 {
		h--
	}
	return Hour(h)
}

// Start is the hour's first instant, UTC.
func (h Hour) Start() time.Time { return time.Unix(int64(h)*3600, 0).UTC() }

// End is the instant after the hour, UTC (intervals are half-open).
func (h Hour) End() time.Time { return time.Unix(int64(h+1)*3600, 0).UTC() }

// String formats the hour's start, e.g. "2025-01-21T21:00Z".
func (h Hour) String() string { return h.Start().Format("2006-01-02T15:04Z07:00") }

// SubIntervals is the number of five-minute sub-intervals of an hour whose
// energies a claim carries (EnergyTag allows production intervals of at
// most an hour; Arkreen counts at most 12 reports an hour).
const SubIntervals = 12

// SubInterval is the length of one sub-interval.
const SubInterval = time.Hour / SubIntervals

// Profile is the energy of each five-minute sub-interval of an hour, mWh;
// Profile[i] covers [start + i·5 min, start + (i+1)·5 min).
type Profile [SubIntervals]MWh

// Sum is the hour's energy.
func (p Profile) Sum() MWh {
	var s MWh
	for _, e := range p {
		s += e
	}
	return s
}

// DeviceKey is a device's identity on the network and on chain: 32 opaque
// bytes that the device's node derives from the DeviceID with a secret
// salt, so that peers never see vendor serials yet every claim of one
// device names the same key.
type DeviceKey [32]byte

// Address is a 20-byte Ethereum account: a node's key or a certificate
// owner.
type Address [20]byte

// Hash is a 32-byte digest.
type Hash [32]byte

// IsZero reports whether k is all zeros.
func (k DeviceKey) IsZero() bool { return k == DeviceKey{} }

// IsZero reports whether a is all zeros.
func (a Address) IsZero() bool { return a == Address{} }

// IsZero reports whether h is all zeros.
func (h Hash) IsZero() bool { return h == Hash{} }

// String is "0x" and the key in lower-case hex.
func (k DeviceKey) String() string { return "0x" + hex.EncodeToString(k[:]) }

// String is "0x" and the address in lower-case hex.
func (a Address) String() string { return "0x" + hex.EncodeToString(a[:]) }

// String is "0x" and the digest in lower-case hex.
func (h Hash) String() string { return "0x" + hex.EncodeToString(h[:]) }

// MarshalText encodes k as 0x-prefixed hex.
func (k DeviceKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// MarshalText encodes a as 0x-prefixed hex.
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// MarshalText encodes h as 0x-prefixed hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes 0x-prefixed hex of exactly 32 bytes.
func (k *DeviceKey) UnmarshalText(b []byte) error { return decodeHex("device key", b, k[:]) }

// UnmarshalText decodes 0x-prefixed hex of exactly 20 bytes.
func (a *Address) UnmarshalText(b []byte) error { return decodeHex("address", b, a[:]) }

// UnmarshalText decodes 0x-prefixed hex of exactly 32 bytes.
func (h *Hash) UnmarshalText(b []byte) error { return decodeHex("hash", b, h[:]) }

// ParseAddress decodes a 0x-prefixed address of 40 hex digits.
func ParseAddress(s string) (Address, error) {
	var a Address
	return a, a.UnmarshalText([]byte(s))
}

func decodeHex(what string, b, dst []byte) error {
	if len(b) != 2+2*len(dst) || b[0] != '0' || (b[1] != 'x' && b[1] != 'X') {
		return Errorf(EInvalid, "%s %q: want 0x and %d hex digits", what, truncate(b, 80), 2*len(dst))
	}
	if _, err := hex.Decode(dst, b[2:]); err != nil {
		return Errorf(EInvalid, "%s %q: %v", what, truncate(b, 80), err)
	}
	return nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// Technology is what produced a claim's energy: the REC contract's
// Claim.technology and the token id's technology byte.
type Technology uint8

// Technologies. 0 is not a technology.
const (
	TechnologySolarPV Technology = 1
)

// Valid reports whether t is a known technology.
func (t Technology) Valid() bool { return t == TechnologySolarPV }

// EnergySource is the EnergyTag energy_source name of t ("solar_pv").
func (t Technology) EnergySource() string {
	switch t {
	case TechnologySolarPV:
		return "solar_pv"
	}
	return fmt.Sprintf("technology_%d", uint8(t))
}

// CoarseLocation is a production device's location rounded to a tenth of
// a degree (about 11 km north-south): fine enough for the sun's position
// (0.1° of longitude moves solar time by 24 s) and for EnergyTag's device
// location, coarse enough not to point at a house. Whole tenths keep it
// exact in every encoding.
type CoarseLocation struct {
	LatTenths int16 `json:"lat_tenths"` // latitude × 10, -900..900
	LonTenths int16 `json:"lon_tenths"` // longitude × 10, -1800..1800
}

// Coarsen rounds l to the nearest tenth of a degree (half away from zero).
func Coarsen(l Location) (CoarseLocation, error) {
	if err := l.Validate(); err != nil {
		return CoarseLocation{}, err
	}
	return CoarseLocation{LatTenths: int16(math.Round(l.Lat * 10)), LonTenths: int16(math.Round(l.Lon * 10))}, nil
}

// Lat is the latitude in degrees, north positive.
func (c CoarseLocation) Lat() float64 { return float64(c.LatTenths) / 10 }

// Lon is the longitude in degrees, east positive.
func (c CoarseLocation) Lon() float64 { return float64(c.LonTenths) / 10 }

// Validate checks the ranges.
func (c CoarseLocation) Validate() error {
	if c.LatTenths < -900 || c.LatTenths > 900 || c.LonTenths < -1800 || c.LonTenths > 1800 {
		return Errorf(EInvalid, "location %d,%d tenths of a degree: want latitude -900..900 and longitude -1800..1800", c.LatTenths, c.LonTenths)
	}
	return nil
}

// String is "lat,lon" in degrees.
func (c CoarseLocation) String() string { return fmt.Sprintf("%.1f,%.1f", c.Lat(), c.Lon()) }

// MaxZoneLen is the longest grid zone name a claim may carry: the REC
// token id keeps 23 bytes for it.
const MaxZoneLen = 23

// Claim is one device's energy in one clock hour as its node claims it:
// what peers check and attest and the REC contract issues. The chain's
// Claim is the subset {Device, Owner, Zone, Technology, Hour, Wh,
// ReadingsRoot} plus Node; the rest is the evidence peers check.
//
// A device's claims form a chain: each claim's CounterStart and CarryIn
// are the previous claim's CounterEnd and CarryOut, so no energy is
// claimed twice and none is created: Wh = ⌊(CarryIn + CounterEnd −
// CounterStart) / 1000⌋ and the sub-Wh rest is carried to the next hour.
type Claim struct {
	// Device is the device's key (see DeviceKey).
	Device DeviceKey `json:"device"`
	// Node is the address of the node that reads the device and makes the
	// claim. Its own attestation never counts for this claim.
	Node Address `json:"node"`
	// Owner receives the certificates.
	Owner Address `json:"owner"`
	// Zone is the grid zone ("DE-LU"), 1 to MaxZoneLen bytes.
	Zone       string     `json:"zone"`
	Technology Technology `json:"technology"`
	Hour       Hour       `json:"hour"`
	// Wh is the certified energy: whole Wh, rounded down.
	Wh Wh `json:"wh"`
	// CounterStart and CounterEnd are the device's normalised lifetime
	// counter at the hour's start and end, mWh.
	CounterStart MWh `json:"counter_start_mwh"`
	CounterEnd   MWh `json:"counter_end_mwh"`
	// CarryIn is the sub-Wh remainder carried from the previous hour,
	// 0 to 999 mWh.
	CarryIn MWh `json:"carry_in_mwh"`
	// Profile is the hour's energy per five-minute sub-interval; it sums
	// to CounterEnd − CounterStart.
	Profile Profile `json:"profile_mwh"`
	// Quality is QualityOK, QualityEstimated (a gap or counter reset
	// touched the hour) or QualityMissing (no reading inside the hour).
	Quality Quality `json:"quality"`
	// Readings is the number of readings ReadingsRoot commits to: the last
	// one at or before the hour's start, the first one at or after its end
	// and those between.
	Readings     int  `json:"readings"`
	ReadingsRoot Hash `json:"readings_root"`
	// Nameplate is the device's rated AC power, W.
	Nameplate W              `json:"nameplate_w"`
	Location  CoarseLocation `json:"location"`
}

// CarryOut is the sub-Wh remainder the claim passes to the next hour.
func (c Claim) CarryOut() MWh { return c.CarryIn + c.CounterEnd - c.CounterStart - c.Wh.MWh() }

// Energy is the hour's counter growth, mWh.
func (c Claim) Energy() MWh { return c.CounterEnd - c.CounterStart }

// maxCounter bounds claim counters well inside int64 (the normaliser
// refuses counters beyond 1 GWh = 10^12 mWh).
const maxCounter MWh = 1 << 50

// Validate checks a claim on its own: identities, ranges, and that its
// numbers agree with each other. Whether they agree with the world is
// what package rec's rules check.
func (c Claim) Validate() error {
	bad := func(format string, args ...any) error {
		return Errorf(EInvalid, "claim %s@%s: "+format, append([]any{c.Device, c.Hour}, args...)...)
	}
	switch {
	case c.Device.IsZero():
		return bad("device key is zero")
	case c.Node.IsZero():
		return bad("node address is zero")
	case c.Owner.IsZero():
		return bad("owner address is zero")
	case len(c.Zone) == 0 || len(c.Zone) > MaxZoneLen || !utf8.ValidString(c.Zone) || hasControl(c.Zone):
		return bad("zone %q: want 1 to %d bytes of printable UTF-8", c.Zone, MaxZoneLen)
	case !c.Technology.Valid():
		return bad("technology %d unknown", c.Technology)
	case c.Hour < 0:
		return bad("hour %d before 1970", c.Hour)
	case c.CounterStart < 0 || c.CounterEnd < c.CounterStart || c.CounterEnd > maxCounter:
		return bad("counter %d to %d mWh: want 0 ≤ start ≤ end ≤ %d", c.CounterStart, c.CounterEnd, maxCounter)
	case c.CarryIn < 0 || c.CarryIn >= 1000:
		return bad("carry_in %d mWh: want 0 to 999", c.CarryIn)
	case c.Wh != Wh((c.CarryIn+c.Energy())/1000):
		return bad("wh %d: counters and carry give %d", c.Wh, (c.CarryIn+c.Energy())/1000)
	case c.Quality != QualityOK && c.Quality != QualityEstimated && c.Quality != QualityMissing:
		return bad("quality %q: want ok, estimated or missing", c.Quality)
	case c.Readings < 2:
		return bad("%d readings: want at least the two that bracket the hour", c.Readings)
	case c.ReadingsRoot.IsZero():
		return bad("readings root is zero")
	case !(c.Nameplate > 0 && c.Nameplate <= MaxNameplate):
		return bad("nameplate %v W: want more than 0, at most %v", c.Nameplate, MaxNameplate)
	}
	for i, e := range c.Profile {
		if e < 0 {
			return bad("profile[%d] = %d mWh is negative", i, e)
		}
	}
	if s := c.Profile.Sum(); s != c.Energy() {
		return bad("profile sums to %d mWh, counters grew %d", s, c.Energy())
	}
	return c.Location.Validate()
}

// ClaimReason names a plausibility rule or check that refused or flagged
// a claim. The values are stable: they are shown, counted and kept as
// evidence.
type ClaimReason string

// Claim reasons; package rec's doc says what each rule checks.
const (
	ClaimInvalid         ClaimReason = "invalid_claim"           // fails Claim.Validate
	ClaimFutureHour      ClaimReason = "future_hour"             // the hour has not ended
	ClaimOverlappingHour ClaimReason = "overlapping_hour"        // at or before the device's last claimed hour
	ClaimBrokenChain     ClaimReason = "broken_chain"            // does not start where the device's previous claim ended
	ClaimEquivocation    ClaimReason = "equivocation"            // a second, different claim for the same device and hour
	ClaimMissingData     ClaimReason = "missing_data"            // energy in an hour without a single reading
	ClaimNameplate       ClaimReason = "nameplate_exceeded"      // more than nameplate × 1 h × 1.1
	ClaimSunBelowHorizon ClaimReason = "sun_below_horizon"       // production in a sub-interval the sun never rose in
	ClaimAboveClearSky   ClaimReason = "above_clear_sky"         // more than a clear sky allows at that place and hour
	ClaimCopiedProfile   ClaimReason = "copied_profile"          // the same five-minute profile as another device's
	ClaimCapacityOutlier ClaimReason = "capacity_factor_outlier" // far from the zone's devices: flagged for one hour, refused (device suspended) over 24 h (rec.OutlierRules)
	ClaimAlreadyIssued   ClaimReason = "already_issued"          // the chain's high-water mark is past this hour
	ClaimNoQuorum        ClaimReason = "no_quorum"               // fewer than k attestors other than the claimant
)

// ClaimReasons lists every claim reason, so counters can start at zero.
var ClaimReasons = []ClaimReason{
	ClaimInvalid, ClaimFutureHour, ClaimOverlappingHour, ClaimBrokenChain, ClaimEquivocation,
	ClaimMissingData, ClaimNameplate, ClaimSunBelowHorizon, ClaimAboveClearSky, ClaimCopiedProfile,
	ClaimCapacityOutlier, ClaimAlreadyIssued, ClaimNoQuorum,
}

// Attestation is one attestor's EIP-712 signature over the digest of a
// batch of claims (the REC contract's IssueBatch), as the contract
// verifies it. The attestor is the address the signature recovers to.
type Attestation struct {
	Attestor Address `json:"attestor"`
	// Batch is the batch id: keccak256 of the claims' struct hashes.
	Batch Hash `json:"batch"`
	// Signature is 65 bytes r ‖ s ‖ v, v = 27 or 28.
	Signature []byte `json:"signature"`
}
