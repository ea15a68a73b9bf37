package storage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/internal/bench/synth"
)

// decodeTerms splits the output of termSet.terms into its terms, decoded
// back into characters.
func decodeTerms(encoded string) []string {
	var out []string
	for _, t := range strings.Split(encoded, " ") {
		if t == "" {
			continue
		}
		var b strings.Builder
		for i := 0; i < len(t); {
			if t[i] == termEscape && i+1 < len(t) {
				b.WriteByte(t[i+1] &^ 0x80)
				i += 2
				continue
			}
			r, n := utf8.DecodeRuneInString(t[i:])
			b.WriteRune(r)
			i += n
		}
		out = append(out, b.String())
	}
	return out
}

func TestTerms(t *testing.T) {
	var ts termSet
	for _, tc := range []struct {
		columns []string
		want    []string
	}{
		// Windows stop at white space and at the end of the column; none
		// begins with white space.
		{[]string{"Ab cd"}, []string{"ab", "b", "cd", "d"}},
		{[]string{"沪深两市"}, []string{"沪深两", "深两市", "两市", "市"}},
		{[]string{"  x\u3000y\u00a0 "}, []string{"x", "y"}},
		// Each term once, across the columns; none across them.
		{[]string{"abab", "ab"}, []string{"aba", "bab", "ab", "b"}},
		{[]string{"ab", "cd"}, []string{"ab", "b", "cd", "d"}},
		// Punctuation and controls are characters like any other.
		{[]string{"a.b\x00"}, []string{"a.b", ".b\x00", "b\x00", "\x00"}},
		{[]string{"ÉCOLE"}, []string{"éco", "col", "ole", "le", "e"}},
		{[]string{""}, nil},
	} {
		if got := decodeTerms(ts.terms(tc.columns...)); !slices.Equal(got, tc.want) {
			t.Errorf("terms(%q) = %q, want %q", tc.columns, got, tc.want)
		}
	}
}

// TestTerms_Encoding: every encoded term is one token to FTS5's ascii
// tokenizer, holds no quote (FTS5 strings are not escaped) and decodes to
// its characters; and the encoding of a prefix of characters is a prefix of
// the encoding.
func TestTerms_Encoding(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		e := appendTermRune(nil, foldRune(r))
		for _, c := range e {
			if c < 0x80 && !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
				t.Fatalf("%U encodes to %q: byte %#x is a separator to the ascii tokenizer", r, e, c)
			}
		}
		if got := decodeTerms(string(e)); len(got) != 1 || got[0] != string(foldRune(r)) {
			t.Fatalf("%U encodes to %q, decoded %q", r, e, got)
		}
	}
	if e := encodeTerm("Ab,中"); !strings.HasPrefix(e, encodeTerm("aB")) || !strings.HasPrefix(e, encodeTerm("ab,")) {
		t.Errorf("%q does not begin with the encodings of its prefixes", e)
	}
}

func TestTermsAfter(t *testing.T) {
	for _, tc := range []struct {
		prefix, want string
		ok           bool
	}{
		{"ab", "ac", true},
		{"a\xff\xff", "b", true},
		{"\xff\xff", "", false},
	} {
		got, ok := termsAfter(tc.prefix)
		if got != tc.want || ok != tc.ok {
			t.Errorf("termsAfter(%q) = %q, %v; want %q, %v", tc.prefix, got, ok, tc.want, tc.ok)
		}
	}
}

// TestCaseless and TestIsSpace hold the fast paths of foldRune and isSpace
// to unicode's tables.
func TestCaseless(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if caseless(r) && (unicode.ToLower(r) != r || unicode.ToUpper(r) != r) {
			t.Errorf("%U is taken for caseless, lower case %U, upper case %U", r, unicode.ToLower(r), unicode.ToUpper(r))
		}
	}
}

