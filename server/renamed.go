package server

import (
	"net/http"
)

// A source whose slug the config changed (a new slug:, or a renamed name
// whose pinyin is its default slug) keeps its row, items and entry ids in
// the store under the new slug (storage.DB.SyncSourcesReport), and keeps
// its subscribers: its old addresses answer a permanent redirect, which
// feed readers follow by updating the feed's URL.
//
//	/sources/{old}.atom (.rss, .json) → /sources/{new}.atom (…), query kept
//	/s/{old}                          → /s/{new}
//
// Only to a source configured now (a renamed source since removed is 404,
// as any unconfigured one), and a former slug the config gives to another
// source again is that source's (the store forgets it as former).

// renamedSource answers a request for a source slug that is not
// configured: a 301 to to(current) (a path below base_url) when slug is a
// former slug of the configured source current, else 404.
func (s *Server) renamedSource(w http.ResponseWriter, r *http.Request, opts *Options, slug string, to func(current string) string) {
	current, ok, err := s.store.FormerSlug(r.Context(), slug)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.movedTo(func(*http.Request, *Options) (string, bool) {
		return to(current), ok && sourceOf(opts, current) != nil
	})(w, r)
}
