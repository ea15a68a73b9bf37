package feeds

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// A podcast's enclosures are kept from each format gofeed reads (RSS
// <enclosure>, Atom <link rel="enclosure">, JSON Feed attachments): each
// URL absolute against the feed's address, length in bytes or 0 when the
// source gives none that reads as one, type trimmed. What a reader would
// follow as something else than a web address is not kept: javascript:,
// data:, ftp:, and a relative URL of a file: source (a reader would resolve it
// against feedrelay's own address). One URL listed twice is one enclosure.
func TestEnclosuresOfEachFormat(t *testing.T) {
	const rss = `<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>播客</title><link>https://pod.example/</link>
<item><title>第一集</title><guid>ep1</guid><link>https://pod.example/ep1</link>
<enclosure url="https://cdn.example.org/ep1.mp3" length="12345678" type="audio/mpeg"/>
<enclosure url="/media/ep1.m4a" length=" 2048 " type=" audio/mp4 "/>
<enclosure url="https://cdn.example.org/ep1.mp3" length="1" type="audio/x-dup"/>
<enclosure url="javascript:alert(1)" length="1" type="audio/mpeg"/>
<enclosure url="data:audio/mpeg;base64,AAAA" length="4" type="audio/mpeg"/>
<enclosure url="ftp://cdn.example.org/ep1.mp3" length="4" type="audio/mpeg"/>
<enclosure url="HTTPS://cdn.example.org/ep1.ogg" length="-1" type="audio/ogg"/>
<enclosure url="https://cdn.example.org/ep1.flac" length="12.5 MB"/>
</item>
<item><title>第二集</title><guid>ep2</guid><link>https://pod.example/ep2</link></item>
</channel></rss>`
	const atom = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>tag:pod.example,2026:feed</id>
<updated>2026-11-26T00:00:00Z</updated>
<entry><title>E1</title><id>tag:pod.example,2026:1</id><updated>2026-11-26T00:00:00Z</updated>
<link rel="alternate" href="https://pod.example/1"/>
<link rel="enclosure" href="audio/1.mp3" type="audio/mpeg" length="999"/>
<link rel="enclosure" href="vbscript:msgbox(1)" type="audio/mpeg" length="1"/>
</entry></feed>`
	const jsonFeed = `{"version": "https://jsonfeed.org/version/1.1", "title": "J",
"items": [{"id": "j1", "url": "https://pod.example/j1", "content_text": "x",
  "attachments": [{"url": "https://cdn.example.org/j1.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 3000000000},
                  {"url": "j1.vtt", "mime_type": "text/vtt"}]}]}`
	cases := []struct {
		name, body, feedURL string
		want                []Enclosure
	}{
		{"rss", rss, "https://pod.example/feed.xml", []Enclosure{
			{URL: "https://cdn.example.org/ep1.mp3", Length: 12345678, Type: "audio/mpeg"},
			{URL: "https://pod.example/media/ep1.m4a", Length: 2048, Type: "audio/mp4"},
			{URL: "HTTPS://cdn.example.org/ep1.ogg", Type: "audio/ogg"},
			{URL: "https://cdn.example.org/ep1.flac"},
		}},
		{"atom", atom, "https://pod.example/feeds/atom.xml", []Enclosure{
			{URL: "https://pod.example/feeds/audio/1.mp3", Length: 999, Type: "audio/mpeg"},
		}},
		{"json feed", jsonFeed, "https://pod.example/feed.json", []Enclosure{
			{URL: "https://cdn.example.org/j1.mp3", Length: 3000000000, Type: "audio/mpeg"},
			{URL: "https://pod.example/j1.vtt", Type: "text/vtt"},
		}},
		// On disk, with no site link either, there is no web address:
		// relative enclosures go, absolute ones stay.
		{"rss from a file", strings.Replace(rss, "<link>https://pod.example/</link>", "", 1), "file:///srv/pod/feed.xml", []Enclosure{
			{URL: "https://cdn.example.org/ep1.mp3", Length: 12345678, Type: "audio/mpeg"},
			{URL: "HTTPS://cdn.example.org/ep1.ogg", Type: "audio/ogg"},
			{URL: "https://cdn.example.org/ep1.flac"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := mustParse(t, []byte(c.body), "", "", c.feedURL, time.UTC)
			if got := f.Items[0].Enclosures; !reflect.DeepEqual(got, c.want) {
				t.Errorf("enclosures\n got %+v\nwant %+v", got, c.want)
			}
			for _, it := range f.Items[1:] {
				if it.Enclosures != nil {
					t.Errorf("item %s has no enclosure in the source, got %+v", it.GUID, it.Enclosures)
				}
			}
		})
	}
}

// An item keeps at most MaxEnclosures, the first ones; an absurd type is
// dropped, not cut.
func TestEnclosuresBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<rss version="2.0"><channel><title>t</title><item><guid>g</guid><title>x</title>`)
	fmt.Fprintf(&b, `<enclosure url="https://cdn.example.org/long.mp3" length="1" type="audio/%s"/>`, strings.Repeat("x", 300))
	for i := range 3 * MaxEnclosures {
		fmt.Fprintf(&b, `<enclosure url="https://cdn.example.org/%d.mp3" length="%d" type="audio/mpeg"/>`, i, i)
	}
	b.WriteString(`</item></channel></rss>`)
	got := mustParse(t, []byte(b.String()), "", "", "https://pod.example/feed.xml", time.UTC).Items[0].Enclosures
	if len(got) != MaxEnclosures {
		t.Fatalf("%d enclosures kept, want %d", len(got), MaxEnclosures)
	}
	if got[0] != (Enclosure{URL: "https://cdn.example.org/long.mp3", Length: 1}) {
		t.Errorf("first enclosure %+v: want its 300-character type dropped", got[0])
	}
	if last := got[MaxEnclosures-1]; last.URL != fmt.Sprintf("https://cdn.example.org/%d.mp3", MaxEnclosures-2) {
		t.Errorf("last enclosure kept is %s: not the first ones in the source's order", last.URL)
	}
}

