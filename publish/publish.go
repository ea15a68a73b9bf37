// Package publish is the publish stage: for one feed (a category's, a
// source's, every source's, or a search's) and a cursor, it returns the page
// of entries that feed shows, newest first. It selects the stored items of
// the feed's sources, keeps those the source and category filters keep,
// folds the copies of one story that other sources carry into the entry
// first seen, and attributes each entry (author, attribution line, copies,
// the feed it came from), so that every output format (Atom, RSS, JSON
// Feed, the HTML pages, an export) renders the same entries. It also
// explains those decisions, for `feedrelay explain`.
//
// It reads a Store and does no HTTP and no SQL. Folding only ever joins
// items of different sources: a source's own items are distinct posts, all
// shown, even when they share a title or a link.
package publish

import (
	"context"
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/filter"
	"github.com/feedrelay/feedrelay/storage"
	"github.com/feedrelay/feedrelay/xmlchar"
)

// Store is what publishing reads. *storage.DB implements it.
type Store interface {
	// Entries returns stored entries newest first, around a position.
	Entries(ctx context.Context, q storage.EntryQuery) ([]storage.Entry, error)
	// Search returns the entries matching a text, newest first.
	Search(ctx context.Context, q storage.SearchQuery) ([]storage.Entry, error)
	// CopiesOf returns, by entry id, the other items of sources that share
	// a story key with each of entries, first-seen first.
	CopiesOf(ctx context.Context, sources []string, entries []storage.Entry, titleWindow time.Duration) (map[int64][]storage.Entry, error)
}

var _ Store = (*storage.DB)(nil)

// Category is a published category and the sources it gathers.
type Category struct {
	Slug    string
	Title   string
	Sources []string      // slugs
	Rules   *filter.Rules // nil: publish everything
	// DedupTitles folds items of the same title (within
	// Options.TitleWindow) into one story, as well as those of the same
	// link.
	DedupTitles bool
}

// Source is a published source.
type Source struct {
	Slug  string
	Name  string
	URL   string
	Rules *filter.Rules // nil: publish everything
}

// Options is what is published. It is read, never written, once given to
// New.
type Options struct {
	BaseURL     string // absolute, ending in "/": feed ids and links
	Title       string // of the feed of every source
	Language    string
	PageSize    int
	TitleWindow time.Duration // see Category.DedupTitles; zero: links only
	Attribution *template.Template
	Categories  []Category
	Sources     []Source
	// Links is how the pages of a feed are addressed in the links it
	// publishes (self, next, first; the HTML pages' older-entries link).
	Links LinkStyle
}

// LinkStyle is how a feed's pages are addressed.
type LinkStyle int

const (
	// QueryLinks address a page by a query the server reads:
	// feeds/markets.atom?before=1764118800.42.
	QueryLinks LinkStyle = iota
	// FileLinks address every page by a path of its own, for a static
	// host that ignores query strings (`feedrelay export static`):
	// feeds/markets/before-1764118800.42.atom, and c/markets/ for a
	// category's HTML page, c/markets/before-….html for its older
	// entries. Such pages have no "previous" link: a static site holds
	// the pages its first page leads to by "next", not every position
	// a previous page could start at.
	FileLinks
)

// Publisher publishes the feeds of one Options from a Store. It is safe for
// concurrent use.
type Publisher struct {
	store Store
	opts  *Options
}

// New returns a Publisher of opts reading from store.
func New(store Store, opts *Options) *Publisher {
	return &Publisher{store: store, opts: opts}
}

// Feed is one published feed: what it is called, where it lives, and what
// it selects.
type Feed struct {
	ID      string // tag: URI, stable
	Title   string
	Lang    string
	Path    string // under base_url, without extension: "feeds/markets"
	HTMLURL string // a page for people: the category page, or the index

	base string
	// search is the query every page of a search carries ("q=…"); a
	// search's path takes no format extension, and its pages go back only.
	search string
	sel    selection
	find   finder
	links  LinkStyle
	page   bool // HTMLURL is f's own page (a category's), which pages as f does
}

// URL is the address of f in the format with extension ext (".atom"), at
// the page given by query ("before=…"; empty: the first page), in the
// publisher's LinkStyle.
func (f *Feed) URL(ext, query string) string {
	if f.search != "" {
		ext = ""
		query = strings.TrimSuffix(f.search+"&"+query, "&")
	} else if f.links == FileLinks && query != "" {
		return f.base + f.Path + "/" + fileOf(query) + ext
	}
	u := f.base + f.Path + ext
	if query != "" {
		u += "?" + query
	}
	return u
}

