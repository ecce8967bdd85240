package rec

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/gridmint/gridmint"
)

// EnergyTagHeader is the header of the EnergyTag granular-certificate
// registry's bundle import file (the reference registry's
// tests/data/test_import.csv): 25 columns, one row per bundle.
var EnergyTagHeader = []string{
	"issuance_id", "bundle_quantity", "certificate_bundle_id_range_start", "certificate_bundle_id_range_end",
	"energy_carrier", "energy_source", "face_value", "issuance_post_energy_carrier_conversion",
	"emissions_factor_production_device", "emissions_factor_source", "production_starting_interval",
	"production_ending_interval", "local_timezone", "expiry_datestamp", "is_storage", "storage_efficiency_factor",
	"country_of_issuance", "connected_grid_identification", "issuing_body", "legal_status", "issuance_purpose",
	"support_received", "quality_scheme_reference", "dissemination_level", "issue_market_zone",
}

// energyTagTime is the registry's date-time form: day first, UTC.
const energyTagTime = "02/01/2006 15:04"

// EnergyTagIssuer holds the issuance metadata of exported bundles: who
// issues, where, for what.
type EnergyTagIssuer struct {
	// Prefix starts every issuance_id ("GM"): letters and digits only.
	Prefix string
	// Country (country_of_issuance, e.g. "Germany"), Grid
	// (connected_grid_identification, e.g. "DE-LU") and IssuingBody.
	Country, Grid, IssuingBody string
	// Purpose (issuance_purpose: "voluntary", "compliance", …) and
	// QualityScheme (quality_scheme_reference) may be empty.
	Purpose, QualityScheme string
	// Local is the zone named in local_timezone; nil means UTC. Times in
	// the file are UTC whatever it is.
	Local *time.Location
	// ExpiryYears after production a bundle expires (EnergyTag's
	// reference registry: 2); 0 means 2.
	ExpiryYears int
}

// EnergyTagRows returns the header and one row per issued claim with
// energy, in the registry's import format:
//
//   - issuance_id: Prefix-device-YYYY-MM-DD-HHMM, the device as the first
//     8 bytes of its key in hex and the production start in UTC (the
//     sample file writes local wall time there, which repeats when
//     daylight saving time ends; UTC does not);
//   - bundle_quantity: the claim's Wh; face_value 1 (Wh per certificate);
//   - certificate_bundle_id_range_start/_end: one id per Wh of the
//     device's counter, inclusive, so end = start + quantity − 1; start =
//     ⌊(CounterStart − CarryIn) / 1000⌋, the number of whole Wh of the
//     counter the device's earlier claims covered (plus a constant), so a
//     device's bundles follow each other without overlap;
//   - production_starting/ending_interval: the hour, UTC, DD/MM/YYYY HH:MM;
//     expiry_datestamp ExpiryYears later, same form;
//   - energy_carrier electricity, energy_source from the technology,
//     issuance_post_energy_carrier_conversion and is_storage FALSE;
//   - issue_market_zone: the claim's zone; the issuer's fields as given;
//     emission factors, storage efficiency, legal status, support and
//     dissemination level empty.
//
// Zero-Wh claims make no bundle.
func EnergyTagRows(claims []gridmint.Claim, iss EnergyTagIssuer) ([][]string, error) {
	for _, r := range iss.Prefix {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return nil, gridmint.Errorf(gridmint.EInvalid, "energytag: prefix %q: letters and digits only", iss.Prefix)
		}
	}
	if iss.Prefix == "" {
		return nil, gridmint.Errorf(gridmint.EInvalid, "energytag: empty issuance id prefix")
	}
	years := iss.ExpiryYears
	if years <= 0 {
		years = 2
	}
	tz := "UTC"
	if iss.Local != nil {
		tz = iss.Local.String()
	}
	rows := [][]string{append([]string(nil), EnergyTagHeader...)}
	for _, c := range claims {
		// Issued claims were validated when checked; what the rows need:
		base := c.CounterStart - c.CarryIn
		switch {
		case c.Wh < 0 || !c.Technology.Valid() || c.Zone == "" || c.Hour < 0:
			return nil, gridmint.Errorf(gridmint.EInvalid, "energytag: claim %s: %d Wh, technology %d, zone %q", ID(c), c.Wh, c.Technology, c.Zone)
		case base < 0 || c.CarryIn < 0:
			return nil, gridmint.Errorf(gridmint.EInvalid, "energytag: claim %s: carry %d, counter start %d", ID(c), c.CarryIn, c.CounterStart)
		case c.Wh == 0:
			continue
		}
		first := int64(base / 1000)
		start, end := c.Hour.Start(), c.Hour.End()
		rows = append(rows, []string{
			iss.Prefix + "-" + hex.EncodeToString(c.Device[:8]) + "-" + start.Format("2006-01-02-1504"),
			strconv.FormatInt(int64(c.Wh), 10),
			strconv.FormatInt(first, 10),
			strconv.FormatInt(first+int64(c.Wh)-1, 10),
			"electricity",
			c.Technology.EnergySource(),
			"1",
			"FALSE",
			"", "",
			start.Format(energyTagTime),
			end.Format(energyTagTime),
			tz,
			start.AddDate(years, 0, 0).Format(energyTagTime),
			"FALSE",
			"",
			iss.Country, iss.Grid, iss.IssuingBody,
			"",
			iss.Purpose,
			"",
			iss.QualityScheme,
			"",
			c.Zone,
		})
	}
	return rows, nil
}

// EnergyTagCSV is EnergyTagRows written as CSV.
func EnergyTagCSV(claims []gridmint.Claim, iss EnergyTagIssuer) ([]byte, error) {
	rows, err := EnergyTagRows(claims, iss)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.WriteAll(rows); err != nil {
		return nil, gridmint.Errorf(gridmint.EInternal, "energytag: %v", err)
	}
	return b.Bytes(), nil
}