// A changed enclosure is a changed item (its new file must reach the
// readers); an item without enclosures keeps the hash it had before
// enclosures were kept, so an upgrade does not count every stored item of
// a feed without them as changed.
func TestEnclosuresInContentHash(t *testing.T) {
	doc := func(enclosure string) []byte {
		return []byte(`<rss version="2.0"><channel><title>t</title><item><guid>g1</guid>` +
			`<link>https://example.org/1</link><title>标题</title><description>&lt;p&gt;正文&lt;/p&gt;</description>` +
			enclosure + `</item></channel></rss>`)
	}
	hash := func(enclosure string) string {
		return mustParse(t, doc(enclosure), "", "", "https://example.org/rss", time.UTC).Items[0].Hash
	}
	none := hash("")
	mp3 := hash(`<enclosure url="https://cdn.example.org/1.mp3" length="100" type="audio/mpeg"/>`)
	longer := hash(`<enclosure url="https://cdn.example.org/1.mp3" length="200" type="audio/mpeg"/>`)
	moved := hash(`<enclosure url="https://cdn2.example.org/1.mp3" length="100" type="audio/mpeg"/>`)
	retyped := hash(`<enclosure url="https://cdn.example.org/1.mp3" length="100" type="audio/mp3"/>`)
	unsafe := hash(`<enclosure url="javascript:alert(1)" length="100" type="audio/mpeg"/>`)
	for name, h := range map[string]string{"no enclosure": none, "length": longer, "url": moved, "type": retyped} {
		if h == mp3 {
			t.Errorf("a change of the enclosure's %s leaves the hash as it was", name)
		}
	}
	if unsafe != none {
		t.Errorf("an enclosure that is not kept changes the hash: %s, without it %s", unsafe, none)
	}
	// The hash this item had before enclosures were kept (the same
	// fields as TestOriginInContentHash's item: link, title, author,
	// content, summary, categories and dates, each with its NUL).
	if none != "5f34c792e425b23ebf080aba72d36bdd" {
		t.Errorf("the hash of an item without enclosures changed: %s", none)
	}
}

