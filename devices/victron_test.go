package devices

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gridmint/gridmint"
)

// Fixtures from shared/payloads/victron.md. Captured: the notification
// samples of victronenergy/dbus-flashmq's README (vendor examples, with
// <portal ID> replaced by victronPortal) and the third-party Home
// Assistant test fixture (portal ID "123"). Constructed: the battery
// values of the [TEST] unit test wrapped in {"value": ...}, counters, and
// everything else marked so below.
const (
	victronPortal = "c0619ab1234f"

	victronREADMEPVPower       = `{"value": 936}`                                                      // pvinverter/20/Ac/Power
	victronREADMEPVPowerRead   = `{"value": 926}`                                                      // its R/ read reply
	victronREADMEVoltage       = `{"value":20.43000030517578}`                                         // solarcharger/279/Dc/0/Voltage
	victronREADMECurrent       = `{"value":0.0}`                                                       // solarcharger/279/Dc/0/Current
	victronREADMESetting       = `{"max":1,"min":0,"value":1}`                                         // settings/0/Settings/LEDs/Enable
	victronREADMEFullPublish   = `{"value":1702459522}`                                                // full_publish_completed
	victronREADMEWrite         = `{"value": -200}`                                                     // W/.../vebus/257/Hub4/L1/AcPowerSetpoint
	victronHASetpointFixture   = `{"max": 1000000, "min": -1000000, "value": 50}`                      // N/123/settings/0/Settings/CGwacs/AcPowerSetPoint
	victronInvalid             = `{"value": null}`                                                     // an invalid D-Bus value
	victronFullPublishWithEcho = `{"full-publish-completed-echo":"B9FMlGWoCcfMKc","value":1718860914}` // dbus-flashmq source comment
)

// vN is a notification on victronPortal.
func vN(path, payload string) mqttMsg { return mqttMsg{"N/" + victronPortal + "/" + path, payload} }

// vUp is the measurement update of a Victron device.
func vUp(serial string, m *Measurement) Update {
	service, _, _ := strings.Cut(serial, "-")
	svc := victronServices[service]
	return Update{Serial: serial, Kind: svc.kind, Capabilities: svc.caps, Measurement: m}
}

func vW(p float64) *gridmint.W         { return ptr(gridmint.W(p)) }
func vLife(mwh gridmint.MWh) *Counter  { return &Counter{Value: mwh, Kind: gridmint.CounterLifetime} }
func vDaily(mwh gridmint.MWh) *Counter { return &Counter{Value: mwh, Kind: gridmint.CounterDaily} }
func vAdapter(t testing.TB) Adapter {
	return mustAdapter(t, AdapterConfig{Dialect: "victron", PortalID: victronPortal})
}
func vFull() mqttMsg                { return vN("full_publish_completed", victronREADMEFullPublish) }
func vOffline(serial string) Update { return Update{Serial: serial, Availability: AvailabilityOffline} }
func vBattery(p float64, soc float64) *Measurement {
	return &Measurement{Power: vW(p), SoC: ptr(soc)}
}

// victronESSPublish is a full publish of a small ESS (constructed, in the
// shape of the README samples): an inverter/charger, a battery monitor
// with the [TEST] values, a grid meter, a solar charger, settings.
func victronESSPublish() []mqttMsg {
	return []mqttMsg{
		vN("vebus/257/Hub4/L1/AcPowerSetpoint", `{"value": 0}`),
		vN("battery/512/Dc/0/Voltage", `{"value": 12.4}`),
		vN("battery/512/Dc/0/Current", `{"value": 5.6}`),
		vN("battery/512/Dc/0/Power", `{"value": 69.4}`),
		vN("battery/512/Soc", `{"value": 53.2}`),
		vN("battery/512/History/DischargedEnergy", `{"value": 1234.5}`),
		vN("battery/512/History/ChargedEnergy", `{"value": 1300.25}`),
		vN("grid/30/Ac/L1/Power", `{"value": -1520.5}`),
		vN("grid/30/Ac/Power", `{"value": -1520.5}`),
		vN("grid/30/Ac/Energy/Forward", `{"value": 4321.07}`),
		vN("grid/30/Ac/Energy/Reverse", `{"value": 987.654321}`),
		vN("solarcharger/279/Dc/0/Voltage", victronREADMEVoltage),
		vN("solarcharger/279/Yield/Power", `{"value":20.43000030517578}`),
		vN("solarcharger/279/Yield/System", `{"value": 345.67}`),
		vN("settings/0/Settings/LEDs/Enable", victronREADMESetting),
		vN("system/0/VebusInstance", `{"value": 257}`),
		vFull(),
	}
}

