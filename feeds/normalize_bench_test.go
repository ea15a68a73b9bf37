package feeds

import (
	"bytes"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/feedrelay/feedrelay/internal/bench/synth"
)

// benchSources is how many synthetic sources (50 items of ~1.5 KB each) the
// normalize benchmarks read: the bodies `go run ./internal/bench` polls.
const benchSources = 20

func synthBodies() [][]byte {
	var bodies [][]byte
	for src := range benchSources {
		bodies = append(bodies, synth.Feed(src, 1, 50, 1500))
	}
	return bodies
}

func synthParsed(b *testing.B) []*gofeed.Feed {
	var out []*gofeed.Feed
	for _, body := range synthBodies() {
		gf, err := gofeed.NewParser().Parse(bytes.NewReader(body))
		if err != nil {
			b.Fatalf("synthetic feed: %v", err)
		}
		out = append(out, gf)
	}
	return out
}

// BenchmarkNormalize is what a poll spends on each synthetic feed after
// gofeed: normalizeFeed and Identify (one op is one feed of 50 items).
func BenchmarkNormalize(b *testing.B) {
	gfs := synthParsed(b)
	seen := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := i % len(gfs)
		src := &Source{Slug: fmt.Sprintf("news%d", n)}
		f := normalizeFeed(gfs[n], "", fmt.Sprintf("https://news%d.example.com/finance/rss.xml", n), time.UTC)
		src.Identify(f, seen)
	}
}

// BenchmarkSanitize sanitizes the synthetic items' HTML (one op is one item).
func BenchmarkSanitize(b *testing.B) {
	var contents []string
	for _, gf := range synthParsed(b) {
		for _, it := range gf.Items {
			contents = append(contents, it.Description)
		}
	}
	base := mustURL("https://news1.example.com/finance/rss.xml")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sanitize(contents[i%len(contents)], base)
	}
}

// BenchmarkStripForbidden scans the synthetic bodies, which hold no
// forbidden character (one op is one feed of 50 items).
func BenchmarkStripForbidden(b *testing.B) {
	bodies := synthBodies()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		stripForbidden(bodies[i%len(bodies)], true)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// BenchmarkParse is feeds.Parse of the synthetic bodies: everything a poll
// does to a fetched body before Identify (one op is one feed of 50 items).
func BenchmarkParse(b *testing.B) {
	bodies := synthBodies()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := i % len(bodies)
		if _, err := Parse(bodies[n], "application/rss+xml; charset=utf-8", "", fmt.Sprintf("https://news%d.example.com/finance/rss.xml", n), time.UTC); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGofeedFloor is gofeed alone on the same bodies, as Parse
// configures it (image scan off): what BenchmarkParse cannot go below.
func BenchmarkGofeedFloor(b *testing.B) {
	bodies := synthBodies()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := gofeed.NewParser()
		p.RSSTranslator = &gofeed.DefaultRSSTranslator{DisableContentImageScan: true}
		if _, err := p.Parse(bytes.NewReader(bodies[i%len(bodies)])); err != nil {
			b.Fatal(err)
		}
	}
}
