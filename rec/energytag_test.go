package rec

import (
	"bytes"
	"encoding/csv"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the sample names America/Chicago; do not depend on the host's zone files

	"github.com/gridmint/gridmint"
)

// readSample reads the reference registry's import sample: header and
// its one bundle.
func readSample(t *testing.T) (head, row []string) {
	t.Helper()
	b, err := os.ReadFile("testdata/energytag_gc_registry_test_import.csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("sample: %v, %d records", err, len(recs))
	}
	return recs[0], recs[1]
}

// TestEnergyTagExportMatchesTheRegistrySample exports the claim that the
// sample bundle describes (5,210,000 Wh of solar PV from one device in
// ERCOT, 21:00-22:00 UTC on 21 January 2025, the device's first
// certificates) and compares it with the sample, column by column.
func TestEnergyTagExportMatchesTheRegistrySample(t *testing.T) {
	head, sample := readSample(t)
	if !slices.Equal(head, EnergyTagHeader) {
		t.Fatalf("header\n got %q\nwant %q", EnergyTagHeader, head)
	}
	if len(head) != 25 {
		t.Fatalf("%d columns, want 25", len(head))
	}
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	h := gridmint.HourOf(time.Date(2025, 1, 21, 21, 0, 0, 0, time.UTC))
	p := flat(5_210_000_000 / 12)
	p[11] += 5_210_000_000 - p.Sum()
	c := mkClaim(1, h, 5_500_000, golden, gridmint.QualityOK, p)
	c.Zone = "ERCOT"
	c.CounterStart, c.CounterEnd = 0, 5_210_000_000 // the device's first Wh: ids from 0
	rows, err := EnergyTagRows([]gridmint.Claim{c}, EnergyTagIssuer{
		Prefix: "GC", Country: "United States", Grid: "ERCOT", IssuingBody: "ERCOT", Purpose: "compliance", Local: chicago,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || !slices.Equal(rows[0], head) {
		t.Fatalf("rows %q", rows)
	}
	got := rows[1]
	col := func(name string) int { return slices.Index(head, name) }
	for i, name := range head {
		if name == "issuance_id" {
			continue // our ids name the device by key and the hour in UTC; checked below
		}
		if got[i] != sample[i] {
			t.Errorf("%s = %q, sample %q", name, got[i], sample[i])
		}
	}

	// The meanings behind the columns, from the sample itself:
	// ranges are inclusive, quantity = end − start + 1, in Wh (face value 1).
	q, _ := strconv.Atoi(sample[col("bundle_quantity")])
	s, _ := strconv.Atoi(sample[col("certificate_bundle_id_range_start")])
	e, _ := strconv.Atoi(sample[col("certificate_bundle_id_range_end")])
	if q != e-s+1 || sample[col("face_value")] != "1" {
		t.Errorf("sample quantity %d, range %d..%d, face value %s: ranges are not inclusive Wh", q, s, e, sample[col("face_value")])
	}
	// Times are UTC, day first, one hour; the sample's issuance id holds
	// the start in local wall time (21:00 UTC is 15:00 in Chicago), ours
	// in UTC.
	start, err := time.Parse(energyTagTime, sample[col("production_starting_interval")])
	if err != nil || !start.Equal(h.Start()) {
		t.Errorf("sample start %v (%v), want %v", start, err, h.Start())
	}
	if id := sample[col("issuance_id")]; !strings.HasSuffix(id, start.In(chicago).Format("2006-01-02-1504")) {
		t.Errorf("sample issuance id %q does not end in the local start", id)
	}
	wantID := "GC-0100000000000000-2025-01-21-2100"
	if got[col("issuance_id")] != wantID {
		t.Errorf("issuance_id %q, want %q", got[col("issuance_id")], wantID)
	}
}

// TestEnergyTagRangesFollowTheChain: a device's bundles take consecutive
// id ranges, one id per Wh, with the carried remainder accounted for.
func TestEnergyTagRangesFollowTheChain(t *testing.T) {
	cs := chainOf(1, afternoon, 5000, flat(100_100), flat(100_050), gridmint.Profile{}, flat(99_990))
	out, err := EnergyTagCSV(cs, EnergyTagIssuer{Prefix: "GM", Country: "United States", Grid: "WECC", IssuingBody: "gridmint"})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+3 {
		t.Fatalf("%d rows, want the header and three bundles (no bundle for 0 Wh)", len(recs))
	}
	prevEnd := -1
	var total int
	for i, r := range recs[1:] {
		q, _ := strconv.Atoi(r[1])
		s, _ := strconv.Atoi(r[2])
		e, _ := strconv.Atoi(r[3])
		if q != e-s+1 || (prevEnd >= 0 && s != prevEnd+1) {
			t.Errorf("bundle %d: quantity %d, range %d..%d after %d", i, q, s, e, prevEnd)
		}
		prevEnd = e
		total += q
		if r[12] != "UTC" || r[14] != "FALSE" || r[24] != "US-CO" {
			t.Errorf("bundle %d: local_timezone %q, is_storage %q, zone %q", i, r[12], r[14], r[24])
		}
	}
	var wh gridmint.Wh
	for _, c := range cs {
		wh += c.Wh
	}
	if gridmint.Wh(total) != wh {
		t.Errorf("bundles hold %d Wh, the claims %d", total, wh)
	}
	if _, err := EnergyTagRows(cs, EnergyTagIssuer{Prefix: "G-M"}); gridmint.ErrorCode(err) != gridmint.EInvalid {
		t.Errorf("a prefix with a dash: %v, want EInvalid", err)
	}
}
