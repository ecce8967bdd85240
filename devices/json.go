package devices

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gridmint/gridmint"
)

// MaxPayload bounds a telemetry message, bytes: no adapter decodes a
// larger one. Real energy telemetry is well under 4 KiB; anything bigger
// is garbage or an attack.
const MaxPayload = 64 << 10

// decodeJSON unmarshals a vendor payload into v and classifies failures:
// a syntax error is ReasonMalformed, a field of the wrong type
// ReasonWrongType. Firmware (Tasmota among them) prints a failed float as
// a bare nan or inf, which is not JSON; those tokens are read as null so
// the rest of the message survives and the field itself is caught as
// ReasonNotFinite by the caller.
func decodeJSON(payload []byte, v any) error {
	if len(payload) > MaxPayload {
		return decodeErr(gridmint.ReasonMalformed, "", "payload of %d bytes exceeds %d", len(payload), MaxPayload)
	}
	err := json.Unmarshal(payload, v)
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		if fixed, changed := bareNonFiniteToNull(payload); changed {
			err = json.Unmarshal(fixed, v)
		}
	}
	if err == nil {
		return nil
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return decodeErr(gridmint.ReasonWrongType, "", "JSON field %q: got %s, want %s", typ.Field, typ.Value, typ.Type)
	}
	return decodeErr(gridmint.ReasonMalformed, "", "JSON: %v", err)
}

// bareNonFiniteToNull replaces the tokens nan, inf and infinity (any case,
// optionally signed) outside JSON strings with null.
func bareNonFiniteToNull(b []byte) ([]byte, bool) {
	var out bytes.Buffer
	changed := false
	inString, escaped := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			out.WriteByte(c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			out.WriteByte(c)
			continue
		}
		if n := nonFiniteTokenLen(b[i:]); n > 0 {
			out.WriteString("null")
			i += n - 1
			changed = true
			continue
		}
		out.WriteByte(c)
	}
	return out.Bytes(), changed
}

func nonFiniteTokenLen(b []byte) int {
	sign := 0
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		sign = 1
	}
	head := b[sign:min(len(b), sign+8)]
	// Most bytes start no token: decide on the first character before
	// lowering (and allocating) the rest. Lowering maps it alone, so
	// this changes nothing but the cost of a flood of garbage.
	if r, _ := utf8.DecodeRune(head); unicode.ToLower(r) != 'i' && unicode.ToLower(r) != 'n' {
		return 0
	}
	rest := strings.ToLower(string(head))
	for _, tok := range []string{"infinity", "nan", "inf"} {
		if strings.HasPrefix(rest, tok) {
			end := sign + len(tok)
			if end < len(b) && isIdentByte(b[end]) {
				return 0
			}
			return end
		}
	}
	return 0
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// parseCounter converts a counter literal in unit u to mWh exactly,
// falling back to float conversion for exponent forms such as 1.2e3.
func parseCounter(lit string, u gridmint.EnergyUnit) (gridmint.MWh, *DecodeError) {
	lit = strings.TrimSpace(lit)
	if e, err := gridmint.ParseEnergy(lit, u); err == nil {
		return e, nil
	}
	f, derr := parseDecimal(lit)
	if derr != nil {
		return 0, derr
	}
	e, err := gridmint.EnergyFromFloat(f, u)
	if err != nil {
		return 0, &DecodeError{Reason: gridmint.ReasonAbsurd, Detail: err.Error()}
	}
	return e, nil
}

// parsePower parses a power literal in W.
func parsePower(lit string) (gridmint.W, *DecodeError) {
	f, derr := parseDecimal(strings.TrimSpace(lit))
	return gridmint.W(f), derr
}

// parseDecimal parses a decimal number as firmware prints it: optional
// minus, digits, fraction, exponent. Go's wider syntax (hex floats, "+",
// "Inf", underscores) is refused; nan and inf are ReasonNotFinite, values
// beyond float64 ReasonAbsurd.
func parseDecimal(lit string) (float64, *DecodeError) {
	if l := strings.ToLower(strings.TrimLeft(lit, "+-")); l == "nan" || l == "inf" || l == "infinity" {
		return 0, &DecodeError{Reason: gridmint.ReasonNotFinite, Detail: fmt.Sprintf("%q", lit)}
	}
	if !decimalLiteral.MatchString(lit) {
		return 0, &DecodeError{Reason: gridmint.ReasonMalformed, Detail: fmt.Sprintf("%q is not a number", truncate([]byte(lit)))}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, &DecodeError{Reason: gridmint.ReasonAbsurd, Detail: fmt.Sprintf("%q out of range", truncate([]byte(lit)))}
	}
	return f, nil
}

var decimalLiteral = regexp.MustCompile(`^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$`)

// truncate shortens raw input for an error message.
func truncate(b []byte) string {
	const n = 64
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
