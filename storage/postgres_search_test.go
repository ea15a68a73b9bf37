package storage

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/htmltext"
)

// copyToPostgres copies the sources and items of lite into pg, ids
// unchanged, and queues the items for the search index, as a poll would:
// the PostgreSQL search tests search the very items SQLite's do. (A
// stand-in for the PostgreSQL Save to come, and for `feedrelay copy`.)
func copyToPostgres(tb testing.TB, lite *DB, pg *sql.DB) {
	tb.Helper()
	ctx := context.Background()
	sources, err := lite.Sources(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	var slugs []string
	for _, s := range sources {
		slugs = append(slugs, s.Slug)
		if _, err := pg.ExecContext(ctx, `INSERT INTO sources (slug, name, url) VALUES ($1, $2, $3)
			ON CONFLICT (slug) DO NOTHING`, s.Slug, s.Name, s.URL); err != nil {
			tb.Fatal(err)
		}
	}
	var before *Cursor
	for {
		es, err := lite.Entries(ctx, EntryQuery{Sources: slugs, Limit: 500, Before: before})
		if err != nil {
			tb.Fatal(err)
		}
		if len(es) == 0 {
			return
		}
		var (
			values []string
			args   []any
		)
		for _, e := range es {
			n := len(args)
			args = append(args, e.ID, e.Source.Slug, e.EntryID, e.Link, e.Title, e.Content, e.Summary,
				e.Published.Unix(), e.Updated.Unix(), e.FirstSeen.Unix())
			values = append(values, fmt.Sprintf("($%d::bigint, $%d, $%d, $%d, $%d, $%d, $%d, $%d::bigint, $%d::bigint, $%d::bigint)",
				n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9, n+10))
		}
		if _, err := pg.ExecContext(ctx, `WITH v (id, slug, entry_id, link, title, content, summary, published, updated, first_seen) AS (
				VALUES `+strings.Join(values, ",")+`),
			ins AS (
				INSERT INTO items (id, source_id, identity, entry_id, link, title, content, summary, published, updated, first_seen, content_hash)
				SELECT v.id, s.id, v.entry_id, v.entry_id, v.link, v.title, v.content, v.summary, v.published, v.updated, v.first_seen, ''
				FROM v JOIN sources s ON s.slug = v.slug
				RETURNING id)
			INSERT INTO search_queue (id) SELECT id FROM ins`, args...); err != nil {
			tb.Fatal(err)
		}
		c := CursorOf(&es[len(es)-1])
		before = &c
	}
}

func pgIndexed(tb testing.TB, pg *sql.DB) {
	tb.Helper()
	if _, err := pgIndexAll(context.Background(), pg); err != nil {
		tb.Fatal(err)
	}
	// Statistics for the planner, as autovacuum gathers them in time.
	if _, err := pg.ExecContext(context.Background(), "ANALYZE"); err != nil {
		tb.Fatal(err)
	}
}

// bothFind searches q on SQLite and on PostgreSQL, and fails the test
// unless both find the same entries in the same order.
func bothFind(t *testing.T, lite *DB, pg *sql.DB, q SearchQuery) []string {
	t.Helper()
	ctx := context.Background()
	want, err := lite.Search(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgSearch(ctx, pg, q)
	if err != nil {
		t.Fatalf("postgresql: %v", err)
	}
	if !slices.Equal(guids(got), guids(want)) {
		t.Errorf("search %q in %v: postgresql finds %v, sqlite %v", q.Text, q.Sources, guids(got), guids(want))
	}
	return guids(got)
}

// TestPostgresSearch_AsOnSQLite: the queries of TestSearch and
// TestSearch_ShortTermsThroughIndex, on the same items, find the same
// entries on PostgreSQL as on SQLite.
func TestPostgresSearch_AsOnSQLite(t *testing.T) {
	ctx := context.Background()
	lite := newSearchDB(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	t0 := time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)
	if _, err := lite.Save(ctx, result("other", "",
		searchItem("e", "A股", "<p>涨</p>", t0),
		searchItem("f", "x", "<p>收盘<em>大涨</em></p>", t0.Add(time.Hour)),
		searchItem("g", "z", "<p>涨幅</p>", t0.Add(2*time.Hour)),
	)); err != nil {
		t.Fatal(err)
	}
	indexed(t, lite)
	pg := pgDB(t)
	copyToPostgres(t, lite, pg)
	pgIndexed(t, pg)
	found := 0
	for _, q := range []string{
		"成交额", "两市成交额突破", "两市", "午后", "两市成交", "涨", "科技 ETF", "ETF 科技", "科技", "etf", "fed", "Fe",
		"rates & guidance", "strong", "class", "note", "amp", "p", "芯片科技公司", "公司集体", "公司 集体", "科技 涨 芯片",
		"没有的词", `a"b`, `"两`, `"`, "%", "_", "  ", "A股", "a股", "股", "a", "大涨", "x", "z", "涨幅", "收", "股 涨", "跌", "q",
	} {
		for _, sources := range [][]string{{"stcn", "other"}, {"other"}} {
			if len(bothFind(t, lite, pg, SearchQuery{Text: q, Sources: sources, Limit: 100})) > 0 {
				found++
			}
		}
	}
	if found < 30 {
		t.Errorf("only %d queries found anything", found)
	}
	// Paging: the second page continues where the first stopped.
	first := bothFind(t, lite, pg, SearchQuery{Text: "涨", Sources: []string{"stcn", "other"}, Limit: 2})
	es, err := pgSearch(ctx, pg, SearchQuery{Text: "涨", Sources: []string{"stcn", "other"}, Limit: 2})
	if err != nil || len(es) != 2 {
		t.Fatalf("first page %v, %v", first, err)
	}
	c := CursorOf(&es[1])
	bothFind(t, lite, pg, SearchQuery{Text: "涨", Sources: []string{"stcn", "other"}, Limit: 2, Before: &c})
}

// TestPostgresSearch_Corpus compares both backends on 1,000 items of the
// benchmark's corpus, for terms of one to five characters cut from the
// items' own text (some found in most items, some in one) and pairs of
// them.
func TestPostgresSearch_Corpus(t *testing.T) {
	ctx := context.Background()
	lite := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	c := newCorpus()
	for n := 0; n < 1000; n += 500 {
		if _, err := lite.Save(ctx, c.batch([]string{"stcn", "other"}[n/500%2], 500)); err != nil {
			t.Fatal(err)
		}
	}
	indexed(t, lite)
	pg := pgDB(t)
	copyToPostgres(t, lite, pg)
	pgIndexed(t, pg)
	all, err := lite.Entries(ctx, EntryQuery{Sources: []string{"stcn", "other"}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 14))
	term := func() string {
		e := all[rng.IntN(len(all))]
		words := strings.Fields(htmltext.Plain(e.Title + " " + e.Content))
		w := []rune(words[rng.IntN(len(words))])
		n := min(1+rng.IntN(5), len(w))
		i := rng.IntN(len(w) - n + 1)
		return string(w[i : i+n])
	}
	for i := range 150 {
		q := term()
		if i%4 == 0 {
			q += " " + term()
		}
		bothFind(t, lite, pg, SearchQuery{Text: q, Sources: []string{"stcn", "other"}, Limit: 20})
		if t.Failed() {
			return
		}
	}
}

// TestPostgresSearch_Reindexed: an item changed and queued again is found
// by its new text only; a deleted one leaves the index.
func TestPostgresSearch_Reindexed(t *testing.T) {
	ctx := context.Background()
	lite := newSearchDB(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	pg := pgDB(t)
	copyToPostgres(t, lite, pg)
	pgIndexed(t, pg)
	if _, err := pg.ExecContext(ctx, `UPDATE items SET title = '沪指收涨', content = '<p>北向资金净买入</p>' WHERE link = 'https://example.org/a';
		INSERT INTO search_queue (id) SELECT id FROM items WHERE link = 'https://example.org/a';
		DELETE FROM items WHERE link = 'https://example.org/d'`); err != nil {
		t.Fatal(err)
	}
	pgIndexed(t, pg)
	for q, want := range map[string][]string{
		"成交额": {}, "两市": {}, "午后": {}, "北向资金": {"a"}, "沪指": {"a"}, "科技": {"b"}, "芯片": {},
	} {
		es, err := pgSearch(ctx, pg, SearchQuery{Text: q, Sources: []string{"stcn", "other"}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if got := guids(es); !slices.Equal(got, want) {
			t.Errorf("after the update, search %q = %v, want %v", q, got, want)
		}
	}
	var rows int
	if err := pg.QueryRowContext(ctx, "SELECT count(*) FROM items_search").Scan(&rows); err != nil || rows != 3 {
		t.Errorf("%d index rows for 3 items (%v)", rows, err)
	}
}

func TestSearchGrams(t *testing.T) {
	got := searchGrams(searchDoc("A股 涨", "<p>两市<b>x</b> ok</p>", ""))
	want := []string{"a", "a股", "股", "涨", "两", "两市", "市", "市x", "x", "o", "ok", "k"}
	if !slices.Equal(got, want) {
		t.Errorf("grams %q, want %q", got, want)
	}
}

// BenchmarkSearchBackends measures, in one run, the queries of
// BenchmarkSearch on 100,000 items of its corpus, on SQLite (saved through
// Save, indexed by IndexAll) and on PostgreSQL (the same items copied,
// indexed by pgIndexAll, then ANALYZE), reporting each one's median:
//
//	go test ./storage -run '^$' -bench SearchBackends -benchtime=100x -v
func BenchmarkSearchBackends(b *testing.B) {
	ctx := context.Background()
	lite := mustOpen(b, filepath.Join(b.TempDir(), "bench.db"))
	c := newCorpus()
	start := time.Now()
	for n := 0; n < benchItems; n += 500 {
		if _, err := lite.Save(ctx, c.batch([]string{"stcn", "other"}[n/500%2], 500)); err != nil {
			b.Fatal(err)
		}
	}
	indexed(b, lite)
	b.Logf("sqlite: %d items saved and indexed in %v", benchItems, time.Since(start).Round(time.Second))
	pg := pgDB(b)
	start = time.Now()
	copyToPostgres(b, lite, pg)
	copied := time.Since(start)
	start = time.Now()
	if _, err := pgIndexAll(ctx, pg); err != nil {
		b.Fatal(err)
	}
	indexing := time.Since(start)
	if _, err := pg.ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	var size, searchSize int64
	if err := pg.QueryRowContext(ctx, `SELECT pg_database_size(current_database()),
		pg_total_relation_size('items_search')`).Scan(&size, &searchSize); err != nil {
		b.Fatal(err)
	}
	b.Logf("postgresql: copied in %v, indexed in %v (%.0f items/s); database %d MB, items_search with its indexes %d MB",
		copied.Round(time.Second), indexing.Round(time.Second), benchItems/indexing.Seconds(), size>>20, searchSize>>20)

	all := []string{"stcn", "other"}
	backends := []struct {
		name   string
		search func(SearchQuery) ([]Entry, error)
	}{
		{"sqlite", func(q SearchQuery) ([]Entry, error) { return lite.Search(ctx, q) }},
		{"postgres", func(q SearchQuery) ([]Entry, error) { return pgSearch(ctx, pg, q) }},
	}
	for _, bc := range []struct {
		name, q string
		sources []string
	}{
		{"3char", "净流入", all},
		{"3char-common", "成交额", all},
		{"4char-rare", "不及预期", all},
		{"2char", "两市", all},
		{"2char-mid", "午后", all},
		{"2char-rare", "韧性", all},
		{"1char", "涨", all},
		{"mixed", "科技 ETF", all},
		{"none", "没有的词", all},
		{"3char-1source", "净流入", []string{"stcn"}},
	} {
		for _, be := range backends {
			b.Run(bc.name+"/"+be.name, func(b *testing.B) {
				q := SearchQuery{Text: bc.q, Sources: bc.sources, Limit: 50}
				matches, err := be.search(SearchQuery{Text: bc.q, Sources: bc.sources, Limit: benchItems})
				if err != nil {
					b.Fatal(err)
				}
				var durations []time.Duration
				for b.Loop() {
					t := time.Now()
					es, err := be.search(q)
					durations = append(durations, time.Since(t))
					if err != nil {
						b.Fatal(err)
					}
					if len(es) != min(len(matches), 50) {
						b.Fatalf("%q found %d", bc.q, len(es))
					}
				}
				slices.Sort(durations)
				b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(len(matches)), "matches")
			})
		}
	}
}