func victronESSWant() []Update {
	return []Update{
		vUp("battery-512", &Measurement{Power: vW(-69.4)}),
		vUp("battery-512", vBattery(-69.4, 53.2)),
		vUp("battery-512", &Measurement{Power: vW(-69.4), SoC: ptr(53.2), Forward: vLife(1_234_500_000)}),
		vUp("battery-512", &Measurement{Power: vW(-69.4), SoC: ptr(53.2), Forward: vLife(1_234_500_000), Reverse: vLife(1_300_250_000)}),
		vUp("grid-30", &Measurement{Power: vW(-1520.5)}),
		vUp("grid-30", &Measurement{Power: vW(-1520.5)}),
		vUp("grid-30", &Measurement{Power: vW(-1520.5), Forward: vLife(4_321_070_000)}),
		vUp("grid-30", &Measurement{Power: vW(-1520.5), Forward: vLife(4_321_070_000), Reverse: vLife(987_654_321)}),
		vUp("solarcharger-279", &Measurement{Power: vW(20.4)}),
		vUp("solarcharger-279", &Measurement{Power: vW(20.4), Forward: vLife(345_670_000)}),
	}
}

func TestVictronDecode(t *testing.T) {
	tests := []struct {
		name string
		msgs []mqttMsg
		want []Update
	}{
		{"README: PV inverter power", []mqttMsg{vN("pvinverter/20/Ac/Power", victronREADMEPVPower)},
			[]Update{vUp("pvinverter-20", &Measurement{Power: vW(936)})}},
		{"README: a read reply is a notification like any other", []mqttMsg{vN("pvinverter/20/Ac/Power", victronREADMEPVPowerRead)},
			[]Update{vUp("pvinverter-20", &Measurement{Power: vW(926)})}},
		{"README: solar charger voltage and current are not used", []mqttMsg{
			vN("solarcharger/279/Dc/0/Voltage", victronREADMEVoltage), vN("solarcharger/279/Dc/0/Current", victronREADMECurrent)}, nil},
		{"README: settings are ignored", []mqttMsg{vN("settings/0/Settings/LEDs/Enable", victronREADMESetting)}, nil},
		{"README: full_publish_completed, heartbeat", []mqttMsg{vFull(), vN("full_publish_completed", victronFullPublishWithEcho),
			vN("heartbeat", `{"value":1718860914}`)}, nil},
		{"[TEST] battery: power negated (+ charging on the D-Bus), SoC merged", []mqttMsg{
			vN("battery/512/Dc/0/Voltage", `{"value": 12.4}`),
			vN("battery/512/Dc/0/Current", `{"value": 5.6}`),
			vN("battery/512/Dc/0/Power", `{"value": 69.4}`),
			vN("battery/512/Soc", `{"value": 53.2}`),
		}, []Update{vUp("battery-512", &Measurement{Power: vW(-69.4)}), vUp("battery-512", vBattery(-69.4, 53.2))}},
		{"battery discharging is positive; counters: discharged forward, charged reverse", []mqttMsg{
			vN("battery/512/History/DischargedEnergy", `{"value": 1234.5}`),
			vN("battery/512/History/ChargedEnergy", `{"value": 1300.25}`),
			vN("battery/512/Dc/0/Power", `{"value": -2500}`),
		}, []Update{
			vUp("battery-512", &Measurement{Forward: vLife(1_234_500_000)}),
			vUp("battery-512", &Measurement{Forward: vLife(1_234_500_000), Reverse: vLife(1_300_250_000)}),
			vUp("battery-512", &Measurement{Power: vW(2500), Forward: vLife(1_234_500_000), Reverse: vLife(1_300_250_000)}),
		}},
		{"a state of charge alone is no reading", []mqttMsg{vN("battery/512/Soc", `{"value": 53.2}`)}, nil},
		{"zero power is +0, not -0", []mqttMsg{vN("battery/512/Dc/0/Power", `{"value": 0.0}`)},
			[]Update{vUp("battery-512", &Measurement{Power: vW(0)})}},
		{"float32 noise on a power path is rounded to 0.1 W (constructed from the README literal)", []mqttMsg{
			vN("solarcharger/279/Yield/Power", `{"value":20.43000030517578}`)}, []Update{vUp("solarcharger-279", &Measurement{Power: vW(20.4)})}},
		{"grid meter: import +, export −; counters exact from the literal", []mqttMsg{
			vN("grid/30/Ac/Power", `{"value": -1520.5}`),
			vN("grid/30/Ac/Energy/Forward", `{"value": 4321.07}`),
			vN("grid/30/Ac/Energy/Reverse", `{"value": 987.654321}`),
		}, []Update{
			vUp("grid-30", &Measurement{Power: vW(-1520.5)}),
			vUp("grid-30", &Measurement{Power: vW(-1520.5), Forward: vLife(4_321_070_000)}),
			vUp("grid-30", &Measurement{Power: vW(-1520.5), Forward: vLife(4_321_070_000), Reverse: vLife(987_654_321)}),
		}},
		{"grid meter without Ac/Power: the phases add up", []mqttMsg{
			vN("grid/30/Ac/L1/Power", `{"value": 100}`),
			vN("grid/30/Ac/L2/Power", `{"value": 200.5}`),
			vN("grid/30/Ac/L3/Power", victronInvalid), // single phase: L3 invalid
		}, []Update{vUp("grid-30", &Measurement{Power: vW(100)}), vUp("grid-30", &Measurement{Power: vW(300.5)})}},
		{"phase powers are not used while Ac/Power is known", []mqttMsg{
			vN("grid/30/Ac/Power", `{"value": 500}`),
			vN("grid/30/Ac/L1/Power", `{"value": 100}`),
		}, []Update{vUp("grid-30", &Measurement{Power: vW(500)})}},
		{"an invalid value is forgotten, not an error", []mqttMsg{
			vN("pvinverter/20/Ac/Power", victronREADMEPVPower),
			vN("pvinverter/20/Ac/Power", victronInvalid),
			vN("pvinverter/20/Ac/Energy/Forward", `{"value": 12.5}`),
		}, []Update{
			vUp("pvinverter-20", &Measurement{Power: vW(936)}),
			vUp("pvinverter-20", &Measurement{Forward: vLife(12_500_000)}),
		}},
		{"a counter with an exponent", []mqttMsg{vN("pvinverter/20/Ac/Energy/Forward", `{"value": 1.5e3}`)},
			[]Update{vUp("pvinverter-20", &Measurement{Forward: vLife(1_500_000_000)})}},
		{"solar charger: Yield/System is the lifetime counter", []mqttMsg{
			vN("solarcharger/279/History/Daily/0/Yield", `{"value": 1.25}`),
			vN("solarcharger/279/Yield/User", `{"value": 300.5}`),
			vN("solarcharger/279/Yield/System", `{"value": 345.67}`),
			vN("solarcharger/279/Yield/Power", `{"value": 410}`),
		}, []Update{
			vUp("solarcharger-279", &Measurement{Forward: vLife(345_670_000)}),
			vUp("solarcharger-279", &Measurement{Power: vW(410), Forward: vLife(345_670_000)}),
		}},
		{"other services and unused paths are ignored", []mqttMsg{
			vN("tank/20/Level", `{"value": 50}`),
			vN("hub4/0/Overrides/Setpoint", `{"value": 50}`),
			vN("switch/sw0/State", `{"value": 1}`),
			vN("battery/512/ProductName", `{"value": "SmartShunt 500A/50mV"}`),
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeAll(t, vAdapter(t), tt.msgs)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(tt.want))
			}
		})
	}
}

