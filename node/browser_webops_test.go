package node

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/market"
)

// TestWebAppRoles' steps for the utility's reserve, the homeowner's
// offer policy and the buyer's supply audit, kept apart from the test's
// other steps.

// postReserve POSTs …/reserve and returns the status and the body.
func postReserve(t *testing.T, base, token, reqID string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"api/v1/market/events/"+reqID+"/reserve", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("POST reserve: %d %s", resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// utilityReserves: on a utility with market.reserve manual the cleared
// request waits with a Reserve button showing the cleared value; the
// button shows progress while the transaction confirms, then the
// reservation turns firm; the event card shows the cleared value, the
// node's FLEX and the transaction. The API refuses a reserve without the
// token, and a second one (already_reserved).
func utilityReserves(t *testing.T, p *page, base, token, reqID string) {
	t.Helper()
	if code, _ := postReserve(t, base, "", reqID); code != http.StatusUnauthorized {
		t.Errorf("reserve without the token: %d, want 401", code)
	}
	btn := fmt.Sprintf(`#ut-events tr[data-request=%q] button[data-reserve-id]`, reqID)
	p.wait("the Reserve button once the request cleared", fmt.Sprintf(`(b => b && b.textContent.startsWith("Reserve ") && b.textContent.endsWith("FLEX"))(document.querySelector(%q))`, btn), 3*time.Minute)
	if got := p.text("#ut-balance"); !strings.Contains(got, "FLEX to reserve with") {
		t.Errorf("balance line %q, want the node's FLEX", got)
	}
	// Record whether the progress ever shows: it may last less than a
	// poll.
	evalString(t, p.ctx, `(() => { window.__reserveBusy = false; new MutationObserver(() => { if (document.querySelector('[data-reserve="busy"]')) window.__reserveBusy = true; })
		.observe(document.getElementById("ut-events"), {subtree: true, childList: true}); return "" })()`)
	p.do("pressing Reserve", chromedp.Click(chromedp.CSS(btn)))
	row := fmt.Sprintf(`document.querySelector('#ut-events tr[data-request=%q]')`, reqID)
	p.wait("the reservation firm after the button", row+` && `+row+`.querySelector(".reservation").textContent.startsWith("firm: burned")`, time.Minute)
	if busy := evalString(t, p.ctx, `String(window.__reserveBusy)`); busy != "true" {
		t.Errorf("no progress shown while the reserve transaction confirmed")
	}
	p.do("opening the event", chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[data-open=%q]`, reqID))))
	p.wait("the event's cleared value, balance and tx", `(v => v && v.textContent.endsWith("FLEX"))(document.getElementById("ut-event-value")) && document.getElementById("ut-event-balance").textContent.endsWith("FLEX") && document.getElementById("ut-event-reservation").textContent.includes(" tx 0x")`, 20*time.Second)
	code, body := postReserve(t, base, token, reqID)
	if code != http.StatusConflict || body["reason"] != string(market.ReasonAlreadyReserved) {
		t.Errorf("second reserve: %d %v, want 409 already_reserved", code, body)
	}
	var ev api.MarketEvent
	getJSON(t, base+"api/v1/market/events/"+reqID, &ev)
	var asked bool
	for _, l := range ev.Log {
		asked = asked || l.Step == "reserve_sent"
	}
	if !asked || ev.Reservation == nil || !ev.Reservation.Firm {
		t.Errorf("event after the button: reservation %+v, log %+v; want firm, reserve_sent logged", ev.Reservation, ev.Log)
	}
}

// homeownerEditsPolicy: the policy form shows the API's refusal beside
// the field (energy needed without a departure, on the battery), then
// saves a battery reserve of 35 %: the policy table says it is saved
// here and the API applies it with its source.
func homeownerEditsPolicy(t *testing.T, p *page, base string, battery gridmint.DeviceID) {
	t.Helper()
	p.wait("the policy form on the battery", fmt.Sprintf(`document.getElementById("pl-device").value === %q && document.getElementById("pl-reserve").value === "20"`, battery), 30*time.Second)
	p.fill("#pl-energy", "5000")
	p.do("saving energy needed without a departure", chromedp.Click(chromedp.CSS(`#policy-form button[type=submit]`)))
	p.wait("the API's refusal beside the energy field", `document.getElementById("pl-energy-error").textContent.includes("departure") && document.getElementById("pl-energy").getAttribute("aria-invalid") === "true"`, 20*time.Second)
	p.fill("#pl-energy", "")
	p.fill("#pl-reserve", "35")
	p.do("saving a 35 % reserve", chromedp.Click(chromedp.CSS(`#policy-form button[type=submit]`)))
	p.wait("the policy saved", `document.querySelector("#policy-form .state").textContent.startsWith("Saved")`, 20*time.Second)
	p.wait("the table showing the saved reserve", fmt.Sprintf(`(r => r && r.querySelector(".reserve").textContent === "35 %% (saved here)")(document.querySelector('#home-policy tr[data-policy=%q]'))`, battery), 20*time.Second)
	if got := p.text("#pl-reserve-src"); got != "saved here" {
		t.Errorf("reserve source beside the field %q, want saved here", got)
	}
	var pol api.OfferPolicy
	getJSON(t, base+"api/v1/market/policy", &pol)
	for _, d := range pol.Devices {
		if d.Device == battery && (d.Policy.ReserveSoCPct != 35 || d.Sources["reserve_soc_pct"] != market.SourceAPIDevice || d.Policy.EnergyNeededWh != 0) {
			t.Errorf("battery policy after the form %+v, want reserve 35 %% from api.device and no energy", d)
		}
	}
}

// buyerSeesAudit: the buyer view shows the supply audit's checks, each
// passing, with the REC supply (issued − retired) and FLEX figures;
// "Audit again" runs it again with progress.
func buyerSeesAudit(t *testing.T, p *page) {
	t.Helper()
	p.do("auditing again", chromedp.Click(chromedp.CSS("#audit-run")))
	// The run started before the click may predate the retirement: wait
	// for one that counts it.
	p.wait("the audit's checks with the retirement", `document.querySelectorAll("#audit-result tr[data-check]").length >= 6 && !document.getElementById("audit-run").disabled &&
		(r => r && r.innerText.includes("retired 500 Wh"))(document.querySelector('#audit-result tr[data-check="rec_supply"]'))`, 2*time.Minute)
	fails := evalString(t, p.ctx, `[...document.querySelectorAll("#audit-result tr[data-check].fail")].map(r => r.innerText).join(" | ")`)
	if fails != "" {
		t.Errorf("audit checks failing: %s", fails)
	}
	if got := evalString(t, p.ctx, `document.getElementById("audit-summary").textContent`); !strings.Contains(got, "clean") {
		t.Errorf("audit summary %q, want clean", got)
	}
}
