package storage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

func pollCount(t *testing.T, db *DB, source string) int {
	t.Helper()
	var n int
	if err := db.r.QueryRow(db.q(`SELECT COUNT(*) FROM polls p JOIN sources s ON s.id = p.source_id
		WHERE s.slug = ?`), source).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Every poll is in the history, classified, with its counts and error: a
// healthy 304 too, though it writes nothing else.
func TestSave_RecordsPolls(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := mustOpen(t, dsn)
		t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
		save := func(r *feeds.Result, at time.Time) {
			t.Helper()
			r.Attempted, r.Duration = at, 1500*time.Millisecond
			if _, err := db.Save(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		save(result("stcn", `"v1"`, item("a", "A", t0), item("b", "B", t0)), t0)
		notModified := &feeds.Result{Source: "stcn", StatusCode: 304, NotModified: true, ETag: `"v1"`,
			LastModified: "Wed, 25 Nov 2026 10:00:00 GMT"}
		save(notModified, t0.Add(time.Minute))
		save(&feeds.Result{Source: "stcn", StatusCode: 500, Err: &feeds.HTTPError{StatusCode: 500, Status: "500 Internal Server Error"}}, t0.Add(2*time.Minute))
		save(&feeds.Result{Source: "stcn", StatusCode: 429, Err: &feeds.HTTPError{StatusCode: 429, Status: "429 Too Many Requests"}}, t0.Add(3*time.Minute))
		save(&feeds.Result{Source: "stcn", StatusCode: 503, Err: &feeds.HTTPError{StatusCode: 503, Status: "503 Service Unavailable", RetryAfter: t0.Add(time.Hour)}}, t0.Add(4*time.Minute))
		save(&feeds.Result{Source: "stcn", Err: errors.New("dial tcp: connection refused")}, t0.Add(5*time.Minute))

		polls, err := db.Polls(ctx, "stcn", 100)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			outcome PollOutcome
			status  int
			new     int
			err     string
		}{
			{PollError, 0, 0, "dial tcp: connection refused"},
			{PollBackoff, 503, 0, "HTTP 503 Service Unavailable"},
			{PollBackoff, 429, 0, "HTTP 429 Too Many Requests"},
			{PollError, 500, 0, "HTTP 500 Internal Server Error"},
			{PollNotModified, 304, 0, ""},
			{PollOK, 200, 2, ""},
		}
		if len(polls) != len(want) {
			t.Fatalf("%d polls recorded, want %d: %+v", len(polls), len(want), polls)
		}
		for i, w := range want {
			p := polls[i]
			if p.Outcome != w.outcome || p.Status != w.status || p.New != w.new || p.Error != w.err {
				t.Errorf("poll %d: %+v, want %+v", i, p, w)
			}
			if at := t0.Add(time.Duration(len(want)-1-i) * time.Minute); !p.Attempted.Equal(at) || p.Duration != 1500*time.Millisecond {
				t.Errorf("poll %d at %v taking %v, want %v taking 1.5s", i, p.Attempted, p.Duration, at)
			}
		}
		recent, err := db.RecentPolls(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if got := recent["stcn"]; len(got) != 2 || got[0].Error != want[0].err || got[1].Outcome != PollBackoff {
			t.Errorf("recent polls of stcn: %+v, want the newest two", got)
		}
		if _, ok := recent["other"]; ok {
			t.Errorf("recent polls list a source never polled: %+v", recent["other"])
		}
	})
}

// The history keeps the newest MaxPolls polls of each source, and leaves
// the other sources' alone.
func TestSave_PollHistoryBounded(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := mustOpen(t, dsn)
		t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
		if _, err := db.Save(ctx, &feeds.Result{Source: "other", Attempted: t0, Err: errors.New("down")}); err != nil {
			t.Fatal(err)
		}
		for i := range MaxPolls + 20 {
			r := &feeds.Result{Source: "stcn", Attempted: t0.Add(time.Duration(i) * time.Minute), Err: fmt.Errorf("failure %d", i)}
			if _, err := db.Save(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if n := pollCount(t, db, "stcn"); n != MaxPolls {
			t.Errorf("%d polls of stcn kept, want %d", n, MaxPolls)
		}
		polls, err := db.Polls(ctx, "stcn", 1000)
		if err != nil {
			t.Fatal(err)
		}
		if newest, oldest := polls[0].Error, polls[len(polls)-1].Error; newest != fmt.Sprintf("failure %d", MaxPolls+19) || oldest != "failure 20" {
			t.Errorf("kept polls from %q to %q, want the newest: failure 20 to failure %d", oldest, newest, MaxPolls+19)
		}
		if n := pollCount(t, db, "other"); n != 1 {
			t.Errorf("other source's history has %d polls, want its 1", n)
		}
	})
}

// A Save that fails leaves no history row: the row is in the transaction
// of the poll's result. The failure is forced at commit, by a deferred
// foreign key that a trigger on the source's update breaks (a history row
// written in a transaction of its own would survive it).
func TestSave_FailedSaveWritesNoHistory(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	for _, stmt := range []string{
		`CREATE TABLE t_parent (id INTEGER PRIMARY KEY)`,
		`CREATE TABLE t_child (p INTEGER REFERENCES t_parent(id) DEFERRABLE INITIALLY DEFERRED)`,
		`CREATE TRIGGER t_break AFTER UPDATE ON sources BEGIN INSERT INTO t_child VALUES (42); END`,
	} {
		if _, err := db.w.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	for _, r := range []*feeds.Result{
		result("stcn", `"v1"`, item("a", "A", t0)),
		{Source: "stcn", Attempted: t0, Err: errors.New("down")},
	} {
		if _, err := db.Save(ctx, r); err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
			t.Fatalf("save: %v, want the forced commit failure", err)
		}
	}
	if n := pollCount(t, db, "stcn"); n != 0 {
		t.Errorf("failed saves left %d history rows", n)
	}
	if es := entries(t, db, "stcn"); len(es) != 0 {
		t.Errorf("failed save stored %d items", len(es))
	}
	var failures int
	if err := db.r.QueryRow(`SELECT failures FROM sources WHERE slug = 'stcn'`).Scan(&failures); err != nil || failures != 0 {
		t.Errorf("failed save counted %d failures (%v)", failures, err)
	}
	// A source the database does not know: an error, and no row either.
	if _, err := db.Save(ctx, &feeds.Result{Source: "nope", Attempted: t0, Err: errors.New("down")}); err == nil {
		t.Error("save of an unknown source succeeded")
	}
}

// New items are counted by the hour they were first seen; the counts of
// hours older than 32 days go as new ones come.
func TestSave_CountsNewItemsPerHour(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := mustOpen(t, dsn)
		c := &clock{t: time.Date(2026, 10, 1, 8, 30, 0, 0, time.UTC)}
		db.Now = c.now
		save := func(items ...feeds.Item) {
			t.Helper()
			if _, err := db.Save(ctx, result("stcn", "", items...)); err != nil {
				t.Fatal(err)
			}
		}
		save(item("old", "Old", c.t))
		c.t = time.Date(2026, 11, 26, 9, 10, 0, 0, time.UTC)
		save(item("a", "A", c.t), item("b", "B", c.t))
		c.t = c.t.Add(40 * time.Minute)
		save(item("a", "A", c.t), item("c", "C", c.t)) // a unchanged: one new
		c.t = c.t.Add(20 * time.Minute)
		save(item("d", "D", c.t))

		got, err := db.NewItems(ctx, time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		want := []HourCount{
			{time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC), 3},
			{time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), 1},
		}
		if fmt.Sprint(got["stcn"]) != fmt.Sprint(want) {
			t.Errorf("new items per hour %v, want %v (the October hour dropped)", got["stcn"], want)
		}
	})
}

