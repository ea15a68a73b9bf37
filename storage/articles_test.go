package storage

import (
	"context"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

// The full-text state of items round-trips on both backends: a failed
// fetch is pending and due at its next attempt, a retry that succeeds
// replaces the item's content and moves its updated.
func TestArticles_PendingDueRetried(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := mustOpen(t, dsn)
		now := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		it := item("g1", "一", now)
		it.Summary, it.ArticleURL = "<p>摘要</p>", "https://example.org/a/g1"
		it.Article = &feeds.Article{State: feeds.ArticlePending, Attempts: 1, Attempted: now,
			NextAttempt: now.Add(5 * time.Minute), Err: "HTTP 500"}
		if _, err := db.Save(ctx, result("stcn", `"a"`, it)); err != nil {
			t.Fatal(err)
		}
		stored, err := db.StoredArticles(ctx, "stcn", []feeds.Item{it})
		if err != nil {
			t.Fatal(err)
		}
		if stored[0].ItemID == 0 || stored[0].Hash != it.Hash {
			t.Fatalf("stored %+v, want the item's row and hash", stored[0])
		}
		if due, err := db.DueArticles(ctx, "stcn", now, 10); err != nil || len(due) != 0 {
			t.Fatalf("due before the next attempt: %v, %v", due, err)
		}
		due, err := db.DueArticles(ctx, "stcn", now.Add(5*time.Minute), 10)
		if err != nil || len(due) != 1 || due[0].URL != it.ArticleURL || due[0].Attempts != 1 {
			t.Fatalf("due at the next attempt: %+v, %v", due, err)
		}
		states, err := db.Sources(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range states {
			if s.Slug == "stcn" && (s.ArticleErrors != 1 || s.ArticleError != "HTTP 500") {
				t.Errorf("source warning: %d errors, %q", s.ArticleErrors, s.ArticleError)
			}
		}

		now = now.Add(6 * time.Minute)
		r := result("stcn", `"a"`, it)
		r.NotModified, r.Feed = true, nil
		r.Retried = []feeds.ArticleUpdate{{ItemID: due[0].ItemID, Content: "<p>全文</p>", Summary: it.Summary,
			Article: feeds.Article{State: feeds.ArticleOK, Attempts: 2, Attempted: now}}}
		if _, err := db.Save(ctx, r); err != nil {
			t.Fatal(err)
		}
		es := entries(t, db, "stcn")
		if len(es) != 1 || es[0].Content != "<p>全文</p>" {
			t.Fatalf("after the retry: %+v", es)
		}
		if !es[0].Updated.After(it.Published) {
			t.Errorf("updated %v did not move past %v", es[0].Updated, it.Published)
		}
		if due, err := db.DueArticles(ctx, "stcn", now.Add(time.Hour), 10); err != nil || len(due) != 0 {
			t.Errorf("due after success: %v, %v", due, err)
		}
	})
}
