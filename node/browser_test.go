package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridmint/gridmint"
)

// chromiumPath finds Debian's chromium. Without it the browser test is
// skipped, except in CI (CI=1), where .ci/run installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" || os.Getenv("GRIDMINT_REQUIRE_BROWSER") != "" {
		t.Fatal("chromium not installed (apt-get install -y chromium)")
	}
	t.Skip("chromium not installed (apt-get install -y chromium); CI runs this test")
	return ""
}

// newBrowser starts headless Chromium for one test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	// The whole browser session: start, load, and every wait of the test,
	// each bounded by patience itself.
	return newBrowserFor(t, 3*patience)
}

// newBrowserFor starts headless Chromium for a session of at most bound.
// A browser that fails to start (on a loaded machine it sometimes exits
// before it listens) is started again, up to three times.
func newBrowserFor(t *testing.T, bound time.Duration) context.Context {
	t.Helper()
	chromium := chromiumPath(t)
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(chromium),
			chromedp.NoSandbox,
			chromedp.Headless,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-quic", true),
			chromedp.UserDataDir(t.TempDir()),
		)
		ctx, cancel := chromedp.NewContext(allocCtx)
		ctx, cancelTimeout := context.WithTimeout(ctx, bound)
		if err = chromedp.Do(ctx); err == nil { // starts the browser
			t.Cleanup(cancelAlloc)
			t.Cleanup(cancel)
			t.Cleanup(cancelTimeout)
			return ctx
		}
		cancelTimeout()
		cancel()
		cancelAlloc()
		t.Logf("starting chromium, attempt %d: %v", attempt, err)
	}
	t.Fatalf("chromium did not start: %v", err)
	return nil
}

// evalString evaluates a JavaScript expression that yields a string.
func evalString(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return s
}

// TestWebPageInBrowser loads the demo's page in headless Chromium and
// checks that it lists every simulated device, that its script keeps the
// energy column and the demo time live, and that it shows the node's
// role, the chain's attestor set and k, and each home's site totals.
func TestWebPageInBrowser(t *testing.T) {
	parallel(t)
	ctx := newBrowser(t)
	clock, err := gridmint.NewScaledClock(time.Date(2026, 6, 21, 11, 0, 0, 0, time.UTC), time.Now(), demoSpeed)
	if err != nil {
		t.Fatal(err)
	}
	d, err := StartDemo(context.Background(), demoOptions(t.TempDir(), clock))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	url := "http://" + d.Node.HTTPAddr() + "/"
	rowsSel := `#devices tr[data-id]`
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("loading %s: %v", url, err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	// The script replaces the table every 2 s; wait for rows from it.
	want := len(d.Node.Devices())
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.querySelectorAll("%s").length === %d && document.getElementById("updated").textContent.startsWith("Live: updated")`, rowsSel, want),
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("waiting for the page's live refresh: %v", err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("`+rowsSel+`").length`))
	if err != nil {
		t.Fatal(err)
	}
	if title != "gridmint node" || rows != want {
		t.Fatalf("title %q, %d device rows; want \"gridmint node\" and %d", title, rows, want)
	}
	// The node's role, its chain's attestors (itself alone, k = 1), and
	// the demo clock, which the script keeps live.
	addr := d.Node.Identity().Address
	for _, c := range []struct{ expr, want string }{
		{`document.getElementById("role").textContent`, "home"},
		{`document.getElementById("chain-id").textContent`, "1337"},
		{`document.getElementById("threshold").textContent`, "1"},
		{`document.getElementById("attestor-count").textContent`, "1"},
		{`document.getElementById("attestors").textContent.toLowerCase()`, strings.ToLower(addr)},
	} {
		if got := evalString(t, ctx, c.expr); got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
	demoTime := func() time.Time {
		v, err := time.Parse("2006-01-02 15:04:05", evalString(t, ctx, `document.getElementById("clock").textContent`))
		if err != nil {
			t.Fatalf("demo time on the page: %v", err)
		}
		return v
	}
	shown := demoTime()
	if d := clock.Now().Sub(shown); d < 0 || d > 30*time.Minute {
		t.Errorf("page shows demo time %v, the demo clock is at %v", shown, clock.Now())
	}
	waitFor(t, "the page's demo time to move on", func() bool { return demoTime().After(shown) })

	energy := func() map[string]float64 {
		cells, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll("`+rowsSel+`")].map(r => [r.dataset.id, r.querySelector(".energy").textContent]))`))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for id, txt := range cells {
			v, err := strconv.ParseFloat(strings.TrimSpace(txt), 64)
			if err != nil {
				t.Fatalf("energy cell of %s = %q: %v", id, txt, err)
			}
			out[id] = v
		}
		return out
	}
	first := energy()
	for _, id := range []string{d.Node.Identity().Address + "/opendtu/" + DemoInverterSerial, d.Node.Identity().Address + "/tasmota/" + DemoPlugTopic} {
		if _, ok := first[id]; !ok {
			t.Errorf("page has no row for %s (rows: %v)", id, first)
		}
	}
	// Without reloading, the page's own refresh shows the energy growing.
	waitFor(t, "the page to show growing energy for both devices", func() bool {
		now := energy()
		for id, v := range first {
			if now[id] <= v {
				return false
			}
		}
		return true
	})
	online, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#devices tr.online").length`))
	if err != nil {
		t.Fatal(err)
	}
	if online != want {
		t.Errorf("%d devices shown online, want %d", online, want)
	}

	// A card per home with its totals, kept live by the script: home 1's
	// PV and house consumption as numbers, its grid figures from the
	// Victron meter of record, the Shelly Pro 3EM beside it not counted.
	cards, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#sites .site")].map(e => e.dataset.site)`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cards, ",") != "home-1,home-2,home-3" {
		t.Fatalf("site cards %v, want home-1,home-2,home-3", cards)
	}
	card := `document.querySelector('#sites [data-site="home-1"]')`
	total := func(cls string) (float64, error) {
		return strconv.ParseFloat(evalString(t, ctx, card+`.querySelector(".`+cls+`").textContent`), 64)
	}
	firstPV := evalString(t, ctx, card+`.querySelector(".pv-today").textContent`)
	waitFor(t, "home 1's card to show PV, house and grid totals and growing PV energy", func() bool {
		pv, err1 := total("pv")
		_, err2 := total("house")
		_, err3 := total("import")
		return err1 == nil && err2 == nil && err3 == nil && pv > 0 &&
			evalString(t, ctx, card+`.querySelector(".pv-today").textContent`) != firstPV
	})
	if got := evalString(t, ctx, card+`.querySelector(".meter-of-record").textContent`); got != addr+"/victron/"+DemoVictronGridSerial {
		t.Errorf("home 1's meter of record on the page = %q", got)
	}
	if got := evalString(t, ctx, card+`.querySelector(".not-counted").textContent`); got != addr+"/shelly/"+DemoShellyMeterSerial {
		t.Errorf("home 1's meter not counted on the page = %q", got)
	}
	if got := evalString(t, ctx, card+`.querySelector(".partial").textContent`); got != "" {
		t.Errorf("home 1 partial with every device online: %q", got)
	}
}