// PageURL is the address of f's HTML page at the page given by query
// (empty: the first page), or "" if f has no HTML page of its own (only a
// category has).
func (f *Feed) PageURL(query string) string {
	if !f.page {
		return ""
	}
	u := f.HTMLURL
	switch {
	case query == "":
	case f.links == FileLinks:
		u += fileOf(query) + ".html"
	default:
		u += "?" + query
	}
	return u
}

// fileOf is a page query as a file name: "before=1764118800.42" →
// "before-1764118800.42" (the characters of a cursor are safe in a path).
func fileOf(query string) string { return strings.Replace(query, "=", "-", 1) }

// Sources are the slugs of the sources whose entries f may show.
func (f *Feed) Sources() []string { return f.sel.sources }

// Feeds are every feed published but searches: every source's together,
// each category's, each source's, in the config's order.
func (p *Publisher) Feeds() []*Feed {
	out := []*Feed{p.All()}
	for _, c := range p.opts.Categories {
		out = append(out, p.Category(c.Slug))
	}
	for _, s := range p.opts.Sources {
		out = append(out, p.Source(s.Slug))
	}
	return out
}

// All is the feed of every configured source.
func (p *Publisher) All() *Feed {
	f := p.feed("feeds/all", p.opts.Title, p.opts.BaseURL, p.allSelection())
	f.find = p.entriesOf(f.sel)
	return f
}

// Category is the feed of the category slug, or nil if there is none.
func (p *Publisher) Category(slug string) *Feed {
	cat := p.category(slug)
	if cat == nil {
		return nil
	}
	htmlURL := p.opts.BaseURL + "c/" + slug
	if p.opts.Links == FileLinks {
		htmlURL += "/" // c/{slug}/index.html on a static host
	}
	f := p.feed("feeds/"+slug, cat.Title, htmlURL, p.categorySelection(cat))
	f.find = p.entriesOf(f.sel)
	f.page = true
	return f
}

// Source is the feed of the source slug, or nil if there is none: every
// item the source stored that its filters keep, none folded.
func (p *Publisher) Source(slug string) *Feed {
	src := p.source(slug)
	if src == nil {
		return nil
	}
	f := p.feed("sources/"+slug, src.Name, p.opts.BaseURL, p.sourceSelection(src))
	f.find = p.entriesOf(f.sel)
	return f
}

// Search is the feed of the entries whose title or text contains every
// term of q, from every source (category "" or "all") or from one
// category's, filtered and folded as that feed is; nil if there is no such
// category. q is taken as it is: the caller trims and bounds it.
func (p *Publisher) Search(q, category string) *Feed {
	query := "q=" + url.QueryEscape(q)
	title, htmlURL := p.opts.Title, p.opts.BaseURL
	var sel selection
	switch category {
	case "", "all":
		sel = p.allSelection()
	default:
		cat := p.category(category)
		if cat == nil {
			return nil
		}
		sel = p.categorySelection(cat)
		query += "&category=" + url.QueryEscape(category)
		title, htmlURL = cat.Title, p.opts.BaseURL+"c/"+category
	}
	f := p.feed("search", "搜索 (search)："+q+" — "+title, htmlURL, sel)
	f.ID = tagURI(p.opts.BaseURL, "search?"+query)
	f.search = query
	f.find = func(ctx context.Context, limit int, before, _ *storage.Cursor) ([]storage.Entry, error) {
		return p.store.Search(ctx, storage.SearchQuery{Text: q, Sources: sel.sources, Limit: limit, Before: before})
	}
	return f
}

func (p *Publisher) feed(path, title, htmlURL string, sel selection) *Feed {
	return &Feed{
		ID:      tagURI(p.opts.BaseURL, path),
		Title:   xmlchar.Clean(title), // a YAML "\x01" is a name too
		Lang:    p.opts.Language,
		Path:    path,
		HTMLURL: htmlURL,
		base:    p.opts.BaseURL,
		sel:     sel,
		links:   p.opts.Links,
	}
}

func (p *Publisher) category(slug string) *Category {
	for i := range p.opts.Categories {
		if p.opts.Categories[i].Slug == slug {
			return &p.opts.Categories[i]
		}
	}
	return nil
}

func (p *Publisher) source(slug string) *Source {
	for i := range p.opts.Sources {
		if p.opts.Sources[i].Slug == slug {
			return &p.opts.Sources[i]
		}
	}
	return nil
}

// tagURI is the stable id of one of our feeds (RFC 4151): from the host of
// base_url, a fixed date, and the feed's path.
func tagURI(baseURL, path string) string {
	return feeds.TagURI(feeds.TagAuthority(baseURL), "2026", path)
}
