package gridmint

import (
	"math"
	"strconv"
	"testing"
)

func TestParseEnergy(t *testing.T) {
	tests := []struct {
		lit     string
		unit    EnergyUnit
		want    MWh
		wantErr bool
	}{
		{"514.153", UnitKWh, 514_153_000, false},
		{"0.000001", UnitKWh, 1, false},
		{"0.0000005", UnitKWh, 1, false}, // rounds half away from zero
		{"0.0000004", UnitKWh, 0, false}, // below one mWh
		{"2852055.81", UnitWh, 2_852_055_810, false},
		{"913.252", UnitWh, 913_252, false},
		{"216", UnitWh, 216_000, false},
		{"404.631", UnitMWh, 405, false},
		{"-1.5", UnitWh, -1500, false},
		{"+1.5", UnitWh, 1500, false},
		{".5", UnitKWh, 500_000, false},
		{"5.", UnitKWh, 5_000_000, false},
		{"000013.338", UnitKWh, 13_338_000, false},
		{"999999999999.999999", UnitKWh, 999_999_999_999_999_999, false},
		{"1000000000000", UnitKWh, 0, true}, // 10^18 mWh
		{"999999999999999999", UnitMWh, 999_999_999_999_999_999, false},
		{"", UnitKWh, 0, true},
		{".", UnitKWh, 0, true},
		{"-", UnitKWh, 0, true},
		{"1e3", UnitKWh, 0, true},
		{"NaN", UnitKWh, 0, true},
		{"inf", UnitKWh, 0, true},
		{"1.2.3", UnitKWh, 0, true},
		{" 1", UnitKWh, 0, true},
		{"1", EnergyUnit(9), 0, true},
	}
	for _, tt := range tests {
		got, err := ParseEnergy(tt.lit, tt.unit)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseEnergy(%q, %v) error = %v, wantErr %v", tt.lit, tt.unit, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseEnergy(%q, %v) = %d, want %d", tt.lit, tt.unit, got, tt.want)
		}
	}
}

// TestParseEnergyExactWhereFloatIsNot shows why counters are not parsed
// through float64: 0.1 kWh steps summed as floats drift, as integers not.
func TestParseEnergyExactWhereFloatIsNot(t *testing.T) {
	var sum MWh
	var fsum float64
	for i := 0; i < 1000; i++ {
		e, err := ParseEnergy("0.1", UnitKWh)
		if err != nil {
			t.Fatal(err)
		}
		sum += e
		fsum += 0.1
	}
	if sum != 100_000_000 {
		t.Fatalf("sum of 1000 × 0.1 kWh = %d mWh, want 100000000", sum)
	}
	if fsum == 100 {
		t.Log("float64 happened to be exact; the integer path is still the contract")
	}
}

func TestEnergyFromFloat(t *testing.T) {
	tests := []struct {
		v       float64
		unit    EnergyUnit
		want    MWh
		wantErr bool
	}{
		{1.2e3, UnitWh, 1_200_000, false},
		{0.0015, UnitWh, 2, false},
		{math.NaN(), UnitWh, 0, true},
		{math.Inf(1), UnitKWh, 0, true},
		{1e12, UnitKWh, 0, true},
		{1e11, UnitKWh, 100_000_000_000_000_000, false},
	}
	for _, tt := range tests {
		got, err := EnergyFromFloat(tt.v, tt.unit)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("EnergyFromFloat(%v, %v) = %d, %v; want %d, err=%v", tt.v, tt.unit, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestMWhWhRoundsDown(t *testing.T) {
	tests := []struct {
		in   MWh
		want Wh
	}{{0, 0}, {999, 0}, {1000, 1}, {1999, 1}, {-1, -1}, {-1000, -1}, {-1001, -2}}
	for _, tt := range tests {
		if got := tt.in.Wh(); got != tt.want {
			t.Errorf("MWh(%d).Wh() = %d, want %d", tt.in, got, tt.want)
		}
	}
	if got, want := MWh(-1500).String(), "-1.500 Wh"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestDeviceID(t *testing.T) {
	id, err := NewDeviceID("0xabc", "tasmota", "plug:2")
	if err != nil {
		t.Fatal(err)
	}
	n, a, s, ok := id.Parts()
	if !ok || n != "0xabc" || a != "tasmota" || s != "plug:2" {
		t.Errorf("Parts(%q) = %q %q %q %v", id, n, a, s, ok)
	}
	for _, bad := range [][3]string{{"", "a", "s"}, {"n/x", "a", "s"}, {"n", "a/b", "s"}, {"n", "a", ""}} {
		if _, err := NewDeviceID(bad[0], bad[1], bad[2]); ErrorCode(err) != EInvalid {
			t.Errorf("NewDeviceID(%q) error code = %q, want %q", bad, ErrorCode(err), EInvalid)
		}
	}
	if _, _, _, ok := DeviceID("a/b").Parts(); ok {
		t.Error(`DeviceID("a/b").Parts() ok, want not ok`)
	}
}

func FuzzParseEnergy(f *testing.F) {
	for _, s := range []string{"514.153", "0", "-1.5", ".5", "1e3", "999999999999.999999", "NaN", "0.0000005"} {
		f.Add(s, uint8(UnitKWh))
	}
	f.Fuzz(func(t *testing.T, lit string, unit uint8) {
		u := EnergyUnit(unit % 3)
		got, err := ParseEnergy(lit, u)
		if err != nil {
			return
		}
		// Any accepted literal is a decimal float too, and the exact parse
		// agrees with it to within rounding (half a mWh plus float error).
		fv, ferr := strconv.ParseFloat(lit, 64)
		if ferr != nil {
			t.Fatalf("ParseEnergy(%q) accepted what ParseFloat rejects: %v", lit, ferr)
		}
		scale := map[EnergyUnit]float64{UnitMWh: 1, UnitWh: 1e3, UnitKWh: 1e6}[u]
		want := fv * scale
		if diff := math.Abs(float64(got) - want); diff > 0.5+math.Abs(want)*1e-15 {
			t.Fatalf("ParseEnergy(%q, %v) = %d, float says %f", lit, u, got, want)
		}
	})
}
