package feeds

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"
	"github.com/mmcdole/gofeed/atom"
	ext "github.com/mmcdole/gofeed/extensions"
	"github.com/mmcdole/gofeed/rss"
	xhtml "golang.org/x/net/html"

	"github.com/feedrelay/feedrelay/feeds/charset"
)

// ErrNotAFeed is returned for a body that is not RSS, Atom or JSON Feed,
// such as an HTML page or a JSON error object.
var ErrNotAFeed = errors.New("not a feed")

// Parse decodes a fetched body into a normalized Feed. feedURL is the URL the
// body came from (after redirects): relative links are resolved against it
// where the feed gives no xml:base. Dates without a zone are read in loc
// (UTC when loc is nil).
func Parse(body []byte, contentType, charsetOverride, feedURL string, loc *time.Location) (*Feed, error) {
	if loc == nil {
		loc = time.UTC // time.ParseInLocation and time.Date panic on a nil Location
	}
	gf, atomID, ttl, warnings, err := readFeed(body, contentType, charsetOverride, feedURL)
	if err != nil {
		return nil, err
	}
	f := normalizeFeed(gf, atomID, feedURL, loc)
	f.TTL = feedTTL(ttl, gf.Extensions)
	f.Warnings = warnings
	return f, nil
}

// readFeed is Parse up to normalizing: the body decoded, cleaned and
// checked, read by gofeed, with the feed-level Atom id and RSS <ttl> of
// the original feed, which gofeed's universal Feed does not carry, and
// what the reading warns of (Feed.Warnings).
func readFeed(body []byte, contentType, charsetOverride, feedURL string) (gf *gofeed.Feed, atomID, ttl string, warnings []string, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, "", "", nil, fmt.Errorf("parse: empty body")
	}
	text, cs, err := charset.ToUTF8(body, contentType, charsetOverride)
	if err != nil {
		return nil, "", "", nil, fmt.Errorf("parse: %w", err)
	}
	if w := cs.Warning(); w != "" {
		warnings = append(warnings, w)
	}
	trimmed := bytes.TrimSpace(text)
	isJSON := len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[')
	text = stripForbidden(text, !isJSON)
	text, err = sniff(text, contentType, feedURL)
	if err != nil {
		return nil, "", "", nil, err
	}
	p := gofeed.NewParser()
	// The image scan is half of RSS parse time and we do not use it.
	p.RSSTranslator = &gofeed.DefaultRSSTranslator{DisableContentImageScan: true}
	p.AtomTranslator, p.JSONTranslator = &atomTranslator{}, &jsonTranslator{}
	// The universal Feed has no feed-level Atom id; the original has.
	p.KeepOriginalFeed = true
	gf, err = p.Parse(bytes.NewReader(text))
	var typeErr *json.UnmarshalTypeError
	if isJSON && errors.As(err, &typeErr) {
		// One optional field of the wrong type must cost that field,
		// not the feed: mend the document and read it again. What
		// cannot be mended keeps gofeed's first error.
		if mended, notes, ok := mendJSONFeed(text); ok {
			if again, err2 := p.Parse(bytes.NewReader(mended)); err2 == nil {
				gf, err = again, nil
				warnings = append(warnings, "JSON Feed fields not of the spec's type: "+strings.Join(notes, "; "))
			}
		}
	}
	if err != nil {
		return nil, "", "", nil, explain(err, text, contentType)
	}
	switch of := gf.OriginalFeed().(type) {
	case *atom.Feed:
		atomID = strings.TrimSpace(of.ID)
	case *rss.Feed:
		ttl = of.TTL
	}
	return gf, atomID, ttl, warnings, nil
}

// htmlStart matches the start of an HTML or XHTML page (XHTML may begin
// with an XML declaration).
var htmlStart = regexp.MustCompile(`(?is)^\s*(<\?xml\s.*?\?>\s*)?(<!--.*?-->\s*)*(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])`)

