package feeds

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Optional JSON Feed fields of the wrong type cost that field, or are
// mended where their meaning is plain, and the feed says which; what is
// not a feed stays an error.
func TestJSONFeedWrongTypes(t *testing.T) {
	const doc = `{"version":"https://jsonfeed.org/version/1.1","title":2026,"author":["not","an","author"],
"items":[
 {"id":"1","url":"https://example.org/1","title":"一","tags":"沪指, 两市,,","author":"王一"},
 {"id":"2","url":"https://example.org/2","title":{"zh":"二"},"summary":"二","tags":"","authors":{"name":"李二"},
  "attachments":{"url":"https://example.org/2.mp3","mime_type":"audio/mpeg","size_in_bytes":"12"}},
 "not an item",
 {"id":"3","url":"https://example.org/3","title":"三","tags":["a",7,{"b":1}],"attachments":"x","authors":["张三",5]}
]}`
	f, err := Parse([]byte(doc), "application/feed+json", "", "https://example.org/feed.json", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if f.Title != "2026" || len(f.Items) != 3 {
		t.Fatalf("title %q, %d items", f.Title, len(f.Items))
	}
	one, two, three := f.Items[0], f.Items[1], f.Items[2]
	if strings.Join(one.Categories, "|") != "沪指|两市" || one.Author != "王一" {
		t.Errorf("item 1: tags %q, author %q", one.Categories, one.Author)
	}
	if strings.Contains(two.Title, "zh") || two.Author != "李二" {
		t.Errorf("item 2: title %q (an object: dropped), author %q", two.Title, two.Author)
	}
	if strings.Join(three.Categories, "|") != "a|7" || three.Author != "张三" {
		t.Errorf("item 3: tags %q, author %q", three.Categories, three.Author)
	}
	want := "JSON Feed fields not of the spec's type: " + strings.Join([]string{
		"author: an array dropped, 1 time",
		"items[].attachments: a string dropped, 1 time",
		"items[].attachments: an object read as an array of one, 1 time",
		"items[].author: a string read as the author's name, 1 time",
		"items[].authors: an object read as an array of one, 1 time",
		"items[].authors[]: a number dropped, 1 time",
		"items[].authors[]: a string read as the author's name, 1 time",
		"items[].tags: a number read as text, 1 time",
		"items[].tags: a string read as a comma-separated list, 2 times",
		"items[].tags[]: an object dropped, 1 time",
		"items[].title: an object dropped, 1 time",
		"items[]: a string dropped (not an item object), 1 time",
		"title: a number read as text, 1 time",
	}, "; ")
	if len(f.Warnings) != 1 || f.Warnings[0] != want {
		t.Errorf("warnings\n%q\nwant\n%q", f.Warnings, want)
	}

	for _, bad := range []string{
		`{"error":"rate limited"}`,
		`{"version":"1.0","data":[{"title":"x"}]}`,
		`{"version":"2.0","items":[]}`,
		`{"version":"1.1","items":{"title":"x"}}`,
	} {
		if f, err := Parse([]byte(bad), "application/json", "", "https://example.org/api", time.UTC); !errors.Is(err, ErrNotAFeed) {
			t.Errorf("%s: %v (feed %v), want ErrNotAFeed", bad, err, f)
		}
	}
}