// A healthy 304 does not wait for the writer (another source's big batch
// may hold it): its history row is queued, shown by Polls at once, and
// stored once the writer is free — at the latest by Close.
func TestSave_NotModifiedDoesNotWaitForWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "feedrelay.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SyncSources(ctx, []SourceInfo{{Slug: "stcn", Name: "证券时报网", URL: "https://example.org/stcn.xml"}}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	ok := result("stcn", `"v1"`, item("a", "A", t0))
	ok.Attempted = t0
	if _, err := db.Save(ctx, ok); err != nil {
		t.Fatal(err)
	}
	busy, err := db.w.BeginTx(ctx, nil) // the writer, held
	if err != nil {
		t.Fatal(err)
	}
	// A deadline, not a measurement: waiting for the writer would never end.
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	nm := &feeds.Result{Source: "stcn", Attempted: t0.Add(time.Minute), StatusCode: 304, NotModified: true,
		ETag: `"v1"`, LastModified: ok.LastModified}
	if _, err := db.Save(short, nm); err != nil {
		t.Fatalf("a healthy 304 while the writer is busy: %v", err)
	}
	polls, err := db.Polls(ctx, "stcn", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(polls) != 2 || polls[0].Outcome != PollNotModified || !polls[0].Attempted.Equal(t0.Add(time.Minute)) {
		t.Errorf("history while the 304 is queued: %+v, want it first", polls)
	}
	busy.Rollback()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, path)
	if n := pollCount(t, db, "stcn"); n != 2 {
		t.Errorf("%d polls stored after Close, want the 304's too", n)
	}
}
