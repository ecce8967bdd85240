package gridmint

import (
	"fmt"
	"math"
	"strconv"
)

// W is power in watts. Its sign follows the convention in the package doc:
// positive in the device kind's natural direction (production for PV,
// consumption for plugs and EV chargers, import for meters, discharge for
// batteries).
type W float64

// MWh is energy in integer milliwatt-hours. All energy arithmetic inside the
// node is done in MWh so that summing counters never drifts.
type MWh int64

// Wh is energy in whole watt-hours, the unit of renewable certificates.
type Wh int64

// Wh returns e in whole watt-hours, rounded down (towards negative infinity)
// as EnergyTag requires for certificate volumes.
func (e MWh) Wh() Wh {
	q := e / 1000
	if e%1000 < 0 {
		q--
	}
	return Wh(q)
}

// KWh returns e in kilowatt-hours, for display only.
func (e MWh) KWh() float64 { return float64(e) / 1e6 }

// String formats e in Wh with three decimals, e.g. "1234.567 Wh".
func (e MWh) String() string {
	sign := ""
	v := int64(e)
	if v < 0 {
		sign = "-"
		v = -v
	}
	return fmt.Sprintf("%s%d.%03d Wh", sign, v/1000, v%1000)
}

// MWh converts whole watt-hours to milliwatt-hours.
func (e Wh) MWh() MWh { return MWh(e) * 1000 }

// EnergyUnit is the unit a vendor reports an energy counter in.
type EnergyUnit int

// Energy units seen in device payloads.
const (
	UnitMWh EnergyUnit = iota // milliwatt-hours (Shelly by_minute)
	UnitWh                    // watt-hours (OpenDTU yieldday, Shelly aenergy.total, go-e eto)
	UnitKWh                   // kilowatt-hours (Tasmota Total, OpenDTU yieldtotal, Victron)
)

// String returns the unit's symbol.
func (u EnergyUnit) String() string {
	switch u {
	case UnitMWh:
		return "mWh"
	case UnitWh:
		return "Wh"
	case UnitKWh:
		return "kWh"
	}
	return fmt.Sprintf("EnergyUnit(%d)", int(u))
}

// decimalsToMWh is how many decimal places of each unit fit in one mWh.
var decimalsToMWh = map[EnergyUnit]int{UnitMWh: 0, UnitWh: 3, UnitKWh: 6}

// maxMWhDigits bounds the digits of a parsed value in mWh so it cannot
// overflow int64 (9.2e18): 18 digits, i.e. up to 10^12 kWh.
const maxMWhDigits = 18

// ParseEnergy converts a decimal literal such as "514.153" in unit u to MWh
// exactly, without going through float64: a value in kWh with up to six
// decimals is represented without any rounding. Digits finer than one mWh
// are rounded half away from zero. Exponents ("1e3"), NaN, infinities, empty
// strings and values of 10^18 mWh or more are errors.
func ParseEnergy(literal string, u EnergyUnit) (MWh, error) {
	scale, ok := decimalsToMWh[u]
	if !ok {
		return 0, fmt.Errorf("energy %q: unknown unit %v", literal, u)
	}
	s := literal
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	intPart, fracPart := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, fracPart = s[:i], s[i+1:]
			break
		}
	}
	if intPart == "" && fracPart == "" {
		return 0, fmt.Errorf("energy %q: not a decimal number", literal)
	}
	if !allDigits(intPart) || !allDigits(fracPart) {
		return 0, fmt.Errorf("energy %q: not a decimal number", literal)
	}
	intPart = trimLeadingZeros(intPart)
	if len(intPart)+scale > maxMWhDigits {
		return 0, fmt.Errorf("energy %q %v: out of range", literal, u)
	}
	// Keep `scale` fractional digits, round on the next one.
	roundUp := false
	if len(fracPart) > scale {
		roundUp = fracPart[scale] >= '5'
		fracPart = fracPart[:scale]
	}
	for len(fracPart) < scale {
		fracPart += "0"
	}
	digits := intPart + fracPart
	var v int64
	if digits != "" {
		var err error
		v, err = strconv.ParseInt(digits, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("energy %q %v: %w", literal, u, err)
		}
	}
	if roundUp {
		v++
	}
	if neg {
		v = -v
	}
	return MWh(v), nil
}

// EnergyFromFloat converts a float64 in unit u to MWh, rounding to the
// nearest mWh. It rejects NaN, infinities and magnitudes of 10^18 mWh or
// more, like ParseEnergy. Prefer ParseEnergy when the decimal literal is
// available.
func EnergyFromFloat(v float64, u EnergyUnit) (MWh, error) {
	scale, ok := decimalsToMWh[u]
	if !ok {
		return 0, fmt.Errorf("energy %v: unknown unit %v", v, u)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("energy %v %v: not a finite number", v, u)
	}
	m := v * math.Pow10(scale)
	if math.Abs(m) >= 1e18 {
		return 0, fmt.Errorf("energy %v %v: out of range", v, u)
	}
	return MWh(math.Round(m)), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func trimLeadingZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	if s == "0" {
		return ""
	}
	return s
}