// A podcast app downloads enclosures by itself, from its user's network: a
// public source's enclosure on a private or loopback address (the router,
// the cloud metadata service) is not kept. What the operator named is:
// the source's own literal address (its relative enclosures resolve to
// it), localhost when its URL says localhost, anything with
// allow_private_networks.
func TestEnclosuresOnPrivateAddresses(t *testing.T) {
	doc := []byte(`<rss version="2.0"><channel><title>t</title><item><guid>g</guid><title>x</title>
<enclosure url="https://cdn.example.org/ep.mp3" length="1" type="audio/mpeg"/>
<enclosure url="/ep.m4a" length="1" type="audio/mp4"/>
<enclosure url="http://192.168.1.1/reboot" length="1" type="audio/mpeg"/>
<enclosure url="http://169.254.169.254/latest/meta-data/" length="1" type="audio/mpeg"/>
<enclosure url="http://[::1]:9090/x.mp3" length="1" type="audio/mpeg"/>
<enclosure url="http://LOCALHOST./x.mp3" length="1" type="audio/mpeg"/>
<enclosure url="http://2130706433/a.mp3" length="1" type="audio/mpeg"/>
<enclosure url="http://0x7f000001/b.mp3" length="1" type="audio/mpeg"/>
<enclosure url="http://0177.0.0.1/c.mp3" length="1" type="audio/mpeg"/>
<enclosure url="http://127.1/d.mp3" length="1" type="audio/mpeg"/>
<enclosure url="http://10.1/e.mp3" length="1" type="audio/mpeg"/>
<enclosure url="http://99999999999/f.mp3" length="1" type="audio/mpeg"/>
<enclosure url="http://134744072/public.mp3" length="1" type="audio/mpeg"/>
</item></channel></rss>`)
	urls := func(src Source) []string {
		t.Helper()
		f := mustParse(t, doc, "", "", src.URL, time.UTC)
		src.Identify(f, time.Now())
		var out []string
		for _, e := range f.Items[0].Enclosures {
			out = append(out, e.URL)
		}
		return out
	}
	// Loopback written as inet_aton reads it (one number, hex, octal, a
	// short form), a private short form, a number that is no address; and
	// 8.8.8.8 as one number, public.
	legacyLoopback := []string{"http://2130706433/a.mp3", "http://0x7f000001/b.mp3", "http://0177.0.0.1/c.mp3", "http://127.1/d.mp3"}
	public := "http://134744072/public.mp3"
	cases := []struct {
		src  Source
		want []string
	}{
		{Source{URL: "https://pod.example/feed.xml"}, []string{"https://cdn.example.org/ep.mp3", "https://pod.example/ep.m4a", public}},
		{Source{URL: "http://192.168.1.1/feed.xml"}, []string{"https://cdn.example.org/ep.mp3", "http://192.168.1.1/ep.m4a", "http://192.168.1.1/reboot", public}},
		{Source{URL: "http://localhost:8000/feed.xml"}, append(append([]string{"https://cdn.example.org/ep.mp3", "http://localhost:8000/ep.m4a",
			"http://[::1]:9090/x.mp3", "http://LOCALHOST./x.mp3"}, legacyLoopback...), public)},
		{Source{URL: "https://pod.example/feed.xml", AllowPrivateNetworks: true}, append(append([]string{"https://cdn.example.org/ep.mp3", "https://pod.example/ep.m4a",
			"http://192.168.1.1/reboot", "http://169.254.169.254/latest/meta-data/", "http://[::1]:9090/x.mp3", "http://LOCALHOST./x.mp3"},
			legacyLoopback...), "http://10.1/e.mp3", public)}, // a number that is no address never is
	}
	for _, c := range cases {
		if got := urls(c.src); !reflect.DeepEqual(got, c.want) {
			t.Errorf("source %s (allow_private_networks %v): enclosures\n got %q\nwant %q", c.src.URL, c.src.AllowPrivateNetworks, got, c.want)
		}
	}
}
