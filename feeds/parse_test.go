package feeds

import (
	"fmt"
	"testing"
	_ "time/tzdata"
)

func TestProbe(t *testing.T) {
	for _, c := range []struct{ b, ct string }{
		{"<rss version=\"2.0\"><channel><title>x</title><item><title>a</title><pubDate>2026-11-26 09:30:00</pubDate></item></channel></rss>", ""},
		{"<rss version=\"2.0\"><channel><title>x</title><item><title>a</title><pubDate>Thu, 26 Nov 2026 09:30:00 CST</pubDate></item></channel></rss>", ""},
	} {
		func() {
			defer func() { fmt.Println("recovered:", recover()) }()
			f, err := Parse([]byte(c.b), c.ct, "", "https://feed.example.com/x/feed.xml", nil)
			fmt.Println(f, err)
		}()
	}
}
