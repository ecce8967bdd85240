package rec

import (
	"time"

	"github.com/gridmint/gridmint"
)

// DeviceFacts are what a claim says about its device beyond the hour's
// energy: who reads it, who owns its certificates, where it is and what
// it can produce.
type DeviceFacts struct {
	Device     gridmint.DeviceKey
	Node       gridmint.Address
	Owner      gridmint.Address
	Zone       string
	Technology gridmint.Technology
	Nameplate  gridmint.W // rated AC power
	Location   gridmint.CoarseLocation
}

// NewClaim is the claim for an hour built by a Builder, validated.
func NewClaim(iv HourInterval, f DeviceFacts) (gridmint.Claim, error) {
	c := gridmint.Claim{
		Device: f.Device, Node: f.Node, Owner: f.Owner, Zone: f.Zone, Technology: f.Technology,
		Hour: iv.Hour, Wh: iv.Wh, CounterStart: iv.CounterStart, CounterEnd: iv.CounterEnd, CarryIn: iv.CarryIn,
		Profile: iv.Profile, Quality: iv.Quality, Readings: len(iv.Leaves), ReadingsRoot: iv.Root,
		Nameplate: f.Nameplate, Location: f.Location,
	}
	return c, c.Validate()
}

// VerifyLeaves checks a claim against the readings it commits to, as a
// peer holding them (or an auditor) does: the leaves hash to the claim's
// root, and building the hour from them, the claim's counter start and
// carry gives the claim's profile, end counter, Wh and quality. maxGap is
// the one the claimant's Builder used (0: DefaultMaxGap).
func VerifyLeaves(c gridmint.Claim, leaves []Leaf, maxGap time.Duration) error {
	if len(leaves) != c.Readings {
		return gridmint.Errorf(gridmint.EInvalid, "rec: claim %s@%s: %d leaves, the claim says %d", c.Device, c.Hour, len(leaves), c.Readings)
	}
	if r := MerkleRoot(leaves); r != c.ReadingsRoot {
		return gridmint.Errorf(gridmint.EInvalid, "rec: claim %s@%s: leaves hash to %s, the claim says %s", c.Device, c.Hour, r, c.ReadingsRoot)
	}
	iv, err := BuildHour(leaves, c.Hour, c.CounterStart, c.CarryIn, maxGap)
	if err != nil {
		return err
	}
	if iv.Profile != c.Profile || iv.CounterEnd != c.CounterEnd || iv.Wh != c.Wh || iv.Quality != c.Quality || len(iv.Leaves) != len(leaves) {
		return gridmint.Errorf(gridmint.EInvalid, "rec: claim %s@%s: the leaves give %v Wh, end %d mWh, quality %s, profile %v; the claim says %v, %d, %s, %v",
			c.Device, c.Hour, iv.Wh, iv.CounterEnd, iv.Quality, iv.Profile, c.Wh, c.CounterEnd, c.Quality, c.Profile)
	}
	return nil
}
