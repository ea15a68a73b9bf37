package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/feedrelay/feedrelay/opml"
	"github.com/feedrelay/feedrelay/publish"
	"github.com/feedrelay/feedrelay/xmlchar"
)

// handleOPML lists every published feed (Atom) as OPML 2.0, so that a
// reader can subscribe to all of them at once.
//
// htmlUrl is, in OPML 2.0's words, the feed's top-level link: the site a
// reader shows the subscription as (its "visit website" link, its icon).
// A category's is its page here; a source's is the source's own website,
// as its feed names it (the <link> of the feed we poll), else, before its
// first poll or for a feed that names none, its page here (/s/{slug}).
func (s *Server) handleOPML(w http.ResponseWriter, r *http.Request) {
	opts := s.opts.Load()
	ctx := r.Context()
	// Cached like the pages, at the data version: the sites come from the
	// sources' polls.
	rd, err := s.cache.get(ctx, "/opml", s.store.DataVersion(ctx), opts, false, clientOf(r), func() (*rendered, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), renderTimeout)
		defer cancel()
		body, err := s.renderOPML(ctx, opts)
		if err != nil {
			return nil, err
		}
		return &rendered{plain: representation{body: body}, modified: s.now(), contentType: "text/x-opml; charset=utf-8"}, nil
	})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	serveRendered(w, r, rd)
}

func (s *Server) renderOPML(ctx context.Context, opts *Options) ([]byte, error) {
	states, err := s.store.Sources(ctx)
	if err != nil {
		return nil, fmt.Errorf("OPML: %w", err)
	}
	text := xmlchar.Clean // encoding/xml would write U+FFFD for what XML forbids; drop it, as every format does
	cats := opml.Group{Title: "分类 Categories", Feeds: []opml.Feed{
		{Title: text(opts.Title + " · 全部"), XMLURL: opts.BaseURL + "feeds/all.atom", HTMLURL: opts.BaseURL}}}
	for _, c := range opts.Categories {
		cats.Feeds = append(cats.Feeds, opml.Feed{Title: text(c.Title),
			XMLURL: opts.BaseURL + "feeds/" + c.Slug + ".atom", HTMLURL: s.categoryPageURL(opts, c.Slug)})
	}
	srcs := opml.Group{Title: "来源 Sources"}
	for _, src := range opts.Sources {
		site := sourcePageURL(opts, src.Slug)
		if st := stateOf(states, src.Slug); st != nil && publish.WebLink(st.SiteURL) != "" {
			site = st.SiteURL
		}
		srcs.Feeds = append(srcs.Feeds, opml.Feed{Title: text(src.Name),
			XMLURL: opts.BaseURL + "sources/" + src.Slug + ".atom", HTMLURL: site})
	}
	var buf bytes.Buffer
	// In the config's zone, not the machine's: the same bytes from a cron
	// job in UTC and a shell in +0800 (a static export rewrites nothing).
	created := s.epoch(opts)
	if opts.Location != nil {
		created = created.In(opts.Location)
	}
	if err := opml.Write(&buf, text(opts.Title), created, []opml.Group{cats, srcs}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
