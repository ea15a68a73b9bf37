package server

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const chromiumPath = "/usr/bin/chromium"

// chromium runs Debian's headless Chromium with args (a phone-sized window
// unless they say otherwise) and returns its standard output.
func chromium(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s: %v; run scripts/install-test-deps", chromiumPath, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--window-size=390,844"}
	cmd := exec.CommandContext(ctx, chromiumPath, append(base, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", args, err)
	}
	return string(out)
}

// What a person sees in a browser on a phone-sized window: the category
// page lists the entries with their sources, and the index lists the
// categories and sources with their health.
func TestPagesInChromium(t *testing.T) {
	srv, _ := newTestServer(t)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	o := *srv.opts.Load()
	o.BaseURL = ts.URL + "/"
	srv.SetOptions(&o)

	dom := chromium(t, "--dump-dom", ts.URL+"/c/markets")
	for _, want := range []string{
		"<h1>市场综合</h1>",
		">A股三大指数集体高开</a>",
		">科创板新增上市公司超百家</a>",
		"证券时报网 · 证券时报记者 王一",
		`href="` + ts.URL + `/feeds/markets.atom"`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("category page in Chromium lacks %q", want)
		}
	}
	if strings.Contains(dom, "�") {
		t.Error("category page in Chromium shows replacement characters: the charset is wrong")
	}

	dom = chromium(t, "--dump-dom", ts.URL+"/")
	for _, want := range []string{"市场综合", "证券时报网", "中国证券网", ts.URL + "/opml"} {
		if !strings.Contains(dom, want) {
			t.Errorf("index in Chromium lacks %q", want)
		}
	}

	// It renders to a picture too (kept when the test fails, to look at).
	shot := filepath.Join(t.TempDir(), "category.png")
	if p := os.Getenv("FEEDRELAY_SCREENSHOT"); p != "" {
		shot = p
	}
	chromium(t, "--screenshot="+shot, ts.URL+"/c/markets")
	if st, err := os.Stat(shot); err != nil || st.Size() < 5000 {
		t.Errorf("screenshot of the category page: %v", err)
	}
}

// A window a person looks at the pages in.
type window struct {
	name string
	w, h int
}

var windows = []window{{"desktop", 1280, 900}, {"phone", 390, 844}}

