package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/feedrelay/feedrelay/config"
	"github.com/feedrelay/feedrelay/internal/app"
	"github.com/feedrelay/feedrelay/publish"
	"github.com/feedrelay/feedrelay/storage"
)

// runExplain prints, for a source's newest items, which filter rule kept or
// dropped each in every feed that gathers the source, and which copies of
// the same story were folded, so that an operator can tune filters and
// deduplication without guessing.
func runExplain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "config.yaml", "config file")
	source := fs.String("source", "", "the source's slug (required)")
	limit := fs.Int("n", 20, "how many of its newest items")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return usageExit(err)
	}
	if *source == "" || len(rest) > 0 || *limit < 1 {
		fmt.Fprintln(stderr, "usage: feedrelay explain [-config config.yaml] -source S [-n 20]")
		return exitUsage
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	sc, err := cfg.FindSource(*source)
	if err != nil {
		fmt.Fprintln(stderr, "feedrelay:", err)
		return exitUsage
	}
	db, err := storage.Open(ctx, cfg.Database)
	if err != nil {
		fmt.Fprintln(stderr, "feedrelay:", err)
		return exitFailed
	}
	defer db.Close()
	items, err := publish.New(db, app.PublishOptions(cfg)).Explain(ctx, sc.Slug, *limit)
	if err != nil {
		fmt.Fprintf(stderr, "feedrelay: %s: %v\n", cfg.Path, err)
		return exitUsage
	}
	if len(items) == 0 {
		fmt.Fprintf(stdout, "%s: no items stored yet (run feedrelay poll -source %s)\n", sc.Slug, sc.Slug)
	}
	for _, ex := range items {
		fmt.Fprintf(stdout, "%s  %s\n", ex.Entry.Updated.In(cfg.Location).Format("2006-01-02 15:04"), ex.Entry.Title)
		for _, f := range ex.Feeds {
			var b strings.Builder
			switch {
			case f.FoldedInto != "":
				fmt.Fprintf(&b, "folded into %s", f.FoldedInto)
			case f.Shown:
				fmt.Fprintf(&b, "shown (%s)", f.Why)
				if len(f.Also) > 0 {
					fmt.Fprintf(&b, "; also reported by %s", strings.Join(f.Also, ", "))
				}
			default:
				fmt.Fprintf(&b, "dropped (%s)", f.Why)
			}
			fmt.Fprintf(stdout, "    %-28s %s\n", f.Feed, b.String())
		}
	}
	return exitOK
}
