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

// TestWebPageInBrowser loads the demo's page in headless Chromium and
// checks that it lists both simulated devices and that its script keeps
// the energy column live.
func TestWebPageInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	clock := newFastClock(time.Date(2026, 6, 21, 11, 0, 0, 0, time.UTC), demoSpeed)
	d, err := StartDemo(context.Background(), demoOptions(t.TempDir(), clock))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

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
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, patience) // the whole browser session: start, load, poll
	defer cancelTimeout()

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
}