// TestWebPageShowsOfflineDevice: a charger that drops off the network at
// 11 kW turns, without a reload, into a dash and "offline" on the page,
// and its site says its totals are partial.
func TestWebPageShowsOfflineDevice(t *testing.T) {
	parallel(t)
	ctx := newBrowser(t)
	b := startTestBroker(t)
	r := &sitesRig{t: t, dir: t.TempDir(), url: b.URL(), clock: newFastClock(time.Date(2026, 6, 21, 12, 0, 0, 0, time.Local), 10)}
	r.pub = paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("devices"))
	if tok := r.pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer r.pub.Disconnect(0)
	r.start()
	defer r.node.Close()
	r.publish("go-eCharger/200001/mcc", "true")
	r.charger(11_000, 20_000)
	r.meter(recordMeter, 12_000, 30_000, 1_000)
	waitFor(t, "the charger's power", func() bool { return r.device(r.id("goe", "200001"))["power_w"] == 11000.0 })

	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+r.node.HTTPAddr()+"/")); err != nil {
		t.Fatal(err)
	}
	row := `document.querySelector('#devices tr[data-id="` + string(r.id("goe", "200001")) + `"]')`
	card := `document.querySelector('#sites [data-site="home"]')`
	if got := evalString(t, ctx, row+`.querySelector(".power").textContent`); got != "11000.0" {
		t.Fatalf("charger power on the page = %q, want 11000.0", got)
	}
	if got := evalString(t, ctx, card+`.querySelector(".ev").textContent`); got != "11000" {
		t.Fatalf("home's EV total on the page = %q, want 11000", got)
	}

	r.publish("go-eCharger/200001/mcc", "false")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](row+`.querySelector(".power").textContent === "\u2014"`, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("waiting for the page to drop the offline charger's power: %v", err)
	}
	for _, c := range []struct{ expr, want string }{
		{row + `.querySelector(".status").textContent`, "offline"},
		{row + `.querySelector(".power").title`, "power unknown: offline"},
		{row + `.querySelector(".energy").textContent`, "20.000"},
		{card + `.querySelector(".ev").textContent`, "0"},
		{card + `.querySelector(".house").textContent`, "\u2014"},
		{card + `.querySelector(".import").textContent`, "12000"},
		{card + `.querySelector(".partial").textContent`, "partial: " + string(r.id("goe", "200001")) + " offline"},
	} {
		if got := evalString(t, ctx, c.expr); got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
}
