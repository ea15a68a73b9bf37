package feeds

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// An Atom feed wrapped in an XHTML page (a feed styled for browsers), which
// feedparser reads, is read: the <feed> element is taken out of the page.
// The page around it need not be XML (a script with "<" and "&&").
func TestParseAtomWrappedInXHTML(t *testing.T) {
	page, err := os.ReadFile("testdata/wrapped_atom.xhtml")
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range []string{"text/html; charset=utf-8", "application/xhtml+xml", ""} {
		f, err := Parse(page, ct, "", "https://www.stcn.com/feed.html", time.UTC)
		if err != nil {
			t.Fatalf("content type %q: %v", ct, err)
		}
		if f.Title != "证券时报网" || f.ID != "urn:stcn" || len(f.Items) != 2 {
			t.Fatalf("content type %q: title %q id %q, %d items; want 证券时报网, urn:stcn, 2 items", ct, f.Title, f.ID, len(f.Items))
		}
		first := f.Items[0]
		if first.Identity != "urn:stcn:1" || first.Title != "A股三大指数集体高开" || first.Link != "https://www.stcn.com/1.html" || !strings.Contains(first.Content, "<b>成交</b>") {
			t.Errorf("first entry: %+v", first)
		}
	}

	// Prefixed, and with the page's HTML entities inside the feed.
	prefixed := `<!DOCTYPE html><html><body><h1>Feed</h1>
<a:feed xmlns:a="http://www.w3.org/2005/Atom"><a:title>T&nbsp;1</a:title><a:id>urn:t</a:id>
<a:entry><a:id>urn:t:1</a:id><a:title>E</a:title><a:updated>2026-11-26T09:30:00Z</a:updated></a:entry></a:feed></body></html>`
	f, err := Parse([]byte(prefixed), "text/html", "", "https://example.org/", time.UTC)
	if err != nil || len(f.Items) != 1 || f.Items[0].Identity != "urn:t:1" {
		t.Fatalf("prefixed: %v, %+v", err, f)
	}
}

// A page that holds an Atom feed which does not read says so, and a page
// without one is still "not a feed".
func TestParseHTMLPageErrors(t *testing.T) {
	for _, c := range []struct{ name, page, want string }{
		{"broken feed", `<html><body><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><id>1</id>`,
			"not a feed (an HTML page holding an Atom <feed> that cannot be read: the <feed> element at byte 12: XML syntax error on line 1: unexpected EOF)"},
		{"no feed", `<html><body><p>Atom is at http://www.w3.org/2005/Atom</p><feed>not atom</feed></body></html>`, "not a feed (text/html)"},
	} {
		_, err := Parse([]byte(c.page), "text/html", "", "https://example.org/", time.UTC)
		if !errors.Is(err, ErrNotAFeed) || err.Error() != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// An XHTML doctype before an <rss> root does not make the feed a page
// (feedparser's always_strip_doctype case).
func TestParseRSSAfterXHTMLDoctype(t *testing.T) {
	body := `<?xml version="1.0" encoding="utf-8"?><!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://site.invalid/">
<rss><channel><title>found</title><item><title>a</title><guid>1</guid></item></channel></rss>`
	f, err := Parse([]byte(body), "", "", "https://example.org/", time.UTC)
	if err != nil || f.Title != "found" || len(f.Items) != 1 {
		t.Fatalf("%v, %+v", err, f)
	}
}
