package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/feedrelay/feedrelay/storage"
)

// maxSearchRunes bounds the length of a search query, in characters.
const maxSearchRunes = 200

// handleSearch serves GET /search?q=…[&category=…][&before=…]: an Atom feed
// of the entries whose title or text contains every term of q (terms
// separated by spaces; Chinese words of any length), newest first, from
// every source or from one category's, filtered and folded as that feed
// is, and paged like every feed. Searches are not cached: few repeat.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	opts := s.opts.Load()
	params := r.URL.Query()
	q := strings.Join(strings.Fields(params.Get("q")), " ")
	switch {
	case q == "":
		http.Error(w, "missing search terms: /search?q=…", http.StatusBadRequest)
		return
	case utf8.RuneCountInString(q) > maxSearchRunes:
		http.Error(w, fmt.Sprintf("search terms longer than %d characters", maxSearchRunes), http.StatusBadRequest)
		return
	case !utf8.ValidString(q):
		http.Error(w, "search terms are not UTF-8", http.StatusBadRequest)
		return
	}
	before, after, _, err := pageQuery(params)
	if err == nil && after != nil {
		err = fmt.Errorf("%w: search pages go back only (before=)", errBadQuery)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	// The query of the first page, canonical: the feed's id and links.
	query := "q=" + url.QueryEscape(q)
	title, htmlURL := opts.Title, opts.BaseURL
	var sel selection
	switch slug := params.Get("category"); slug {
	case "", "all":
		sel = opts.allSelection()
	default:
		cat := findCategory(opts, slug)
		if cat == nil {
			http.NotFound(w, r)
			return
		}
		sel = opts.categorySelection(cat)
		query += "&category=" + url.QueryEscape(slug)
		title, htmlURL = cat.Title, opts.BaseURL+"c/"+slug
	}
	p := &page{
		ID:      tagURI(opts.BaseURL, "search?"+query),
		Title:   "搜索 (search)：" + q + " — " + title,
		Lang:    opts.Language,
		Path:    "search",
		HTMLURL: htmlURL,
		base:    opts.BaseURL,
		search:  query,
	}
	if before != nil {
		p.Query = "before=" + cursorParam(*before)
	}
	find := func(ctx context.Context, limit int, before, _ *storage.Cursor) ([]storage.Entry, error) {
		return s.store.Search(ctx, storage.SearchQuery{Text: q, Sources: sel.sources, Limit: limit, Before: before})
	}
	ctx, cancel := context.WithTimeout(r.Context(), renderTimeout)
	defer cancel()
	if err := s.loadPage(ctx, p, sel, find, opts.PageSize, before, nil); err != nil {
		s.internalError(w, r, err)
		return
	}
	p.Previous = "" // search pages go back only
	vs, err := views(p, opts.Attribution)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	body, err := renderAtom(p, vs)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", atomType+"; charset=utf-8")
	w.Write(body)
}
