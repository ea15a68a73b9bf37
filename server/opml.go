package server

import (
	"bytes"
	"net/http"

	"github.com/feedrelay/feedrelay/opml"
	"github.com/feedrelay/feedrelay/xmlchar"
)

// handleOPML lists every published feed (Atom) as OPML 2.0, so that a
// reader can subscribe to all of them at once.
func (s *Server) handleOPML(w http.ResponseWriter, r *http.Request) {
	opts := s.opts.Load()
	text := xmlchar.Clean // encoding/xml would write U+FFFD for what XML forbids; drop it, as every format does
	cats := opml.Group{Title: "分类 Categories", Feeds: []opml.Feed{
		{Title: text(opts.Title + " · 全部"), XMLURL: opts.BaseURL + "feeds/all.atom", HTMLURL: opts.BaseURL}}}
	for _, c := range opts.Categories {
		cats.Feeds = append(cats.Feeds, opml.Feed{Title: text(c.Title),
			XMLURL: opts.BaseURL + "feeds/" + c.Slug + ".atom", HTMLURL: s.categoryPageURL(opts, c.Slug)})
	}
	srcs := opml.Group{Title: "来源 Sources"}
	for _, src := range opts.Sources {
		srcs.Feeds = append(srcs.Feeds, opml.Feed{Title: text(src.Name),
			XMLURL: opts.BaseURL + "sources/" + src.Slug + ".atom", HTMLURL: sourcePageURL(opts, src.Slug)})
	}
	var buf bytes.Buffer
	if err := opml.Write(&buf, text(opts.Title), s.epoch(opts), []opml.Group{cats, srcs}); err != nil {
		s.internalError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/x-opml; charset=utf-8")
	w.Write(buf.Bytes())
}