func TestVictronHASettingsFixture(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "victron", PortalID: "123"})
	if got := decodeAll(t, a, []mqttMsg{{"N/123/settings/0/Settings/CGwacs/AcPowerSetPoint", victronHASetpointFixture}}); got != nil {
		t.Errorf("grid setpoint setting: got %s, want ignored", fmtUpdates(got))
	}
}

// TestVictronFallbackCounters: a fallback counter (per-phase sums, the
// user yield, the daily yield) waits for a full publish to prove the
// preferred one absent, so arrival order never switches counters.
func TestVictronFallbackCounters(t *testing.T) {
	t.Run("phase sums after a full publish without a total", func(t *testing.T) {
		a := vAdapter(t)
		got := decodeAll(t, a, []mqttMsg{
			vN("pvinverter/20/Ac/Power", `{"value": 936}`),
			vN("pvinverter/20/Ac/L1/Energy/Forward", `{"value": 10}`), // not used yet: no new reading
			vN("pvinverter/20/Ac/L2/Energy/Forward", `{"value": 20.5}`),
			vFull(),
			vN("pvinverter/20/Ac/Power", `{"value": 940}`),
			vN("pvinverter/20/Ac/L3/Energy/Forward", `{"value": 5}`),
		})
		want := []Update{
			vUp("pvinverter-20", &Measurement{Power: vW(936)}),
			vUp("pvinverter-20", &Measurement{Power: vW(940), Forward: vLife(30_500_000)}),
			vUp("pvinverter-20", &Measurement{Power: vW(940), Forward: vLife(35_500_000)}),
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(want))
		}
	})
	t.Run("a total arriving after the phases wins, also after the device returns", func(t *testing.T) {
		a := vAdapter(t)
		got := decodeAll(t, a, []mqttMsg{
			vN("grid/30/Ac/L1/Energy/Forward", `{"value": 10}`),
			vN("grid/30/Ac/Energy/Forward", `{"value": 30}`),
			vFull(),
			vN("grid/30/Ac/Power", `{"value": 5}`),
			vN("grid/30/Ac/L1/Energy/Forward", `{"value": 11}`), // not the source
			vN("grid/30/Ac/Power", ""),                          // gone
			vN("grid/30/Ac/L1/Energy/Forward", `{"value": 11}`), // back, phases first
			vFull(),
			vN("grid/30/Ac/Power", `{"value": 6}`),
		})
		want := []Update{
			vUp("grid-30", &Measurement{Forward: vLife(30_000_000)}),
			vUp("grid-30", &Measurement{Power: vW(5), Forward: vLife(30_000_000)}),
			vOffline("grid-30"),
			vUp("grid-30", &Measurement{Power: vW(6)}),
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(want))
		}
	})
	t.Run("solar charger: user yield, else daily yield, only once settled", func(t *testing.T) {
		a := vAdapter(t)
		got := decodeAll(t, a, []mqttMsg{
			vN("solarcharger/279/History/Daily/0/Yield", `{"value": 1.25}`),
			vN("solarcharger/279/Yield/Power", `{"value": 410}`),
			vFull(),
			vN("solarcharger/279/Yield/Power", `{"value": 420}`),
			vN("solarcharger/279/History/Daily/0/Yield", `{"value": 1.3}`),
		})
		want := []Update{
			vUp("solarcharger-279", &Measurement{Power: vW(410)}),
			vUp("solarcharger-279", &Measurement{Power: vW(420), Forward: vDaily(1_250_000)}),
			vUp("solarcharger-279", &Measurement{Power: vW(420), Forward: vDaily(1_300_000)}),
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("daily only:\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(want))
		}
		got = decodeAll(t, a, []mqttMsg{
			vN("solarcharger/279/Yield/User", `{"value": 300.5}`),
			vN("solarcharger/279/History/Daily/0/Yield", `{"value": 1.4}`), // no longer the source
		})
		want = []Update{vUp("solarcharger-279", &Measurement{Power: vW(420), Forward: vLife(300_500_000)})}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("user yield appears:\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(want))
		}
	})
}

