package gridmint

import (
	"strings"
	"testing"
	"time"
)

func TestOfferValidate(t *testing.T) {
	start := time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC)
	good := Offer{
		Device: "0x52908400098527886E0F7030069857D2E4169EE7/tasmota/plug1", Zone: "DE-LU",
		WindowStart: start, WindowEnd: start.Add(time.Hour), Power: 3000, Direction: DirectionDown,
		FloorPrice: 120000, Baseline: BaselineMeterBeforeAfter, Expiry: start.Add(-time.Minute),
	}
	tests := []struct {
		name    string
		edit    func(*Offer)
		wantErr string
	}{
		{"valid", func(*Offer) {}, ""},
		{"bad device", func(o *Offer) { o.Device = "plug1" }, "device"},
		{"empty window", func(o *Offer) { o.WindowEnd = o.WindowStart }, "empty"},
		{"window too long", func(o *Offer) { o.WindowEnd = o.WindowStart.Add(25 * time.Hour) }, "longer"},
		{"zero power", func(o *Offer) { o.Power = 0 }, "power"},
		{"absurd power", func(o *Offer) { o.Power = 2e6 }, "power"},
		{"bad direction", func(o *Offer) { o.Direction = "sideways" }, "direction"},
		{"unknown baseline", func(o *Offer) { o.Baseline = "guess" }, "baseline"},
		{"negative price", func(o *Offer) { o.FloorPrice = -1 }, "floor price"},
		{"no zone", func(o *Offer) { o.Zone = "" }, "zone"},
		{"expiry after start", func(o *Offer) { o.Expiry = o.WindowStart.Add(time.Second) }, "expiry"},
	}
	for _, tt := range tests {
		o := good
		tt.edit(&o)
		err := o.Validate()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: Validate() = %v, want an error mentioning %q", tt.name, err, tt.wantErr)
		}
		// ValidateTerms is Validate without the device: what peers can
		// check of an offer that names its device by an opaque key.
		o.Device = ""
		err = o.ValidateTerms()
		switch wantTerms := tt.wantErr; {
		case wantTerms == "device":
			if err != nil {
				t.Errorf("%s: ValidateTerms() = %v, want nil (the device is not its business)", tt.name, err)
			}
		case wantTerms == "" && err != nil:
			t.Errorf("%s: ValidateTerms() = %v, want nil", tt.name, err)
		case wantTerms != "" && (err == nil || !strings.Contains(err.Error(), wantTerms)):
			t.Errorf("%s: ValidateTerms() = %v, want an error mentioning %q", tt.name, err, wantTerms)
		}
	}
}

func TestRequestValidate(t *testing.T) {
	start := time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC)
	good := Request{Zone: "DE-LU", WindowStart: start, WindowEnd: start.Add(time.Hour), Power: 50000,
		Direction: DirectionDown, MaxPrice: 300000, GateClosure: start.Add(-15 * time.Minute)}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid request: Validate() = %v", err)
	}
	late := good
	late.GateClosure = start.Add(time.Minute)
	if err := late.Validate(); err == nil || !strings.Contains(err.Error(), "gate closure") {
		t.Errorf("gate closure after start: Validate() = %v, want a gate closure error", err)
	}
}
