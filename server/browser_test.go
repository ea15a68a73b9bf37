package server

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const chromiumPath = "/usr/bin/chromium"

// chromium runs Debian's headless Chromium with args and returns its
// standard output.
func chromium(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s: %v; run scripts/install-test-deps", chromiumPath, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--user-data-dir=" + t.TempDir(), "--window-size=390,844"}
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
