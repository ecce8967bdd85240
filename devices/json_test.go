package devices

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// nonFiniteTokenLenLowering is nonFiniteTokenLen as it was before its
// first-character shortcut: the reference the shortcut must agree with.
func nonFiniteTokenLenLowering(b []byte) int {
	sign := 0
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		sign = 1
	}
	rest := strings.ToLower(string(b[sign:min(len(b), sign+8)]))
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

func TestNonFiniteTokenLenShortcut(t *testing.T) {
	inputs := []string{"", "-", "+", "nan", "NaN,", "-Infinity}", "+inf", "inf_", "INFINITY1", "İnf", "-İNFINITY", "Nan", "n", "x", "\xff\xfe", "\xc4"}
	rng := rand.New(rand.NewPCG(5, 8))
	alphabet := []byte("iInNfFaAtTyY+-_0 {\"\xc4\xb0\xff")
	for range 200_000 {
		b := make([]byte, rng.IntN(10))
		for i := range b {
			if rng.IntN(4) == 0 {
				b[i] = byte(rng.Uint32())
			} else {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		if got, want := nonFiniteTokenLen([]byte(in)), nonFiniteTokenLenLowering([]byte(in)); got != want {
			t.Fatalf("nonFiniteTokenLen(%q) = %d, want %d", in, got, want)
		}
	}
}

// BenchmarkDecodeGarbage is a 64 KiB payload of random bytes on a JSON
// dialect's topic: what a flood of garbage costs per message.
func BenchmarkDecodeGarbage(b *testing.B) {
	payload := make([]byte, MaxPayload)
	rand.NewChaCha8([32]byte{1}).Read(payload)
	var v map[string]any
	b.SetBytes(int64(len(payload)))
	for range b.N {
		if decodeJSON(payload, &v) == nil {
			b.Fatal("garbage decoded")
		}
	}
}