func TestVictronDeviceLeft(t *testing.T) {
	a := vAdapter(t)
	got := decodeAll(t, a, []mqttMsg{
		vN("pvinverter/20/Ac/Power", victronREADMEPVPower),
		vN("pvinverter/20/Ac/Energy/Forward", `{"value": 12.5}`),
		vN("pvinverter/20/Ac/Power", ""), // every topic of the device gets a zero-byte payload
		vN("pvinverter/20/Ac/Energy/Forward", ""),
		vN("pvinverter/20/ProductName", ""),
	})
	want := []Update{
		vUp("pvinverter-20", &Measurement{Power: vW(936)}),
		vUp("pvinverter-20", &Measurement{Power: vW(936), Forward: vLife(12_500_000)}),
		vOffline("pvinverter-20"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("device left:\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(want))
	}
	// In the morning it returns: yesterday's values are forgotten.
	got = decodeAll(t, a, []mqttMsg{vN("pvinverter/20/Ac/Power", `{"value": 12}`)})
	if want := []Update{vUp("pvinverter-20", &Measurement{Power: vW(12)})}; !reflect.DeepEqual(got, want) {
		t.Errorf("device back:\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(want))
	}
	// A device never seen before leaving is reported too; services that
	// are no gridmint device are not.
	got = decodeAll(t, a, []mqttMsg{vN("grid/31/Ac/Power", ""), vN("vebus/257/Mode", ""), vN("settings/0/Settings/LEDs/Enable", "")})
	if want := []Update{vOffline("grid-31")}; !reflect.DeepEqual(got, want) {
		t.Errorf("unseen device left:\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(want))
	}
}

func TestVictronRejects(t *testing.T) {
	tests := []struct {
		name, path, payload string
		want                gridmint.Reason
	}{
		{"not JSON", "battery/512/Soc", `{"value":`, gridmint.ReasonMalformed},
		{"binary garbage", "battery/512/Soc", "\x00\xff\x13", gridmint.ReasonMalformed},
		{"not an object", "battery/512/Soc", `53.2`, gridmint.ReasonWrongType},
		{"no value", "battery/512/Soc", `{"max":100}`, gridmint.ReasonWrongType},
		{"string value", "battery/512/Dc/0/Power", `{"value": "69.4"}`, gridmint.ReasonWrongType},
		{"boolean value", "grid/30/Ac/Power", `{"value": true}`, gridmint.ReasonWrongType},
		{"array value", "grid/30/Ac/Power", `{"value": [1, 2]}`, gridmint.ReasonWrongType},
		{"bare nan", "grid/30/Ac/Power", `{"value": nan}`, gridmint.ReasonNotFinite},
		{"bare -inf", "grid/30/Ac/Energy/Forward", `{"value": -inf}`, gridmint.ReasonNotFinite},
		{"power as a hex float", "grid/30/Ac/Power", `{"value": 0x10}`, gridmint.ReasonMalformed},
		{"absurd power", "grid/30/Ac/Power", `{"value": 2e6}`, gridmint.ReasonAbsurd},
		{"huge exponent power", "grid/30/Ac/Power", `{"value": 1e999}`, gridmint.ReasonAbsurd},
		{"state of charge above 100", "battery/512/Soc", `{"value": 100.5}`, gridmint.ReasonAbsurd},
		{"negative state of charge", "battery/512/Soc", `{"value": -1}`, gridmint.ReasonAbsurd},
		{"negative counter", "grid/30/Ac/Energy/Reverse", `{"value": -0.5}`, gridmint.ReasonNegative},
		{"counter beyond 1 GWh", "battery/512/History/ChargedEnergy", `{"value": 1000001}`, gridmint.ReasonAbsurd},
		{"counter beyond int64 mWh", "pvinverter/20/Ac/Energy/Forward", `{"value": 1e20}`, gridmint.ReasonAbsurd},
		{"oversized payload", "grid/30/Ac/Power", `{"value": 1, "pad": "` + strings.Repeat("x", 2000) + `"}`, gridmint.ReasonMalformed},
		{"VebusInstance is a string", "system/0/VebusInstance", `{"value": "257"}`, gridmint.ReasonWrongType},
		{"VebusInstance is not JSON", "system/0/VebusInstance", `257}`, gridmint.ReasonMalformed},
		{"unknown top-level topic", "whatever", `{"value": 1}`, gridmint.ReasonUnknownTopic},
		{"service without instance", "battery", `{"value": 1}`, gridmint.ReasonUnknownTopic},
		{"instance without path", "battery/512", `{"value": 1}`, gridmint.ReasonUnknownTopic},
		{"empty service", "/512/Soc", `{"value": 1}`, gridmint.ReasonUnknownTopic},
		{"empty path level", "battery/512/Dc//Power", `{"value": 1}`, gridmint.ReasonUnknownTopic},
		{"trailing slash", "battery/512/Soc/", `{"value": 1}`, gridmint.ReasonUnknownTopic},
		{"instance not a number", "battery/main/Soc", `{"value": 1}`, gridmint.ReasonUnknownTopic},
		{"instance with a leading zero", "battery/0512/Soc", `{"value": 1}`, gridmint.ReasonUnknownTopic},
		{"instance beyond uint32", "battery/4294967296/Soc", `{"value": 1}`, gridmint.ReasonUnknownTopic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := vN(tt.path, tt.payload)
			ups, err := vAdapter(t).Decode(m.topic, []byte(m.payload))
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%s, %q) = %s, %v; want a DecodeError %q", m.topic, tt.payload, fmtUpdates(ups), err, tt.want)
			}
			if de.Reason != tt.want {
				t.Errorf("Decode(%s, %q) reason = %q (%v), want %q", m.topic, tt.payload, de.Reason, err, tt.want)
			}
			if service, instance, _ := strings.Cut(tt.path, "/"); victronServices[service] != nil && de.Reason != gridmint.ReasonUnknownTopic {
				if inst, _, _ := strings.Cut(instance, "/"); de.Serial != service+"-"+inst {
					t.Errorf("error serial %q, want %s-%s", de.Serial, service, inst)
				}
			}
		})
	}
	// Outside the portal's notifications.
	for _, topic := range []string{"N/c0619ab12340/battery/512/Soc", "W/" + victronPortal + "/battery/512/Soc", "N/" + victronPortal} {
		if _, err := vAdapter(t).Decode(topic, []byte(`{"value": 1}`)); reasonOfErr(err) != gridmint.ReasonUnknownTopic {
			t.Errorf("Decode(%s) error %v, want %s", topic, err, gridmint.ReasonUnknownTopic)
		}
	}
}

func reasonOfErr(err error) gridmint.Reason {
	var de *DecodeError
	if errors.As(err, &de) {
		return de.Reason
	}
	return ""
}

func TestVictronDeviceCap(t *testing.T) {
	a := vAdapter(t)
	for i := range maxVictronDevices {
		if _, err := a.Decode(fmt.Sprintf("N/%s/grid/%d/Ac/Power", victronPortal, i), []byte(`{"value": 1}`)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := a.Decode(fmt.Sprintf("N/%s/grid/%d/Ac/Power", victronPortal, maxVictronDevices), []byte(`{"value": 1}`))
	if reasonOfErr(err) != gridmint.ReasonUnknownDevice {
		t.Errorf("device %d: error %v, want %s", maxVictronDevices+1, err, gridmint.ReasonUnknownDevice)
	}
	if ups, err := a.Decode(fmt.Sprintf("N/%s/grid/0/Ac/Power", victronPortal), []byte(`{"value": 2}`)); err != nil || len(ups) != 1 {
		t.Errorf("a known device after the cap: %s, %v", fmtUpdates(ups), err)
	}
}

func TestVictronConfig(t *testing.T) {
	a := vAdapter(t)
	if got, want := a.Subscriptions(), []string{"N/" + victronPortal + "/#"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Subscriptions() = %q, want %q", got, want)
	}
	_, err := NewAdapter(AdapterConfig{Dialect: "victron"})
	if gridmint.ErrorCode(err) != gridmint.EInvalid || !strings.Contains(err.Error(), "portal_id") {
		t.Errorf("no portal ID: error %v, want invalid naming portal_id", err)
	}
	for _, cfg := range []AdapterConfig{
		{PortalID: "c0619ab1234g"}, {PortalID: "c0619ab1234f/#"}, {PortalID: "+"},
		{PortalID: victronPortal, BaseTopic: "N/"}, {PortalID: victronPortal, Kind: gridmint.KindMeter},
	} {
		cfg.Dialect = "victron"
		if _, err := NewAdapter(cfg); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("NewAdapter(%+v): error %v, want invalid", cfg, err)
		}
	}
	for _, s := range []string{"battery-512", "grid-30", "pvinverter-20", "solarcharger-279"} {
		if err := CheckSerial(a, s); err != nil {
			t.Errorf("CheckSerial(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"", "battery", "battery-", "vebus-257", "battery-x", "battery-512/1", "settings-0"} {
		if err := CheckSerial(a, s); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("CheckSerial(%q) = %v, want invalid", s, err)
		}
	}
}

func TestVictronKeepAlive(t *testing.T) {
	a := vAdapter(t)
	k := a.(KeepAliver)
	if iv := k.KeepAliveInterval(); iv <= 0 || iv > 30e9 {
		t.Errorf("interval %v, want at most 30 s (the GX stops after 60 s)", iv)
	}
	payload := func(step string) string {
		t.Helper()
		cmds := k.KeepAlive()
		if len(cmds) != 1 {
			t.Fatalf("%s: %d keep-alive commands, want 1", step, len(cmds))
		}
		c := cmds[0]
		if c.Topic != "R/"+victronPortal+"/keepalive" || c.Confirm != nil || c.QoS > 1 {
			t.Errorf("%s: keep-alive %s QoS %d confirm %v", step, c.Topic, c.QoS, c.Confirm != nil)
		}
		return string(c.Payload)
	}
	const suppress = `{ "keepalive-options" : ["suppress-republish"] }`
	if p := payload("first"); p != "" {
		t.Errorf("first keep-alive %q, want empty (full republish: nothing is retained)", p)
	}
	decodeAll(t, a, []mqttMsg{vN("grid/30/Ac/Power", `{"value": 1}`)})
	if p := payload("before any full publish completed"); p != "" {
		t.Errorf("keep-alive %q, want empty until a full publish completed", p)
	}
	decodeAll(t, a, []mqttMsg{vFull()})
	if p := payload("after the full publish"); p != suppress {
		t.Errorf("keep-alive %q, want %q", p, suppress)
	}
	if p := payload("no traffic since"); p != "" {
		t.Errorf("keep-alive after silence %q, want empty (the GX forgot us)", p)
	}
	decodeAll(t, a, []mqttMsg{vN("heartbeat", `{"value":1718860914}`)})
	if p := payload("heartbeat only"); p != suppress {
		t.Errorf("keep-alive %q, want %q", p, suppress)
	}
	decodeAll(t, a, []mqttMsg{vN("pvinverter/20/Ac/Power", `{"value": 5}`)}) // a new device
	if p := payload("device appeared"); p != "" {
		t.Errorf("keep-alive after a device appeared %q, want empty", p)
	}
	decodeAll(t, a, []mqttMsg{vN("heartbeat", `{"value":1718860917}`)})
	if p := payload("settled again"); p != suppress {
		t.Errorf("keep-alive %q, want %q", p, suppress)
	}
}

func TestVictronBatteryCommand(t *testing.T) {
	a := vAdapter(t)
	bc := a.(BatteryController)
	if _, err := bc.BatteryCommand("battery-512", 200); gridmint.ErrorCode(err) != gridmint.EUnavailable || !strings.Contains(err.Error(), "vebus") {
		t.Errorf("before the vebus instance is known: error %v, want unavailable naming vebus", err)
	}
	decodeAll(t, a, []mqttMsg{vN("vebus/257/Hub4/L1/AcPowerSetpoint", `{"value": 0}`), vN("battery/512/Soc", `{"value": 50}`)})
	tests := []struct {
		power gridmint.W
		body  string
	}{
		{200, victronREADMEWrite}, // discharge 200 W = feed 200 W back: the README's example write
		{-1500.4, `{"value": 1500}`},
		{0, `{"value": 0}`},
		{-0.4, `{"value": 0}`},
		{32767, `{"value": -32767}`},
	}
	for _, tt := range tests {
		c, err := bc.BatteryCommand("battery-512", tt.power)
		if err != nil || c.Topic != "W/"+victronPortal+"/vebus/257/Hub4/L1/AcPowerSetpoint" || string(c.Payload) != tt.body || c.QoS > 1 {
			t.Errorf("BatteryCommand(%v) = %s %q QoS %d, %v; want W/.../vebus/257/Hub4/L1/AcPowerSetpoint %q", tt.power, c.Topic, c.Payload, c.QoS, err, tt.body)
		}
	}
	c, err := bc.BatteryCommand("battery-512", 200)
	if err != nil {
		t.Fatal(err)
	}
	if !covered(a, c.Confirm.Filter) || c.Confirm.Filter != "N/"+victronPortal+"/vebus/257/Hub4/L1/AcPowerSetpoint" {
		t.Errorf("confirmation filter %s", c.Confirm.Filter)
	}
	for _, tt := range []struct {
		payload string
		done    bool
		refused bool
	}{
		{`{"value": -200}`, true, false},
		{`{"value":-199.5}`, true, false},
		{`{"max": 32767, "min": -32768, "value": -201}`, true, false},
		{`{"value": 0}`, false, false}, // the old value, e.g. from a republish
		{`{"value": null}`, false, false},
		{`garbage`, false, false},
		{"", true, true}, // the Multi left the D-Bus
	} {
		done, err := c.Confirm.Match(c.Confirm.Filter, []byte(tt.payload))
		if done != tt.done || (err != nil) != tt.refused {
			t.Errorf("Match(%q) = %v, %v; want done=%v refused=%v", tt.payload, done, err, tt.done, tt.refused)
		}
	}

	// The GX's own choice wins over traffic; the instance is forgotten when
	// its Multi leaves the D-Bus.
	decodeAll(t, a, []mqttMsg{vN("system/0/VebusInstance", `{"value": 276}`)})
	if c, _ := bc.BatteryCommand("battery-512", 1); !strings.Contains(c.Topic, "/vebus/276/") {
		t.Errorf("after system/0/VebusInstance 276: topic %s", c.Topic)
	}
	decodeAll(t, a, []mqttMsg{vN("system/0/VebusInstance", victronInvalid), vN("vebus/257/Hub4/L1/AcPowerSetpoint", "")})
	if _, err := bc.BatteryCommand("battery-512", 1); gridmint.ErrorCode(err) != gridmint.EUnavailable {
		t.Errorf("after the vebus left: error %v, want unavailable", err)
	}

	decodeAll(t, a, []mqttMsg{vN("vebus/257/Mode", `{"value": 3}`)})
	for _, bad := range []struct {
		serial string
		power  gridmint.W
	}{{"grid-30", 1}, {"battery-x", 1}, {"", 1}, {"battery-512", gridmint.W(math.NaN())}, {"battery-512", gridmint.W(math.Inf(1))}, {"battery-512", 40000}, {"battery-512", -32768}} {
		if _, err := bc.BatteryCommand(bad.serial, bad.power); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("BatteryCommand(%q, %v): error %v, want invalid", bad.serial, bad.power, err)
		}
	}
}

// TestVictronCommandsDuringDecode runs commands and keep-alives while
// Decode learns the vebus instance (go test -race).
func TestVictronCommandsDuringDecode(t *testing.T) {
	a := vAdapter(t)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 200 {
			_, _ = a.Decode(fmt.Sprintf("N/%s/vebus/%d/Mode", victronPortal, 257+i%2), []byte(`{"value": 3}`))
			_, _ = a.Decode("N/"+victronPortal+"/full_publish_completed", nil)
		}
	}()
	go func() {
		defer wg.Done()
		for range 200 {
			if c, err := a.(BatteryController).BatteryCommand("battery-512", 100); err == nil {
				_, _ = c.Confirm.Match(c.Confirm.Filter, []byte(`{"value": -100}`))
			}
			a.(KeepAliver).KeepAlive()
		}
	}()
	wg.Wait()
}

// TestVictronESSThroughIngest: a full publish through Ingest makes one
// device per service with its kind and capabilities, and no rejection.
func TestVictronESSThroughIngest(t *testing.T) {
	in := newTestIngest(t, IngestConfig{Adapters: []Adapter{vAdapter(t)}, Discover: true})
	o := in.Process(msgsAt(t0, victronESSPublish()...))
	for _, r := range o.Rejections {
		t.Errorf("%s rejected: %s %s", r.Topic, r.Reason, r.Detail)
	}
	kinds := map[string]gridmint.DeviceKind{}
	for _, d := range o.NewDevices {
		kinds[d.Serial] = d.Kind
		battery := d.Kind == gridmint.KindBattery
		if has := slices.Contains(d.Capabilities, gridmint.CapBatteryCtl); has != battery {
			t.Errorf("%s: capabilities %v; battery_ctl only on batteries", d.Serial, d.Capabilities)
		}
	}
	want := map[string]gridmint.DeviceKind{"battery-512": gridmint.KindBattery, "grid-30": gridmint.KindMeter, "solarcharger-279": gridmint.KindPVInverter}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("new devices %v, want %v", kinds, want)
	}
}

