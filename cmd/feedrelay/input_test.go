package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A source whose titles and content hold characters XML 1.0 forbids (raw or
// as references) is stored whole and republished without them; so is an
// Atom feed wrapped in an XHTML page, and one labelled MacCyrillic.
func TestPollStoresFeedsWithBadInput(t *testing.T) {
	bad := []string{"\uFFFE", "&#1;", "&#x1F;", "\x01"}
	var rss strings.Builder
	rss.WriteString(`<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>源</title><link>https://example.org/</link>`)
	for i, b := range bad {
		fmt.Fprintf(&rss, `<item><guid>g%d</guid><link>https://example.org/%d</link><title>标%s题%d</title><description>正%s文%d</description></item>`, i, i, b, i, b, i)
	}
	rss.WriteString(`</channel></rss>`)
	wrapped := `<?xml version="1.0" encoding="utf-8"?><!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title></head><body><p>Subscribe&nbsp;below</p>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Wrapped</title><id>urn:w</id><updated>2026-11-26T09:30:00Z</updated>
<entry><id>urn:w:1</id><title>一</title><link href="https://example.org/w1"/><updated>2026-11-26T09:30:00Z</updated></entry>
<entry><id>urn:w:2</id><title>二</title><link href="https://example.org/w2"/><updated>2026-11-26T09:20:00Z</updated></entry>
</feed></body></html>`
	// "Новости" in Mac Cyrillic.
	mac := append([]byte(`<?xml version="1.0" encoding="MacCyrillic"?><rss version="2.0"><channel><title>`),
		0x8D, 0xEE, 0xE2, 0xEE, 0xF1, 0xF2, 0xE8)
	mac = append(mac, `</title><item><guid>m1</guid><title>m</title></item></channel></rss>`...)
	mux := http.NewServeMux()
	mux.HandleFunc("/bad.xml", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(rss.String())) })
	mux.HandleFunc("/wrapped.xhtml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xhtml+xml")
		w.Write([]byte(wrapped))
	})
	mux.HandleFunc("/mac.xml", func(w http.ResponseWriter, r *http.Request) { w.Write(mac) })
	origin := httptest.NewServer(mux)
	t.Cleanup(origin.Close)

	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: 127.0.0.1:0
base_url: %s
log: {format: json, level: info}
defaults: {interval: 6h, timeout: 5s}
categories: [{slug: all-in, title: All}]
sources:
  - {name: Bad, slug: bad, url: %q, categories: [all-in]}
  - {name: Wrapped, slug: wrapped, url: %q, categories: [all-in]}
  - {name: Mac, slug: mac, url: %q, categories: [all-in]}
`, relayBase, origin.URL+"/bad.xml", origin.URL+"/wrapped.xhtml", origin.URL+"/mac.xml")), 0o644)

	var out, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"poll", "-config", cfg}, &out, &errOut); code != 0 {
		t.Fatalf("poll exited %d:\n%s%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{
		"bad (Bad): new 4, updated 0, unchanged 0",
		"wrapped (Wrapped): new 2, updated 0, unchanged 0",
		"mac (Mac): new 1, updated 0, unchanged 0",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("poll printed:\n%s\nwant a line %q", out.String(), want)
		}
	}

	ctx, stop := context.WithCancel(context.Background())
	served := make(chan int, 1)
	var logs syncBuffer
	go func() { served <- Run(ctx, []string{"serve", "-config", cfg}, &logs, &logs) }()
	defer func() { stop(); <-served }()
	base := "http://" + servingAddr(t, &logs, func() bool { return len(served) > 0 })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer within 10 s:\n%s", logs.String())
		}
	}
	entries, _, err := republished(base, relayBase, "bad")
	if err != nil {
		t.Fatal(err)
	}
	titles := map[string]bool{}
	for _, e := range entries {
		titles[e.Title] = true
	}
	for i := range bad {
		if want := fmt.Sprintf("标题%d", i); !titles[want] {
			t.Errorf("/sources/bad.atom lacks %q; titles %v", want, titles)
		}
	}
	resp, err := http.Get(base + "/sources/mac.atom")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.Contains(body.String(), "Новости") {
		t.Errorf("/sources/mac.atom does not name the source Новости:\n%s", body.String())
	}
}
