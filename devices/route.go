package devices

import (
	"fmt"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/internal/mqtttopic"
)

// One message belongs to one device. The node subscribes once, with one
// handler, and routes each message itself:
//
//   - a message on a command-reply topic (Replier) confirms commands and
//     is not telemetry;
//   - any other goes to one adapter: the first, in configuration order,
//     one of whose filters matches its topic (a mqtttopic.Router: routing
//     costs the same with 10 adapters or 4,000).
//
// So where filters of two adapters overlap, the topics they share belong
// to the adapter listed first (a generic mapping on tele/sml_meter/SENSOR
// listed before the tasmota adapter's tele/+/SENSOR takes that meter, the
// tasmota adapter every other device), and a message is never decoded
// twice. The broker may still send one message twice where two
// subscriptions overlap (MQTT 3.1.1 allows it); both copies go to the same
// adapter and device, whose lifetime counters credit the energy once. The
// node subscribes to mqtttopic.Minimal of the filters, so that a filter
// another one covers adds no second copy.
//
// CheckRoutes refuses, naming both, a filter that this precedence leaves
// without any message: one covered by a filter of another adapter that
// comes first (a reply filter comes before every telemetry filter).

// CheckRoutes applies the rule above to adapters, in configuration order;
// the error names them as adapters[i].
func CheckRoutes(adapters []Adapter) error {
	type owner struct {
		adapter int
		reply   bool
	}
	var r mqtttopic.Router[owner]
	add := func(i int, f string, reply bool) error {
		if err := mqtttopic.ValidFilter(f); err != nil {
			return gridmint.Errorf(gridmint.EInvalid, "adapters[%d] (%s): %v", i, adapters[i].Dialect(), err)
		}
		for _, o := range r.Overlapping(f) {
			j, g := o.Value.adapter, o.Filter
			if j == i || !mqtttopic.Covers(g, f) {
				continue
			}
			kind := func(reply bool) string {
				if reply {
					return "command replies"
				}
				return "telemetry"
			}
			fix := fmt.Sprintf("list adapters[%d] before adapters[%d] or narrow one of them", i, j)
			if o.Value.reply {
				fix = "command replies are taken before telemetry; narrow one of them"
			}
			return gridmint.Errorf(gridmint.EInvalid, "adapters[%d] (%s) %s %q is covered by adapters[%d] (%s) %s %q, which would take every message on it: %s",
				i, adapters[i].Dialect(), kind(reply), f, j, adapters[j].Dialect(), kind(o.Value.reply), g, fix)
		}
		r.Add(f, owner{i, reply})
		return nil
	}
	for i, a := range adapters {
		if rp, ok := a.(Replier); ok {
			for _, f := range rp.ReplySubscriptions() {
				if err := add(i, f, true); err != nil {
					return err
				}
			}
		}
	}
	for i, a := range adapters {
		for _, f := range a.Subscriptions() {
			if err := add(i, f, false); err != nil {
				return err
			}
		}
	}
	return nil
}
