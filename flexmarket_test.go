package gridmint

import (
	"bytes"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestIDText(t *testing.T) {
	var id OfferID
	for i := range id {
		id[i] = byte(i * 7)
	}
	text, _ := id.MarshalText()
	if string(text) != id.String() || !strings.HasPrefix(id.String(), "0x00070e") || len(text) != 66 {
		t.Fatalf("text %s", text)
	}
	var back OfferID
	if err := back.UnmarshalText(bytes.ToUpper(text)); err != nil {
		t.Fatalf("upper-case hex: %v", err)
	}
	if back != id {
		t.Fatalf("round trip %v, want %v", back, id)
	}
	b, err := json.Marshal(struct {
		R RequestID `json:"r"`
	}{RequestID(id)})
	if err != nil || !strings.Contains(string(b), id.String()) {
		t.Fatalf("json %s %v", b, err)
	}
	keep := back
	for _, bad := range []string{"", "0x", "0x12", "12" + id.String()[2:] + "00", "0y" + id.String()[2:], "0x" + strings.Repeat("g", 64)} {
		if err := back.UnmarshalText([]byte(bad)); err == nil || ErrorCode(err) != EInvalid {
			t.Errorf("UnmarshalText(%q) = %v, want an invalid error", bad, err)
		}
		if back != keep {
			t.Errorf("UnmarshalText(%q) changed the id", bad)
		}
	}
}

func FuzzIDText(f *testing.F) {
	f.Add([]byte("0x" + strings.Repeat("ab", 32)))
	f.Add([]byte("0X" + strings.Repeat("Cd", 32)))
	f.Add([]byte("0x12"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		var id TestID
		if err := id.UnmarshalText(in); err != nil {
			if id != (TestID{}) {
				t.Fatalf("refused %q but changed the id", in)
			}
			return
		}
		out, _ := id.MarshalText()
		if !strings.EqualFold(string(out), string(in)) {
			t.Fatalf("accepted %q, encodes as %q", in, out)
		}
	})
}

func TestEnergyAtAndValues(t *testing.T) {
	start := time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC)
	tests := []struct {
		p    W
		d    time.Duration
		want MWh
	}{
		{1000, time.Hour, 1_000_000},
		{2000, 5 * time.Minute, 166_666}, // 166,666.67 rounded down
		{7, time.Second, 1},              // 1.94
		{-5, time.Hour, 0},
		{1000.9, time.Second, 277}, // whole watts
	}
	for _, tt := range tests {
		if got := EnergyAt(tt.p, tt.d); got != tt.want {
			t.Errorf("EnergyAt(%v, %v) = %v, want %v", tt.p, tt.d, got, tt.want)
		}
	}
	a := Award{Power: 1, Price: 1, WindowStart: start, WindowEnd: start.Add(time.Second)}
	// 1 W for 1 s at 1 µFLEX/kWh: 10^12 / 3.6e6 = 277,777.7 base units.
	if a.Value().Cmp(big.NewInt(277_777)) != 0 || a.Energy() != 0 {
		t.Errorf("tiny award: value %v energy %v", a.Value(), a.Energy())
	}
	r := DeliveryRecord{Awarded: 3_000_000, Delivered: 2_700_000, Price: 250_000}
	if r.Performance() != 900_000 {
		t.Errorf("performance %d", r.Performance())
	}
	// 2.7 kWh × 0.25 FLEX = 0.675 FLEX.
	if want, _ := new(big.Int).SetString("675000000000000000", 10); r.Payment().Cmp(want) != 0 {
		t.Errorf("payment %v, want %v", r.Payment(), want)
	}
	if (DeliveryRecord{Reason: FlexOptOut}).Exempt() != true || (DeliveryRecord{Reason: FlexOffline}).Exempt() {
		t.Error("only opt-out and grid limits are excused")
	}
}

func TestFlexPolicyValidate(t *testing.T) {
	good := FlexPolicy{MinPrice: 1, ReserveSoC: 20, MaxSoC: 90, Departure: time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC), EnergyNeeded: 20_000}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid: %v", err)
	}
	for name, edit := range map[string]func(*FlexPolicy){
		"negative price":       func(p *FlexPolicy) { p.MinPrice = -1 },
		"reserve above 100":    func(p *FlexPolicy) { p.ReserveSoC = 101 },
		"max below reserve":    func(p *FlexPolicy) { p.MaxSoC = 10 },
		"energy, no departure": func(p *FlexPolicy) { p.Departure = time.Time{} },
		"negative energy":      func(p *FlexPolicy) { p.EnergyNeeded = -1 },
	} {
		p := good
		edit(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
}

func TestOfferMeter(t *testing.T) {
	start := time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC)
	o := Offer{
		Device: "0x52908400098527886E0F7030069857D2E4169EE7/victron/b1", Zone: "DE-LU",
		WindowStart: start, WindowEnd: start.Add(time.Hour), Power: 3000, Direction: DirectionDown,
		FloorPrice: 1, Baseline: BaselinePJMSameDay, Expiry: start,
	}
	if err := o.Validate(); err != nil || o.MeterOfRecord() != o.Device {
		t.Fatalf("own meter: %v, meter %s", err, o.MeterOfRecord())
	}
	o.Meter = "0x52908400098527886E0F7030069857D2E4169EE7/victron/grid"
	if err := o.Validate(); err != nil || o.MeterOfRecord() != o.Meter {
		t.Fatalf("site meter: %v", err)
	}
	o.Meter = "0x0000000000000000000000000000000000000001/victron/grid"
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "meter") {
		t.Errorf("another node's meter: %v", err)
	}
	for _, m := range BaselineMethods {
		if !m.Valid() {
			t.Errorf("%s not valid", m)
		}
	}
}
