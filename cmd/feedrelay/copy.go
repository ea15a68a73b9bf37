package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/feedrelay/feedrelay/internal/app"
	"github.com/feedrelay/feedrelay/storage"
)

const copyUsage = `usage: feedrelay copy -from feedrelay.db -to postgres://user:pass@host/db

Copies a SQLite database into a PostgreSQL one, in one transaction: sources
(feeds, validators, health), items with their ids and entry ids unchanged,
the identities retention pruned, what is still to be indexed or keyed, the
poll history and new items per hour of each source, and where each item's
full text stands.
Running it again is safe: it updates what changed and adds what is new.
Stop feedrelay on the SQLite file first; then point every instance's
database: at the PostgreSQL URL.
`

// runCopy is `feedrelay copy -from FILE -to URL`.
func runCopy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("copy", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprint(stderr, copyUsage, "\nflags:\n")
		fl.PrintDefaults()
	}
	from := fl.String("from", "", "the SQLite database file to copy")
	to := fl.String("to", "", "the PostgreSQL database URL (postgres://…) to copy into")
	rest, err := parseArgs(fl, args)
	if err != nil {
		return usageExit(err)
	}
	if *from == "" || *to == "" || len(rest) > 0 {
		fmt.Fprint(stderr, "feedrelay copy: want -from FILE and -to URL\n\n", copyUsage)
		return exitUsage
	}
	if !strings.Contains(*to, "://") {
		fmt.Fprintf(stderr, "feedrelay copy: -to %s is not a postgres:// URL\n", *to)
		return exitUsage
	}
	// Open would create an empty SQLite file where none is.
	if _, err := os.Stat(*from); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(stderr, "feedrelay copy: -from %s: no such database\n", *from)
			return exitUsage
		}
		fmt.Fprintln(stderr, "feedrelay copy:", err)
		return exitFailed
	}
	src, err := storage.Open(ctx, *from)
	if err != nil {
		fmt.Fprintln(stderr, "feedrelay copy:", err)
		return exitFailed
	}
	defer src.Close()
	dst, err := storage.Open(ctx, *to)
	if err != nil {
		fmt.Fprintf(stderr, "feedrelay copy: %s: %v\n", app.Redacted(*to), err)
		return exitFailed
	}
	defer dst.Close()
	copied, err := src.CopyTo(ctx, dst)
	if err != nil {
		fmt.Fprintf(stderr, "feedrelay copy: %s to %s: %v\n", *from, app.Redacted(*to), err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "copied %s to %s: %d sources, %d items, %d pruned identities, %d polls, %d full-text states\n",
		*from, app.Redacted(*to), copied.Sources, copied.Items, copied.Pruned, copied.Polls, copied.Articles)
	return exitOK
}