// measurePage is a test-only page that loads a page of ours in an iframe
// the size of a window and, once loaded, writes what a person would see of
// its layout into <pre id="m">: whether it scrolls sideways (and which
// elements stick out), the charts per source and the first source. Our
// pages have no script; this one measures them from outside.
var measurePage = template.Must(template.New("m").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>measure</title></head><body style="margin:0">
<iframe id="f" src="{{.URL}}" style="border:0;width:{{.W}}px;height:{{.H}}px"></iframe>
<pre id="m"></pre>
<script>
window.addEventListener("load", function () {
  var d = document.getElementById("f").contentDocument, e = d.documentElement;
  var out = {innerWidth: d.defaultView.innerWidth, scrollWidth: e.scrollWidth, clientWidth: e.clientWidth, wide: [], sources: [], svgs: 0};
  d.querySelectorAll("body *").forEach(function (n) {
    var r = n.getBoundingClientRect();
    if (r.width > 0 && r.right > e.clientWidth + 0.5) out.wide.push(n.tagName + "." + n.getAttribute("class"));
  });
  d.querySelectorAll("svg").forEach(function () { out.svgs++; });
  d.querySelectorAll("li.source").forEach(function (li) {
    var a = li.querySelector("svg.activity"), s = li.querySelector("svg.strip");
    out.sources.push({id: li.id, failing: li.classList.contains("failing"),
      badge: (li.querySelector(".badge") || {}).textContent || "",
      bars: a ? a.querySelectorAll("rect.bar").length : 0,
      barsWidth: a ? a.getBoundingClientRect().width : 0,
      cells: s ? s.querySelectorAll("rect.poll").length : 0,
      background: getComputedStyle(li).backgroundColor});
  });
  document.getElementById("m").textContent = JSON.stringify(out);
});
</script></body></html>`))

type measured struct {
	InnerWidth               int // the window's, scroll bar included
	ScrollWidth, ClientWidth int
	Wide                     []string
	SVGs                     int
	Sources                  []struct {
		ID, Badge, Background string
		Failing               bool
		Bars, Cells           int
		BarsWidth             float64
	}
}

// measure loads path in a window-sized frame in Chromium.
func measure(t *testing.T, base, path string, win window) measured {
	t.Helper()
	u := base + "/measure?" + url.Values{"u": {path}, "w": {strconv.Itoa(win.w)}, "h": {strconv.Itoa(win.h)}}.Encode()
	dom := chromium(t, "--window-size=1400,1000", "--virtual-time-budget=10000", "--dump-dom", u)
	_, rest, ok := strings.Cut(dom, `<pre id="m">`)
	body, _, ok2 := strings.Cut(rest, "</pre>")
	var m measured
	if !ok || !ok2 || json.Unmarshal([]byte(html.UnescapeString(body)), &m) != nil {
		t.Fatalf("%s at %s: no measurement in Chromium's DOM: %.300s", path, win.name, rest)
	}
	return m
}

// colourPixels counts the pixels of a PNG within a small distance of c.
func colourPixels(t *testing.T, file string, c color.RGBA) int {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			d := func(a uint32, b uint8) int { return abs(int(a>>8) - int(b)) }
			if d(r, c.R)+d(g, c.G)+d(bl, c.B) < 24 {
				n++
			}
		}
	}
	return n
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// What a person sees of the index, a source's page and a category page, on
// a desktop and a phone: the charts drawn (one bar per day for each
// source, the poll strip), the failing source first and marked, nothing
// wider than the window. Screenshots go to $FEEDRELAY_SHOTS if set.
func TestHealthPagesInChromium(t *testing.T) {
	fx := newHealthServer(t)
	mux := http.NewServeMux()
	mux.Handle("/", fx.srv)
	mux.HandleFunc("GET /measure", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		measurePage.Execute(w, map[string]string{"URL": q.Get("u"), "W": q.Get("w"), "H": q.Get("h")})
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()
	o := *fx.srv.opts.Load()
	o.BaseURL = ts.URL + "/"
	fx.srv.SetOptions(&o)

	shots := os.Getenv("FEEDRELAY_SHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	pages := []struct{ name, path string }{{"index", "/"}, {"source", "/s/eastmoney"}, {"category", "/c/markets"}}
	for _, win := range windows {
		for _, pg := range pages {
			m := measure(t, ts.URL, pg.path, win)
			if m.InnerWidth != win.w || m.ScrollWidth > m.ClientWidth {
				t.Errorf("%s at %s (%d px): %d px wide, scrolls sideways; too wide: %v", pg.name, win.name, m.ClientWidth, m.ScrollWidth, m.Wide)
			}
			switch pg.name {
			case "index":
				if len(m.Sources) != 3 || m.SVGs != 6 {
					t.Fatalf("index at %s: %d sources, %d charts; want 3 and 2 each", win.name, len(m.Sources), m.SVGs)
				}
				first := m.Sources[0]
				if first.ID != "source-eastmoney" || !first.Failing || !strings.HasPrefix(first.Badge, "失败 failing") || first.Background == m.Sources[1].Background {
					t.Errorf("index at %s: first source %+v, want eastmoney, marked failing on its own background", win.name, first)
				}
				for _, s := range m.Sources {
					if s.Bars != activityDays || s.BarsWidth < 100 {
						t.Errorf("index at %s: %s has %d bars %.0f px wide, want %d drawn", win.name, s.ID, s.Bars, s.BarsWidth, activityDays)
					}
				}
				if m.Sources[1].Cells != stripPolls {
					t.Errorf("index at %s: %s strip has %d cells, want %d", win.name, m.Sources[1].ID, m.Sources[1].Cells, stripPolls)
				}
			case "source":
				if m.SVGs != 2 {
					t.Errorf("source page at %s: %d charts, want 2", win.name, m.SVGs)
				}
			}
			shot := filepath.Join(shots, pg.name+"-"+win.name+".png")
			chromium(t, fmt.Sprintf("--window-size=%d,%d", win.w, win.h), "--hide-scrollbars", "--screenshot="+shot, ts.URL+pg.path)
			if pg.name == "index" {
				// The charts are on the picture: bars, ok cells and
				// the failing source's red ones.
				for name, c := range map[string]color.RGBA{"bar": {0x3b, 0x6f, 0xc4, 0}, "ok": {0x2e, 0x9e, 0x44, 0}, "error": {0xd9, 0x30, 0x25, 0}} {
					if n := colourPixels(t, shot, c); n < 50 {
						t.Errorf("index screenshot at %s: %d %s-coloured pixels; the charts are not drawn", win.name, n, name)
					}
				}
			}
		}
	}
	// Dark mode, for the lead to look at.
	chromium(t, "--window-size=390,844", "--force-dark-mode", "--blink-settings=preferredColorScheme=0", "--hide-scrollbars",
		"--screenshot="+filepath.Join(shots, "index-phone-dark.png"), ts.URL+"/")
}
