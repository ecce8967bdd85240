package market

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/api"
)

// The homeowner's policy edits (PUT /api/v1/market/policy/{device}):
// kept in the store, they win over the configuration's market.defaults
// and market.devices field by field, survive a restart, and apply from
// the next offer on.

// ReasonPolicyInvalid: a policy edit the configuration's rules refuse
// (Policy.check); nothing is kept.
const ReasonPolicyInvalid gridmint.FlexReason = "policy_invalid"

// policyPrefix keys the edits in the settlement namespace:
// mp/defaults and mp/<device id>.
const policyPrefix = "mp/"

// policyDefaults is the edit of every device's defaults.
const policyDefaults = "defaults"

// Policy value sources, as GET /api/v1/market/policy names them.
const (
	SourceUnset          = "unset"           // neither the configuration nor an edit sets it
	SourceConfigDefaults = "config.defaults" // market.defaults
	SourceConfigDevice   = "config.device"   // market.devices[<id>]
	SourceAPIDefaults    = "api.defaults"    // PUT /api/v1/market/policy/defaults
	SourceAPIDevice      = "api.device"      // PUT /api/v1/market/policy/<id>
)

// policyOverrides are the edits by device id (policyDefaults for the
// defaults), and when each device's last changed.
type policyOverrides struct {
	mu      sync.RWMutex
	edits   map[string]api.PolicyOverride
	changed map[gridmint.DeviceID]time.Time // "": the defaults
}

func (s *Service) loadPolicy() error {
	s.policy.edits = map[string]api.PolicyOverride{}
	s.policy.changed = map[gridmint.DeviceID]time.Time{}
	return s.d.Store.ScanSettle(policyPrefix, func(k string, v []byte) error {
		var o api.PolicyOverride
		if err := json.Unmarshal(v, &o); err != nil {
			return fmt.Errorf("market: stored policy %s: %w", k, err)
		}
		s.policy.edits[strings.TrimPrefix(k, policyPrefix)] = o
		return nil
	})
}

// overlay sets p's fields that o sets, and names src as their source.
func overlay(p *Policy, src map[string]string, o api.PolicyOverride, name string) {
	if o.MinPrice != nil {
		p.MinPrice, src["min_price"] = *o.MinPrice, name
	}
	if o.ReserveSoCPct != nil {
		p.ReserveSoC, src["reserve_soc_pct"] = *o.ReserveSoCPct, name
	}
	if o.MaxSoCPct != nil {
		p.MaxSoC, src["max_soc_pct"] = *o.MaxSoCPct, name
	}
	if o.Departure != nil {
		p.Departure, src["departure"] = *o.Departure, name
	}
	if o.EnergyNeededWh != nil {
		p.EnergyNeeded, src["energy_needed_wh"] = *o.EnergyNeededWh, name
	}
	if o.OptOut != nil {
		p.OptOut, src["opt_out"] = *o.OptOut, name
	}
}

// configLayer sets p's fields that a configuration policy sets (non-zero;
// opt_out true) and names src as their source.
func configLayer(p *Policy, src map[string]string, c Policy, name string) {
	if c.MinPrice != 0 {
		p.MinPrice, src["min_price"] = c.MinPrice, name
	}
	if c.ReserveSoC != 0 {
		p.ReserveSoC, src["reserve_soc_pct"] = c.ReserveSoC, name
	}
	if c.MaxSoC != 0 {
		p.MaxSoC, src["max_soc_pct"] = c.MaxSoC, name
	}
	if c.Departure != "" {
		p.Departure, src["departure"] = c.Departure, name
	}
	if c.EnergyNeeded != 0 {
		p.EnergyNeeded, src["energy_needed_wh"] = c.EnergyNeeded, name
	}
	if c.OptOut {
		p.OptOut, src["opt_out"] = true, name
	}
}

// policyWith is device id's policy ("" the defaults) under edits, and
// each field's source: market.defaults, then market.devices[id], then
// the defaults' edit, then the device's edit, each later one winning for
// the fields it sets.
func (s *Service) policyWith(id gridmint.DeviceID, edits map[string]api.PolicyOverride) (Policy, map[string]string) {
	src := map[string]string{}
	for _, f := range policyFields {
		src[f] = SourceUnset
	}
	var p Policy
	configLayer(&p, src, s.cfg.Defaults, SourceConfigDefaults)
	if id != "" {
		if d, ok := s.cfg.Devices[string(id)]; ok {
			configLayer(&p, src, d, SourceConfigDevice)
		}
	}
	if o, ok := edits[policyDefaults]; ok {
		overlay(&p, src, o, SourceAPIDefaults)
	}
	if id != "" {
		if o, ok := edits[string(id)]; ok {
			overlay(&p, src, o, SourceAPIDevice)
		}
	}
	return p, src
}

var policyFields = []string{"min_price", "reserve_soc_pct", "max_soc_pct", "departure", "energy_needed_wh", "opt_out"}

// policyFor is the policy the market applies to device id now.
func (s *Service) policyFor(id gridmint.DeviceID) Policy {
	s.policy.mu.RLock()
	defer s.policy.mu.RUnlock()
	p, _ := s.policyWith(id, s.policy.edits)
	return p
}

// policyChanged is when device id's policy (or the defaults') was last
// edited; zero if never since start.
func (s *Service) policyChanged(id gridmint.DeviceID) time.Time {
	s.policy.mu.RLock()
	defer s.policy.mu.RUnlock()
	a, b := s.policy.changed[id], s.policy.changed[""]
	if a.After(b) {
		return a
	}
	return b
}

