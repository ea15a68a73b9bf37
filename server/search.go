package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/feedrelay/feedrelay/publish"
	"github.com/feedrelay/feedrelay/xmlchar"
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
	params, err := queryOf(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	text, err := param(params, "q")
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	category, err := param(params, "category")
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := strings.Join(strings.Fields(text), " ")
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
	case xmlchar.Clean(q) != q:
		// No text we store holds one, and no feed may carry one back.
		http.Error(w, "search terms hold control characters", http.StatusBadRequest)
		return
	}
	cursor, _, err := pageQuery(params)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pub := s.publisher(opts)
	feed := pub.Search(q, category)
	if feed == nil {
		http.NotFound(w, r)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), renderTimeout)
	defer cancel()
	// The self link names the cursor in its canonical form.
	p, err := s.page(ctx, opts, pub, feed, cursor, cursor.String())
	if errors.Is(err, publish.ErrBadCursor) {
		http.Error(w, fmt.Sprintf("%v: %v", errBadQuery, err), http.StatusBadRequest)
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	p.hubs = nil // no hub hears of a search's changes
	body, err := renderAtom(p)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", atomType+"; charset=utf-8")
	w.Write(body)
}