func init() {
	registerConformance("victron", func() conformance {
		return conformance{
			config: AdapterConfig{PortalID: victronPortal},
			decode: []decodeFixture{
				{"README notification samples", []mqttMsg{
					vN("pvinverter/20/Ac/Power", victronREADMEPVPower),
					vN("solarcharger/279/Dc/0/Voltage", victronREADMEVoltage),
					vN("settings/0/Settings/LEDs/Enable", victronREADMESetting),
					vFull(),
				}, []Update{vUp("pvinverter-20", &Measurement{Power: vW(936)})}},
				{"full publish of a small ESS", victronESSPublish(), victronESSWant()},
			},
			offline:       []mqttMsg{vN("pvinverter/20/Ac/Power", victronREADMEPVPower), vN("pvinverter/20/Ac/Power", "")},
			offlineSerial: "pvinverter-20",
			commands: []commandFixture{{
				serial:      "battery-512",
				setpoint:    gridmint.Setpoint{Kind: gridmint.SetpointBatteryPower, Value: 200, Origin: gridmint.OriginMarket},
				prime:       []mqttMsg{vN("vebus/257/Hub4/L1/AcPowerSetpoint", `{"value": 0}`), vN("battery/512/Soc", `{"value": 50}`)},
				wantTopic:   "W/" + victronPortal + "/vebus/257/Hub4/L1/AcPowerSetpoint",
				wantPayload: victronREADMEWrite,
				confirm:     vN("vebus/257/Hub4/L1/AcPowerSetpoint", `{"value": -200}`),
				refuse:      vN("vebus/257/Hub4/L1/AcPowerSetpoint", ""),
				other:       vN("vebus/257/Hub4/L1/AcPowerSetpoint", `{"value": 0}`),
			}},
			keepAliveTopic: "R/" + victronPortal + "/keepalive",
		}
	})
}

