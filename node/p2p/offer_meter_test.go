package p2p

import (
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// An offer measured at a site meter cannot travel until the wire carries
// the meter: it is refused, not signed without it.
func TestOfferWithSiteMeterRefused(t *testing.T) {
	start := time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC)
	o := Offer{Device: "0x52908400098527886E0F7030069857D2E4169EE7/victron/b1", Zone: "DE-LU",
		WindowStart: start, WindowEnd: start.Add(time.Hour), Power: 3000, Direction: gridmint.DirectionDown,
		FloorPrice: 1, Baseline: gridmint.BaselineSchedule, Expiry: start}
	if err := o.Validate(); err != nil {
		t.Fatalf("own meter: %v", err)
	}
	o.Meter = "0x52908400098527886E0F7030069857D2E4169EE7/victron/grid"
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "meter") {
		t.Errorf("site meter: %v, want a refusal naming the meter", err)
	}
}