// mayStartHTML reports whether htmlStart may match head: it needs a
// "<!doctype", "<html", "<head" or "<body" (in any case) somewhere in it.
// A feed's first kilobyte seldom holds one, and a scan for '<' costs a
// fraction of the regexp's.
func mayStartHTML(head []byte) bool {
	for i := bytes.IndexByte(head, '<'); i >= 0; {
		rest := head[i+1:]
		for _, name := range [...]string{"!doctype", "html", "head", "body"} {
			if len(rest) >= len(name) && bytes.EqualFold(rest[:len(name)], []byte(name)) {
				return true
			}
		}
		j := bytes.IndexByte(rest, '<')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

// sniff rejects bodies that gofeed would misread: an HTML page (which it
// reports only as an undetected type) and a JSON object that is not a JSON
// Feed (which it accepts as an empty feed). It returns the document to
// parse: the body, or the Atom feed an (X)HTML page holds.
func sniff(text []byte, contentType, feedURL string) ([]byte, error) {
	trimmed := bytes.TrimSpace(text)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		var probe struct {
			Version string          `json:"version"`
			Items   json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(trimmed, &probe); err != nil {
			// Valid JSON of another shape (an array, a numeric
			// "version") is not a feed; only a syntax error is
			// broken JSON.
			var typeErr *json.UnmarshalTypeError
			if !errors.As(err, &typeErr) {
				return nil, fmt.Errorf("parse: invalid JSON: %w", err)
			}
		}
		if !isJSONFeedVersion(probe.Version, probe.Items) {
			return nil, fmt.Errorf("%w (JSON without a jsonfeed.org version)", ErrNotAFeed)
		}
		return text, nil
	}
	head := trimmed
	if len(head) > 1024 {
		head = head[:1024]
	}
	if !mayStartHTML(head) || !htmlStart.Match(head) || isFeedRoot(rootElement(text)) {
		// An XHTML doctype before an <rss> root is a mistake feedparser
		// forgives; so do we.
		return text, nil
	}
	feed, err := embeddedAtom(text)
	switch {
	case feed != nil:
		return feed, nil
	case err != nil:
		return nil, fmt.Errorf("%w (an HTML page holding an Atom <feed> that cannot be read: %w)", ErrNotAFeed, err)
	}
	if alt := advertisedFeed(text, feedURL); alt != "" {
		return nil, fmt.Errorf("%w (text/html); the page advertises a feed at %s", ErrNotAFeed, alt)
	}
	return nil, fmt.Errorf("%w (text/html)", ErrNotAFeed)
}

// isJSONFeedVersion reports whether a JSON object's "version" and "items"
// make it a JSON Feed. The spec wants a jsonfeed.org URL; gofeed and
// Miniflux take any JSON object, which would read an API's answer or
// {"error": …} as an empty feed. Between the two: a jsonfeed.org URL, or a
// bare 1.x version ("1", "1.0", "1.1", as gofeed's own fixtures write it)
// beside an items array — no API answer we read (kind: json) looks like
// that by accident.
func isJSONFeedVersion(version string, items json.RawMessage) bool {
	if strings.HasPrefix(version, "https://jsonfeed.org/version/") ||
		strings.HasPrefix(version, "http://jsonfeed.org/version/") {
		return true
	}
	v := strings.TrimSpace(version)
	bare := v == "1" || (strings.HasPrefix(v, "1.") && len(v) > 2 && strings.Trim(v[2:], "0123456789") == "")
	return bare && bytes.HasPrefix(bytes.TrimSpace(items), []byte("["))
}

// Atom's namespaces: 1.0 (RFC 4287) and 0.3.
const (
	atomNS   = "http://www.w3.org/2005/Atom"
	atom03NS = "http://purl.org/atom/ns#"
)

// feedTag finds where an element named feed (with any prefix) may start.
var feedTag = regexp.MustCompile(`<([A-Za-z_][\w.-]*:)?feed[\s/>]`)

// embeddedAtom returns the Atom <feed> element an (X)HTML document holds,
// such as a feed styled for browsers by wrapping it in <html><body>, which
// feedparser reads. It returns nil, nil when the page holds no Atom feed,
// and an error when it holds one that does not read as XML. The page
// around the feed is not parsed (scripts and HTML need not be XML); the
// feed must declare its namespace itself.
func embeddedAtom(page []byte) ([]byte, error) {
	if !bytes.Contains(page, []byte(atomNS)) && !bytes.Contains(page, []byte(atom03NS)) {
		return nil, nil
	}
	var firstErr error
	for _, loc := range feedTag.FindAllIndex(page, -1) {
		start := loc[0]
		d := xml.NewDecoder(bytes.NewReader(page[start:]))
		// The feed's own HTML content may hold &nbsp; or an unclosed
		// <br>, as the page does.
		d.Strict = false
		d.AutoClose = xml.HTMLAutoClose
		d.Entity = xml.HTMLEntity
		tok, err := d.Token()
		if err != nil {
			continue
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "feed" || (se.Name.Space != atomNS && se.Name.Space != atom03NS) {
			continue
		}
		if err := d.Skip(); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("the <feed> element at byte %d: %w", start, err)
			}
			continue
		}
		return page[start : start+int(d.InputOffset())], nil
	}
	return nil, firstErr
}

// advertisedFeed returns the first feed an HTML page announces with
// <link rel="alternate" type="application/rss+xml|atom+xml|feed+json">,
// resolved against the page's URL, so that the operator can fix the YAML.
func advertisedFeed(page []byte, pageURL string) string {
	base, _ := url.Parse(pageURL)
	z := xhtml.NewTokenizer(bytes.NewReader(page))
	for {
		switch z.Next() {
		case xhtml.ErrorToken:
			return ""
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if string(name) == "body" {
				return "" // feeds are announced in <head>
			}
			if string(name) != "link" || !hasAttr {
				continue
			}
			attrs := map[string]string{}
			for more := true; more; {
				var k, v []byte
				k, v, more = z.TagAttr()
				attrs[string(k)] = string(v)
			}
			switch strings.ToLower(strings.TrimSpace(attrs["type"])) {
			case "application/rss+xml", "application/atom+xml", "application/feed+json", "application/json":
			default:
				continue
			}
			if strings.Contains(" "+strings.ToLower(attrs["rel"])+" ", " alternate ") && attrs["href"] != "" {
				return resolve(base, strings.TrimSpace(attrs["href"]))
			}
		}
	}
}

// feedTTL reads how long a feed says it stays fresh: RSS <ttl> (minutes)
// or the syndication module's updatePeriod / updateFrequency.
func feedTTL(ttl string, exts ext.Extensions) time.Duration {
	if m, err := strconv.Atoi(strings.TrimSpace(ttl)); err == nil && m > 0 {
		return time.Duration(m) * time.Minute
	}
	sy := exts["sy"]
	if len(sy["updatePeriod"]) == 0 {
		return 0
	}
	period := map[string]time.Duration{"hourly": time.Hour, "daily": 24 * time.Hour,
		"weekly": 7 * 24 * time.Hour, "monthly": 30 * 24 * time.Hour, "yearly": 365 * 24 * time.Hour,
	}[strings.ToLower(strings.TrimSpace(sy["updatePeriod"][0].Value))]
	freq := 1
	if fs := sy["updateFrequency"]; len(fs) > 0 {
		if n, err := strconv.Atoi(strings.TrimSpace(fs[0].Value)); err == nil && n > 0 {
			freq = n
		}
	}
	return period / time.Duration(freq)
}

// explain turns gofeed's error for text into one an operator can act on:
// what the document is when it is not a feed, which JSON Feed field has
// the wrong type, that a document ending early was cut short.
func explain(err error, text []byte, contentType string) error {
	if errors.Is(err, gofeed.ErrFeedTypeNotDetected) {
		if root := rootElement(text); root != "" {
			return fmt.Errorf("%w (%s whose root element is <%s>, not <rss>, <feed> or <rdf:RDF>)", ErrNotAFeed, describe(contentType), root)
		}
		return fmt.Errorf("%w (%s holding no XML element)", ErrNotAFeed, describe(contentType))
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return fmt.Errorf("parse: JSON Feed: %s is a JSON %s, the JSON Feed spec wants %s: %w",
			jsonFieldPath(typeErr.Field), typeErr.Value, jsonKind(typeErr.Type.String()), err)
	}
	var syn *xml.SyntaxError
	if errors.As(err, &syn) && syn.Msg == "unexpected EOF" {
		return fmt.Errorf("parse: %w (the document is cut short)", err)
	}
	return fmt.Errorf("parse: %w", err)
}

// isFeedRoot reports whether an XML root element (prefix:local) is one of
// a feed's.
func isFeedRoot(name string) bool {
	_, local, _ := strings.Cut(name, ":")
	if local == "" {
		local = name
	}
	switch local {
	case "rss", "feed", "RDF", "channel":
		return true
	}
	return false
}

// rootElement returns the name of the first element of an XML document,
// or "" when it holds none.
func rootElement(text []byte) string {
	d := xml.NewDecoder(bytes.NewReader(text))
	d.Strict = false
	for {
		tok, err := d.RawToken()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Space != "" {
				return se.Name.Space + ":" + se.Name.Local
			}
			return se.Name.Local
		}
	}
}

// jsonFieldPath writes encoding/json's path of a field (".alias.items.alias.tags",
// through gofeed's alias types) as the JSON Feed spec names it: items[].tags.
func jsonFieldPath(field string) string {
	var parts []string
	for _, p := range strings.Split(field, ".") {
		if p != "" && p != "alias" {
			parts = append(parts, p)
		}
	}
	path := strings.Join(parts, ".")
	for _, list := range []string{"items", "authors", "attachments", "hubs"} {
		path = strings.ReplaceAll(path, list+".", list+"[].")
	}
	return path
}

// jsonKind names a Go type as a JSON kind.
func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "map[") || strings.Contains(goType, "."):
		return "an object"
	case goType == "bool":
		return "a boolean"
	}
	return "a number"
}

func describe(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt == "" {
		return "a document without a content type"
	}
	return mt
}