func FuzzVictronDecode(f *testing.F) {
	prefix := "N/" + victronPortal + "/"
	for _, m := range victronESSPublish() {
		f.Add(m.topic[len(prefix):], []byte(m.payload))
	}
	for _, s := range []string{victronInvalid, "", `{"value": nan}`, `{"value": "x"}`, victronFullPublishWithEcho} {
		f.Add("grid/30/Ac/L2/Energy/Forward", []byte(s))
	}
	f.Add("solarcharger/279/History/Daily/0/Yield", []byte(`{"value": 1.25}`))
	f.Add("system/0/VebusInstance", []byte(`{"value": 257}`))
	f.Fuzz(func(t *testing.T, path string, payload []byte) {
		a := vAdapter(t)
		// Settle a few devices so fallback sources are reachable.
		decodeAll(t, a, []mqttMsg{
			vN("grid/30/Ac/L1/Energy/Forward", `{"value": 1}`), vN("solarcharger/279/Yield/Power", `{"value": 1}`),
			vN("battery/512/Soc", `{"value": 50}`), vFull(),
		})
		ups, err := a.Decode(prefix+path, payload)
		checkDecoded(t, ups, err)
		for _, u := range ups {
			if err := CheckSerial(a, u.Serial); err != nil {
				t.Fatalf("update for a serial the adapter itself refuses: %v", err)
			}
		}
	})
}