// flexibleDevices are the node's devices the market offers.
func (s *Service) flexibleDevices() []api.PolicyItem {
	var out []api.PolicyItem
	for _, d := range s.d.Devices() {
		if flexible(d.Kind) {
			out = append(out, api.PolicyItem{Device: d.ID, Kind: d.Kind, OptOut: d.Device.OptOut})
		}
	}
	slices.SortFunc(out, func(a, b api.PolicyItem) int { return strings.Compare(string(a.Device), string(b.Device)) })
	return out
}

func policyView(p Policy) api.PolicyView {
	return api.PolicyView{MinPrice: p.MinPrice, ReserveSoCPct: p.ReserveSoC, MaxSoCPct: p.MaxSoC, Departure: p.Departure, EnergyNeededWh: p.EnergyNeeded, OptOut: p.OptOut}
}

// OfferPolicy is GET /api/v1/market/policy: the consent, the defaults
// and each flexible device's policy as the market applies it, with each
// value's source.
func (s *Service) OfferPolicy() api.OfferPolicy {
	devs := s.flexibleDevices()
	s.policy.mu.RLock()
	defer s.policy.mu.RUnlock()
	p, src := s.policyWith("", s.policy.edits)
	out := api.OfferPolicy{Offer: s.cfg.Offer, Defaults: policyView(p), DefaultsSources: src, Devices: []api.PolicyItem{}}
	for _, d := range devs {
		p, src := s.policyWith(d.Device, s.policy.edits)
		d.Policy, d.Sources = policyView(p), src
		// The registry's opt-out (PATCH /api/v1/devices/<id>) counts too.
		d.OptOut = d.OptOut || p.OptOut
		out.Devices = append(out.Devices, d)
	}
	return out
}

// SetPolicy implements PUT /api/v1/market/policy/{device} (device
// "defaults" for every device's defaults): o replaces the device's
// edit (an empty o removes it) once the policy it makes, and for the
// defaults every device's, passes the configuration's checks. A refusal
// is an *api.PolicyRefusal naming the field.
func (s *Service) SetPolicy(_ context.Context, device string, o api.PolicyOverride) (api.OfferPolicy, error) {
	var targets []gridmint.DeviceID
	devs := s.flexibleDevices()
	if device == policyDefaults {
		targets = append(targets, "")
		for _, d := range devs {
			targets = append(targets, d.Device)
		}
	} else {
		found := slices.ContainsFunc(devs, func(d api.PolicyItem) bool { return string(d.Device) == device })
		if !found {
			s.refuse(gridmint.FlexUnknownDevice)
			return api.OfferPolicy{}, &api.PolicyRefusal{Reason: string(gridmint.FlexUnknownDevice), Code: gridmint.ENotFound,
				Message: fmt.Sprintf("%s: %q is not a battery, EV charger or PV inverter of this node (or \"defaults\")", gridmint.FlexUnknownDevice, device)}
		}
		targets = append(targets, gridmint.DeviceID(device))
	}
	s.policy.mu.Lock()
	edits := make(map[string]api.PolicyOverride, len(s.policy.edits)+1)
	for k, v := range s.policy.edits {
		edits[k] = v
	}
	if o.Empty() {
		delete(edits, device)
	} else {
		edits[device] = o
	}
	for _, id := range targets {
		p, _ := s.policyWith(id, edits)
		if field, err := checkPolicy(p); err != nil {
			s.policy.mu.Unlock()
			s.refuse(ReasonPolicyInvalid)
			what := "the defaults"
			if id != "" {
				what = string(id)
			}
			msg := err.Error()
			for _, pre := range []string{"policy: ", "policy.", "flex policy: "} {
				msg = strings.TrimPrefix(msg, pre)
			}
			if !strings.HasPrefix(msg, field) {
				msg = field + ": " + msg
			}
			return api.OfferPolicy{}, &api.PolicyRefusal{Reason: string(ReasonPolicyInvalid), Code: gridmint.EInvalid, Field: field,
				Message: fmt.Sprintf("%s (for %s)", msg, what)}
		}
	}
	var err error
	if o.Empty() {
		err = s.d.Store.DeleteSettle([]string{policyPrefix + device})
	} else {
		var v []byte
		if v, err = json.Marshal(o); err == nil {
			err = s.d.Store.PutSettle(policyPrefix+device, v)
		}
	}
	if err != nil {
		s.policy.mu.Unlock()
		return api.OfferPolicy{}, fmt.Errorf("market: keeping the policy: %w", err)
	}
	s.policy.edits = edits
	id := gridmint.DeviceID(device)
	if device == policyDefaults {
		id = ""
	}
	s.policy.changed[id] = s.d.Clock.Now()
	s.policy.mu.Unlock()
	s.log.Info("market: policy edited", "device", device, "policy", o)
	return s.OfferPolicy(), nil
}

// checkPolicy is Policy.check with the field at fault, in the API's
// names: the form shows the message next to it.
func checkPolicy(p Policy) (string, error) {
	err := p.check("policy")
	if err == nil {
		return "", nil
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "below reserve_soc_pct"):
		return "reserve_soc_pct", err // the homeowner moves the reserve, not the ceiling
	case strings.Contains(msg, ".departure"):
		return "departure", err
	case strings.Contains(msg, "energy_needed_wh"):
		return "energy_needed_wh", err
	}
	for _, f := range policyFields {
		if strings.Contains(msg, f) {
			return f, err
		}
	}
	return "", err
}
