package p2p

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// localOffer is an offer as the node's API takes it: by device id, whose
// last part is the vendor's serial.
func localOffer() gridmint.Offer {
	start := time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC)
	return gridmint.Offer{Device: "0x52908400098527886E0F7030069857D2E4169EE7/victron/HQ2207ABCDE", Zone: "DE-LU",
		WindowStart: start, WindowEnd: start.Add(time.Hour), Power: 3000, Direction: gridmint.DirectionDown,
		FloorPrice: 1, Baseline: gridmint.BaselineSchedule, Expiry: start}
}

// An offer measured at a site meter cannot travel until the wire carries
// the meter: it is refused, not signed without it.
func TestOfferWithSiteMeterRefused(t *testing.T) {
	o := localOffer()
	if _, err := NewOffer(o, testDeviceKey("b1")); err != nil {
		t.Fatalf("own meter: %v", err)
	}
	o.Meter = "0x52908400098527886E0F7030069857D2E4169EE7/victron/grid"
	if _, err := NewOffer(o, testDeviceKey("b1")); err == nil || !strings.Contains(err.Error(), "meter") {
		t.Errorf("site meter: %v, want a refusal naming the meter", err)
	}
}

// TestOfferOnTheWireCarriesNoSerial: the signed envelope names the device
// by its key only. Neither its bytes nor its JSON (what the API shows)
// hold the serial or the device id, and decoding gives back the key and
// every term.
func TestOfferOnTheWireCarriesNoSerial(t *testing.T) {
	o := localOffer()
	_, _, serial, _ := o.Device.Parts()
	key := testDeviceKey(string(o.Device))
	w, err := NewOffer(o, key)
	if err != nil {
		t.Fatal(err)
	}
	if w.Device != key || w.Terms() != (gridmint.Offer{Zone: o.Zone, WindowStart: o.WindowStart, WindowEnd: o.WindowEnd,
		Power: o.Power, Direction: o.Direction, FloorPrice: o.FloorPrice, Baseline: o.Baseline, Expiry: o.Expiry}) {
		t.Fatalf("wire offer %+v: want key %s and the terms of %+v", w, key, o)
	}
	m := Sign(t, Key(1), w, o.Expiry.Add(-time.Hour))
	asJSON, err := json.Marshal(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	for what, b := range map[string][]byte{"envelope": m.Raw, "JSON": asJSON} {
		for _, secret := range []string{serial, string(o.Device), "victron"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds %q:\n%s", what, secret, b)
			}
		}
	}
	if !strings.Contains(string(asJSON), `"device":"`+key.String()+`"`) {
		t.Errorf("JSON %s: want the device as its key %s", asJSON, key)
	}
	got, err := decodeEnvelope(m.Raw, newSigner(TestDomain))
	if err != nil {
		t.Fatal(err)
	}
	if got.Body != Body(w) || got.ID != m.ID {
		t.Errorf("decoded %+v (id %s), want %+v (id %s)", got.Body, got.ID, w, m.ID)
	}
}

func TestOfferNeedsADeviceKey(t *testing.T) {
	o, err := NewOffer(localOffer(), testDeviceKey("x"))
	if err != nil {
		t.Fatal(err)
	}
	o.Device = gridmint.DeviceKey{}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "device") {
		t.Errorf("zero device key: Validate() = %v, want a refusal naming the device", err)
	}
	if _, err := NewOffer(localOffer(), gridmint.DeviceKey{}); err == nil {
		t.Error("NewOffer with a zero key succeeded")
	}
	bad := localOffer()
	bad.Device = "HQ2207ABCDE"
	if _, err := NewOffer(bad, testDeviceKey("x")); err == nil || !strings.Contains(err.Error(), "device") {
		t.Errorf("NewOffer of a malformed device id = %v, want a refusal naming the device", err)
	}
}