// BenchmarkDecodeVictron measures the decoder on a three-phase grid meter
// as dbus-flashmq publishes it (total and phase powers, both counters):
// readings/s.
func BenchmarkDecodeVictron(b *testing.B) {
	a := vAdapter(b)
	cycles := make([][]mqttMsg, 64)
	for i := range cycles {
		p := fmt.Sprintf(`{"value": %d.%d}`, 1000+i, i%10)
		cycles[i] = []mqttMsg{
			vN("grid/30/Ac/L1/Power", p), vN("grid/30/Ac/L2/Power", p), vN("grid/30/Ac/L3/Power", p),
			vN("grid/30/Ac/Power", p),
			vN("grid/30/Ac/L1/Voltage", `{"value": 230.1000061035156}`),
			vN("grid/30/Ac/Energy/Forward", fmt.Sprintf(`{"value": 4321.%03d}`, i)),
			vN("grid/30/Ac/Energy/Reverse", `{"value": 987.654321}`),
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	readings := 0
	for i := 0; b.Loop(); i++ {
		for _, m := range cycles[i%len(cycles)] {
			ups, err := a.Decode(m.topic, []byte(m.payload))
			if err != nil {
				b.Fatal(err)
			}
			readings += len(ups)
		}
	}
	b.ReportMetric(float64(readings)/b.Elapsed().Seconds(), "readings/s")
}

// TestVictronESSSetpointOnlyForTheActiveBattery: the ESS setpoint is one
// per system, so with two battery services only the active one may take it
// (else a second battery would sidestep the first's limits and opt-out).
func TestVictronESSSetpointOnlyForTheActiveBattery(t *testing.T) {
	a := vAdapter(t)
	bc := a.(BatteryController)
	decodeAll(t, a, []mqttMsg{
		vN("vebus/257/Hub4/L1/AcPowerSetpoint", `{"value": 0}`),
		vN("battery/512/Soc", `{"value": 50}`),
		vN("battery/279/Soc", `{"value": 60}`),
	})
	if _, err := bc.BatteryCommand("battery-279", 3000); gridmint.ErrorCode(err) != gridmint.EUnavailable {
		t.Errorf("two batteries, none named active: %v, want unavailable", err)
	}
	decodeAll(t, a, []mqttMsg{vN("system/0/ActiveBatteryService", `{"value": "com.victronenergy.battery/512"}`)})
	if _, err := bc.BatteryCommand("battery-279", 3000); gridmint.ErrorCode(err) != gridmint.EInvalid || !strings.Contains(err.Error(), "battery-512") {
		t.Errorf("to the inactive battery: %v, want invalid naming battery-512", err)
	}
	if _, err := bc.BatteryCommand("battery-512", 3000); err != nil {
		t.Errorf("to the active battery: %v", err)
	}
}
