package gridmint

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestHourOf(t *testing.T) {
	tests := []struct {
		t    time.Time
		want Hour
	}{
		{time.Unix(0, 0), 0},
		{time.Unix(3599, 999_999_999), 0},
		{time.Unix(3600, 0), 1},
		{time.Unix(-1, 0), -1},
		{time.Date(2025, 1, 21, 21, 30, 0, 0, time.UTC), 482_637},
		{time.Date(2025, 1, 21, 22, 30, 0, 0, time.FixedZone("CET", 3600)), 482_637},
	}
	for _, tt := range tests {
		if got := HourOf(tt.t); got != tt.want {
			t.Errorf("HourOf(%v) = %d, want %d", tt.t, got, tt.want)
		}
	}
	h := Hour(482_637)
	if h.String() != "2025-01-21T21:00Z" || !h.End().Equal(h.Start().Add(time.Hour)) {
		t.Errorf("hour %d: %s, %v–%v", h, h, h.Start(), h.End())
	}
}

func TestCoarsen(t *testing.T) {
	c, err := Coarsen(Location{Lat: 39.742476, Lon: -105.1786})
	if err != nil || c != (CoarseLocation{LatTenths: 397, LonTenths: -1052}) || c.String() != "39.7,-105.2" {
		t.Errorf("Coarsen = %+v %v (%s)", c, err, c)
	}
	if _, err := Coarsen(Location{Lat: 91}); ErrorCode(err) != EInvalid {
		t.Errorf("latitude 91: %v", err)
	}
}

func TestHexIdentities(t *testing.T) {
	a, err := ParseAddress("0x00000000000000000000000000000000000000Ab")
	if err != nil || a != (Address{19: 0xab}) || a.String() != "0x00000000000000000000000000000000000000ab" {
		t.Errorf("ParseAddress: %v %v", a, err)
	}
	for _, bad := range []string{"", "0x", "00000000000000000000000000000000000000ab", "0x0000000000000000000000000000000000000g0ab", "0x" + strings.Repeat("0", 41)} {
		if _, err := ParseAddress(bad); ErrorCode(err) != EInvalid {
			t.Errorf("ParseAddress(%q) = %v, want EInvalid", bad, err)
		}
	}
	var k DeviceKey
	if err := k.UnmarshalText([]byte("0x" + strings.Repeat("ab", 32))); err != nil || k[31] != 0xab {
		t.Errorf("device key: %v %v", k, err)
	}
}

func validClaim() Claim {
	c := Claim{
		Device: DeviceKey{1}, Node: Address{2}, Owner: Address{3}, Zone: "DE-LU", Technology: TechnologySolarPV,
		Hour: 482_637, CounterStart: 10_500, CarryIn: 700, Quality: QualityOK, Readings: 14, ReadingsRoot: Hash{4},
		Nameplate: 800, Location: CoarseLocation{LatTenths: 525, LonTenths: 134},
	}
	for i := range c.Profile {
		c.Profile[i] = 100 * MWh(i)
	}
	c.CounterEnd = c.CounterStart + c.Profile.Sum()
	c.Wh = Wh((c.CarryIn + c.Energy()) / 1000)
	return c
}

func TestClaimValidate(t *testing.T) {
	if err := validClaim().Validate(); err != nil {
		t.Fatalf("valid claim: %v", err)
	}
	if c := validClaim(); c.Wh != 7 || c.CarryOut() != 300 {
		t.Errorf("Wh %d, carry out %d; want 7 and 300 (700 + 6600 mWh)", c.Wh, c.CarryOut())
	}
	tests := map[string]func(*Claim){
		"zero device":         func(c *Claim) { c.Device = DeviceKey{} },
		"zero node":           func(c *Claim) { c.Node = Address{} },
		"zero owner":          func(c *Claim) { c.Owner = Address{} },
		"empty zone":          func(c *Claim) { c.Zone = "" },
		"zone of 24 bytes":    func(c *Claim) { c.Zone = strings.Repeat("z", 24) },
		"zone with a newline": func(c *Claim) { c.Zone = "DE\nLU" },
		"zone not UTF-8":      func(c *Claim) { c.Zone = "DE\xff" },
		"technology 0":        func(c *Claim) { c.Technology = 0 },
		"negative hour":       func(c *Claim) { c.Hour = -1 },
		"counter goes back":   func(c *Claim) { c.CounterEnd = c.CounterStart - 1 },
		"carry of 1000":       func(c *Claim) { c.CarryIn = 1000 },
		"one Wh too many":     func(c *Claim) { c.Wh++ },
		"profile off by one":  func(c *Claim) { c.Profile[3]++ },
		"negative sub-interval": func(c *Claim) {
			c.Profile[0], c.Profile[1] = -1, c.Profile[1]+1
		},
		"quality bad":          func(c *Claim) { c.Quality = QualityBad },
		"one reading":          func(c *Claim) { c.Readings = 1 },
		"zero root":            func(c *Claim) { c.ReadingsRoot = Hash{} },
		"no nameplate":         func(c *Claim) { c.Nameplate = 0 },
		"nameplate not finite": func(c *Claim) { c.Nameplate = W(nan()) },
		"latitude 95":          func(c *Claim) { c.Location.LatTenths = 950 },
	}
	for name, mutate := range tests {
		c := validClaim()
		mutate(&c)
		if err := c.Validate(); ErrorCode(err) != EInvalid {
			t.Errorf("%s: Validate = %v, want EInvalid", name, err)
		}
	}
}

func nan() float64 {
	var z float64
	return z / z
}

// FuzzClaimJSON: claims arrive from the network as JSON. No input crashes
// the decoder or Validate, and a claim that decodes and validates
// survives encoding and decoding again unchanged.
func FuzzClaimJSON(f *testing.F) {
	good, _ := json.Marshal(validClaim())
	f.Add(good)
	f.Add([]byte(`{"device":"0x01","zone":"DE-LU"}`))
	f.Add([]byte(`{"profile_mwh":[1,2,3],"hour":-5,"readings_root":"0x` + strings.Repeat("0", 64) + `"}`))
	f.Add([]byte(`{"nameplate_w":1e400}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Claim
		if err := json.Unmarshal(data, &c); err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			if ErrorCode(err) != EInvalid {
				t.Fatalf("Validate: %v is not EInvalid", err)
			}
			return
		}
		again, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		var back Claim
		if err := json.Unmarshal(again, &back); err != nil || back != c {
			t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, back, c)
		}
	})
}