// TestFoldRune_AsFTS5: foldRune folds every rune with a case as FTS5's
// trigram tokenizer did, but for the case pairs Unicode added after 6.1,
// the version of FTS5's tables.
func TestFoldRune_AsFTS5(t *testing.T) {
	newer := &unicode.RangeTable{ // runes FTS5 leaves and foldRune folds
		R16: []unicode.Range16{
			{0x037F, 0x037F, 1}, {0x0528, 0x052E, 2}, {0x13A0, 0x13F5, 1}, {0x1C80, 0x1C88, 1},
			{0x1C90, 0x1CBA, 1}, {0x1CBD, 0x1CBF, 1}, {0x2C2F, 0x2C2F, 1}, {0xA698, 0xA69A, 2},
			{0xA796, 0xA79E, 2}, {0xA7AB, 0xA7AE, 1}, {0xA7B0, 0xA7B4, 1}, {0xA7B6, 0xA7C2, 2},
			{0xA7C4, 0xA7C7, 1}, {0xA7C9, 0xA7C9, 1}, {0xA7D0, 0xA7D0, 1}, {0xA7D6, 0xA7D8, 2},
			{0xA7F5, 0xA7F5, 1},
		},
		R32: []unicode.Range32{
			{0x104B0, 0x104D3, 1}, {0x10570, 0x10595, 1}, {0x10C80, 0x10CB2, 1}, {0x118A0, 0x118BF, 1},
			{0x16E40, 0x16E5F, 1}, {0x1E900, 0x1E921, 1},
		},
	}
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	if _, err := db.w.ExecContext(ctx, `CREATE VIRTUAL TABLE fold USING fts5(x, tokenize = 'trigram', detail = full);
		CREATE VIRTUAL TABLE fold_terms USING fts5vocab(fold, instance)`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	cased := 0
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		if utf8.ValidRune(r) && (unicode.SimpleFold(r) != r || unicode.ToLower(r) != r || unicode.ToUpper(r) != r) {
			cased++
			if _, err := tx.ExecContext(ctx, `INSERT INTO fold (rowid, x) VALUES (?, ?)`, r, string(r)+"  "); err != nil {
				t.Fatal(err)
			}
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT doc, term FROM fold_terms WHERE offset = 0`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for ; rows.Next(); n++ {
		var (
			r    rune
			term string
		)
		if err := rows.Scan(&r, &term); err != nil {
			t.Fatal(err)
		}
		fts5, _ := utf8.DecodeRuneInString(term)
		if got := foldRune(r); got != fts5 && !(unicode.Is(newer, r) && fts5 == r) {
			t.Errorf("foldRune(%U %c) = %U %c, FTS5 %U %c", r, r, got, got, fts5, fts5)
		}
	}
	if n != cased {
		t.Errorf("%d runes folded by FTS5, %d written", n, cased)
	}
}

func TestIsSpace(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if isSpace(r) != unicode.IsSpace(r) {
			t.Errorf("isSpace(%U) = %v", r, isSpace(r))
		}
	}
}

// TestSearch_EncodedTerms: titles of punctuation, controls, letters of
// other scripts in either case, and characters outside the BMP are found,
// through the index, by their terms of every length; the terms of each go
// through modernc.org/sqlite and FTS5 as they were written (the vocabulary
// returns them).
func TestSearch_EncodedTerms(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	titles := []string{
		"a", "C++ & C#", "x\x7f\x7f", "x\x7fy", `say "hi"`, "ΣΟΦΙΑ", "Straße", "emoji 😀🎉", "tab\tnul\x00",
		"50%_off", `back\slash`, "ÉCOLE", "école",
	}
	var items []feeds.Item
	for i, title := range titles {
		items = append(items, searchItem(fmt.Sprint(i), title, "<p>-</p>", t0.Add(time.Duration(i)*time.Minute)))
	}
	if _, err := db.Save(ctx, result("stcn", "", items...)); err != nil {
		t.Fatal(err)
	}
	indexed(t, db)
	for q, want := range map[string][]string{
		"C++": {"1"}, "++": {"1"}, "+": {"1"}, "#": {"1"}, "&": {"1"},
		"x\x7f": {"3", "2"}, "\x7f\x7f": {"2"}, "\x7f": {"3", "2"},
		`"hi"`: {"4"}, `"`: {"4"},
		"σοφ": {"5"}, "Σο": {"5"}, "ß": {"6"},
		"😀🎉": {"7"}, "😀": {"7"},
		"l\x00": {"8"}, "\x00": {"8"},
		"%_o": {"9"}, "%": {"9"}, "_": {"9"},
		`\`: {"10"}, `k\s`: {"10"},
		"éco": {"12", "11"}, "ÉC": {"12", "11"},
		"zz": {}, "+#": {}, "ΣΟΦΙΑ": {"5"}, "straße": {"6"},
	} {
		if got := search(t, db, q, "stcn"); !slices.Equal(got, want) {
			t.Errorf("search %q = %v, want %v", q, got, want)
		}
	}
	tris, ok, err := db.termsFrom(ctx, "X\x7f")
	if err != nil || !ok || !slices.Equal(tris, []string{encodeTerm("x\x7fy"), encodeTerm("x\x7f\x7f")}) {
		t.Errorf("terms from x\\x7f: %q %v %v", tris, ok, err)
	}
}

// TestTerms_SameAsTrigramIndex holds the index to the one it replaced
// (migration 0003: FTS5's trigram tokenizer over each column ended by two
// spaces): over the benchmark's items and random text of several scripts
// in both cases, punctuation and white space, every term of one to three
// characters, in random case, is in the same items through Search as
// through the trigram table.
func TestTerms_SameAsTrigramIndex(t *testing.T) {
	defer func(old int) { maxExpandDocs = old }(maxExpandDocs)
	maxExpandDocs = 1 << 30 // short terms through the index, never LIKE
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(16, 5))
	alphabet := []rune("aBcXyZ019ÀéÖßẞİıΣσςΩΩKКкЖж中文两市涨😀.,;:!?-_%\"'()[]{}<>&#+*/\\|@~^`$= \t\u00a0\u3000")
	var items []feeds.Item
	for i := range 200 {
		var title, body string
		if i%2 == 0 {
			f, err := feeds.Parse(synth.Feed(i, 1, 1, 1500), "application/rss+xml", "", "https://example.org/rss", nil)
			if err != nil {
				t.Fatal(err)
			}
			title, body = f.Items[0].Title, f.Items[0].Content
		} else {
			rs := make([]rune, 20+rng.IntN(200))
			for j := range rs {
				rs[j] = alphabet[rng.IntN(len(alphabet))]
			}
			title, body = string(rs[:10]), "<p>"+htmlEscape(string(rs[10:]))+"</p>"
		}
		items = append(items, searchItem(fmt.Sprint(i), title, body, t0.Add(time.Duration(i)*time.Minute)))
	}
	if _, err := db.Save(ctx, result("stcn", "", items...)); err != nil {
		t.Fatal(err)
	}
	indexed(t, db)
	if _, err := db.w.ExecContext(ctx, `
		CREATE VIRTUAL TABLE old_search USING fts5(title, body, tokenize = 'trigram', detail = none, columnsize = 0);
		CREATE VIRTUAL TABLE old_search_terms USING fts5vocab(old_search, row);
		INSERT INTO old_search (rowid, title, body) SELECT rowid, title || '  ', body || '  ' FROM items_search`); err != nil {
		t.Fatal(err)
	}
	ids := func(query string, args ...any) []int64 {
		t.Helper()
		out := column[int64](t, db.r, query, args...)
		slices.Sort(out)
		return out
	}
	// old is the items holding term by the trigram table. For a short
	// term, the trigrams that begin with it folded as the table folds (the
	// former Search lowered it with strings.ToLower, which differs for ς,
	// ſ, µ, İ, …: such terms found too little or other items).
	old := func(term string) []int64 {
		if utf8.RuneCountInString(term) == 3 {
			return ids(`SELECT rowid FROM old_search WHERE old_search MATCH ?`, ftsString(term))
		}
		prefix := strings.Map(foldRune, term) // FTS5's fold: TestFoldRune_AsFTS5
		var tris []string
		for _, tri := range column[string](t, db.r, `SELECT term FROM old_search_terms WHERE term >= ? AND term < ?`, prefix, prefix+"\U0010FFFF") {
			tris = append(tris, ftsString(tri))
		}
		if len(tris) == 0 {
			return nil
		}
		return ids(`SELECT rowid FROM old_search WHERE old_search MATCH ?`, strings.Join(tris, " OR "))
	}
	texts := column[string](t, db.r, `SELECT title || ' ' || body FROM items_search`)
	tried, differ := 0, 0
	for range 800 { // 72 s under -race at 3,000; every kind of term still comes up
		rs := []rune(texts[rng.IntN(len(texts))])
		n := 1 + rng.IntN(3)
		if len(rs) < n {
			continue
		}
		i := rng.IntN(len(rs) - n + 1)
		term := rs[i : i+n : i+n]
		if slices.ContainsFunc(term, unicode.IsSpace) {
			continue
		}
		for j, r := range term {
			if rng.IntN(2) == 0 {
				term[j] = unicode.ToUpper(r)
			}
		}
		q := string(term)
		es, err := db.Search(ctx, SearchQuery{Text: q, Sources: []string{"stcn"}, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, e := range es {
			got = append(got, e.ID)
		}
		slices.Sort(got)
		tried++
		if want := old(q); !slices.Equal(got, want) {
			differ++
			if differ <= 10 {
				t.Errorf("%q (%U): found in %d items, the trigram index %d", q, term, len(got), len(want))
			}
		}
	}
	if tried < 500 || differ > 0 {
		t.Errorf("%d terms tried, %d found elsewhere than by the trigram index", tried, differ)
	}
}

// htmlEscape escapes text for HTML.
func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
