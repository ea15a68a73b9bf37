package feeds

import (
	"testing"
	"time"
)

// gofeed's own errors ("failed to detect feed type", encoding/json's Go type
// names) reach the index page and the logs: each says what is wrong with
// the document in the words of the formats involved.
func TestParseErrorsSayWhatIsWrong(t *testing.T) {
	for _, c := range []struct{ name, ct, body, want string }{
		{"another XML document", "application/xml", `<?xml version="1.0"?><note><to>Tove</to></note>`,
			"not a feed (application/xml whose root element is <note>, not <rss>, <feed> or <rdf:RDF>)"},
		{"only a comment", "", "<!-- nothing -->",
			"not a feed (a document without a content type holding no XML element)"},
		// An optional field of the wrong type is mended
		// (TestJSONFeedWrongTypes); items that are no array are no feed.
		{"JSON Feed whose items are not an array", "application/feed+json",
			`{"version":"https://jsonfeed.org/version/1.1","title":"t","items":"a,b"}`,
			"parse: JSON Feed: items is a JSON string, the JSON Feed spec wants an array: "},
		{"truncated", "application/rss+xml", "<rss version=\"2.0\"><channel><title>t</title>\n<item><title>a",
			"parse: XML syntax error on line 2: unexpected EOF (the document is cut short)"},
	} {
		_, err := Parse([]byte(c.body), c.ct, "", "https://example.org/feed", time.UTC)
		if err == nil || len(err.Error()) < len(c.want) || err.Error()[:len(c.want)] != c.want {
			t.Errorf("%s: error %v, want it to start %q", c.name, err, c.want)
		}
	}
}
