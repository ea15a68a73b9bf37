package feeds

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/mmcdole/gofeed"
)

// Enclosure is a file an item carries: a podcast's episode, a video, a
// document (RSS 2.0 <enclosure>, Atom <link rel="enclosure">, a JSON Feed
// attachment). Without it a podcast republished by feedrelay cannot be
// played.
type Enclosure struct {
	URL    string // absolute http(s)
	Length int64  // in bytes; 0 when the source does not say (or says 0)
	Type   string // media type as the source gives it, trimmed; "" when unknown
}

const (
	// MaxEnclosures is how many enclosures an item keeps: podcasts give
	// one, or one per format; a feed that lists hundreds for one item
	// would make every page that shows it as big.
	MaxEnclosures = 16
	// maxEnclosureType bounds a media type (RFC 6838 names are at most
	// 127 characters each side of the "/"); a longer one is dropped as
	// unknown rather than cut into something else.
	maxEnclosureType = 255
)

// normalizeEnclosures is what an item keeps of the enclosures gofeed read
// (RSS enclosures, Atom rel=enclosure links, JSON Feed attachments): each
// URL resolved against the item's base as its link is, and only the http(s)
// ones kept — a javascript: URL, or a relative one with no web address to
// resolve against (a file: source), would be followed by a reader as it is
// (the relative one against feedrelay's own address). The same URL listed
// twice is kept once, with what its first listing says; at most
// MaxEnclosures are kept, in the source's order.
func normalizeEnclosures(in []*gofeed.Enclosure, base *url.URL) []Enclosure {
	var out []Enclosure
	for _, e := range in {
		if e == nil || len(out) == MaxEnclosures {
			continue
		}
		link := enclosureURL(base, e.URL)
		if link == "" || hasEnclosure(out, link) {
			continue
		}
		typ := strings.TrimSpace(e.Type)
		if len(typ) > maxEnclosureType {
			typ = ""
		}
		out = append(out, Enclosure{URL: link, Length: enclosureLength(e.Length), Type: typ})
	}
	return out
}

// enclosureURL is raw as an item's link is read (itemLink: resolved, a web
// address or nothing) that is also absolute: a podcast app downloads it by
// itself, with no page to resolve it against. Else "".
func enclosureURL(base *url.URL, raw string) string {
	link := itemLink(base, raw)
	if u, err := url.Parse(link); err != nil || u.Host == "" {
		return ""
	}
	return link
}

func hasEnclosure(es []Enclosure, link string) bool {
	for _, e := range es {
		if e.URL == link {
			return true
		}
	}
	return false
}

// reachableEnclosures are es without those on an address this source's
// fetches could not reach: a public feed naming http://127.0.0.1:9090/ or
// http://169.254.169.254/ as an episode would have every podcast app of
// its subscribers download it from their own network. The source's dial
// policy decides (private.go): the literal address or localhost its
// configured URL names, and allow_private_networks, are the operator's
// word, so a feed served from such an address keeps its relative
// enclosures. Host names are not resolved: only literal addresses and
// localhost are known to be private here.
func (src *Source) reachableEnclosures(es []Enclosure) []Enclosure {
	if len(es) == 0 {
		return es
	}
	configured, err := url.Parse(src.URL)
	if err != nil {
		configured = &url.URL{}
	}
	policy := policyFor(configured, src.AllowPrivateNetworks)
	out := es[:0:0] // a new slice: es may be shared
	for _, e := range es {
		if u, err := url.Parse(e.URL); err == nil && policy.allowsHost(u.Hostname()) {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// enclosureLength reads a length in bytes: a non-negative decimal integer,
// else 0 (unknown). Feeds write "", "0", "-1", "12.5 MB" when they do not
// know it.
func enclosureLength(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// appendEnclosuresKey appends what an item's content hash holds of its
// enclosures: nothing when it has none, so that the hash of an item
// without enclosures stays what it was before feedrelay kept them (an
// upgrade does not count every stored item as changed). An item stored
// before with enclosures its source already listed is changed once, at
// the first poll after the upgrade: it gains them.
func appendEnclosuresKey(b []byte, es []Enclosure) []byte {
	if len(es) == 0 {
		return b
	}
	b = append(b, "\x00enclosures"...)
	for _, e := range es {
		b = append(b, 0)
		b = append(b, e.URL...)
		b = append(b, 0)
		b = strconv.AppendInt(b, e.Length, 10)
		b = append(b, 0)
		b = append(b, e.Type...)
	}
	return b
}
