package feeds

import (
	"html"
	"strings"

	"github.com/mmcdole/gofeed"
	"github.com/mmcdole/gofeed/atom"
	"github.com/mmcdole/gofeed/json"
)

// gofeed's universal Item holds content as a string, whatever the format
// said it was; everything after parsing reads it as HTML. Content a feed
// declares plain text — an Atom <content type="text">, a JSON Feed item's
// content_text and summary — would then have its "<b>" or "x < y" read as
// markup: a tag lost, or a live unclosed tag that bolds the rest of the
// entry. These translators are gofeed's own, with such text escaped into
// the HTML that shows it (line breaks kept), as feedparser does.

// atomTranslator is gofeed's Atom translator, with type="text" content
// escaped.
type atomTranslator struct{ gofeed.DefaultAtomTranslator }

func (t *atomTranslator) Translate(feed any) (*gofeed.Feed, error) {
	f, err := t.DefaultAtomTranslator.Translate(feed)
	if err != nil {
		return nil, err
	}
	af, ok := feed.(*atom.Feed)
	if !ok || len(af.Entries) != len(f.Items) {
		return f, nil
	}
	for i, e := range af.Entries {
		if e == nil || e.Content == nil || f.Items[i] == nil {
			continue
		}
		// Only a declared text type: content without one is text by
		// RFC 4287, but feeds that leave it out mostly mean HTML.
		if typ := strings.ToLower(strings.TrimSpace(e.Content.Type)); typ == "text" || typ == "text/plain" {
			f.Items[i].Content = textHTML(f.Items[i].Content)
		}
	}
	return f, nil
}

// jsonTranslator is gofeed's JSON Feed translator, with content_text
// (when there is no content_html) and summary escaped: JSON Feed allows
// HTML only in content_html. Its titles' character references are read.
type jsonTranslator struct{ gofeed.DefaultJSONTranslator }

func (t *jsonTranslator) Translate(feed any) (*gofeed.Feed, error) {
	f, err := t.DefaultJSONTranslator.Translate(feed)
	if err != nil {
		return nil, err
	}
	jf, ok := feed.(*json.Feed)
	if !ok || len(jf.Items) != len(f.Items) {
		return f, nil
	}
	// WordPress and others write a JSON Feed's titles as they write HTML
	// ones, with character references ("&#8216;Jokes&#8217;"), which a
	// reader would show as such: they are read once.
	f.Title = html.UnescapeString(f.Title)
	for i, it := range jf.Items {
		if it == nil || f.Items[i] == nil {
			continue
		}
		f.Items[i].Title = html.UnescapeString(f.Items[i].Title)
		if it.ContentHTML == "" && it.ContentText != "" {
			f.Items[i].Content = textHTML(f.Items[i].Content)
		}
		if it.Summary != "" {
			f.Items[i].Description = textHTML(f.Items[i].Description)
		}
	}
	return f, nil
}

// textHTML is plain text as HTML that shows it: escaped, each line break
// a <br>.
func textHTML(text string) string {
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
	return strings.ReplaceAll(html.EscapeString(text), "\n", "<br>")
}
