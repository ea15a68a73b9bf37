package storage

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkEntries is a feed page that misses the render cache: 50
// entries of two sources (10,000 items of the synthetic feeds), from the
// newest or from a cursor into the archive, as a reader walking pages
// asks for them.
func BenchmarkEntries(b *testing.B) {
	db := mustOpen(b, filepath.Join(b.TempDir(), "bench.db"))
	saveSynthFeeds(b, db, 200, 50)
	ctx := context.Background()
	first, err := db.Entries(ctx, EntryQuery{Sources: []string{"stcn", "other"}, Limit: 5000})
	if err != nil || len(first) != 5000 {
		b.Fatalf("%d entries, %v", len(first), err)
	}
	for _, bc := range []struct {
		name   string
		cursor func(i int) *Cursor
	}{
		{"newest", func(int) *Cursor { return nil }},
		{"cursor", func(i int) *Cursor { c := CursorOf(&first[(i*7919)%len(first)]); return &c }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for i := range b.N {
				es, err := db.Entries(ctx, EntryQuery{Sources: []string{"stcn", "other"}, Limit: 50, Before: bc.cursor(i)})
				if err != nil || len(es) == 0 {
					b.Fatalf("%d entries, %v", len(es), err)
				}
			}
		})
	}
}
