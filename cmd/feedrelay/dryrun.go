package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/feedrelay/feedrelay/config"
	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/htmltext"
	"github.com/feedrelay/feedrelay/internal/app"
)

// dryRunArticles is how many items' full text a dry run fetches.
const dryRunArticles = 3

// runDryRun prints what one source yields, read as a poll reads it, and
// stores nothing: the database is not even opened.
func runDryRun(ctx context.Context, c app.Config, only string, stdout, stderr io.Writer) int {
	cfg := c.Config
	if only == "" {
		fmt.Fprintln(stderr, "feedrelay: poll -dry-run needs -source S (the slug of the source to try)")
		return exitUsage
	}
	sc, err := cfg.FindSource(only)
	if err != nil {
		fmt.Fprintln(stderr, "feedrelay:", err)
		return exitUsage
	}
	sources, _ := app.Sources(cfg)
	var src feeds.Source
	for _, s := range sources {
		if s.Slug == sc.Slug {
			src = s
		}
	}
	fetcher := feeds.NewFetcher("")
	fetcher.SetPerHostLimit(cfg.PerHost)
	p := &feeds.Poller{Fetcher: fetcher}
	pv, err := p.Preview(ctx, src, dryRunArticles)
	fmt.Fprintf(stdout, "%s (%s), kind: %s, %s\n", src.Slug, src.Name, sc.Kind, src.URL)
	if err != nil {
		if pv != nil {
			fmt.Fprintf(stdout, "HTTP %d from %s\n", pv.StatusCode, pv.URL)
		}
		fmt.Fprintf(stdout, "error: %v\n(nothing stored: dry run)\n", err)
		return exitFailed
	}
	f := pv.Feed
	fmt.Fprintf(stdout, "HTTP %d from %s\nfeed: %q, site %s, id %s\n", pv.StatusCode, pv.URL, f.Title, f.SiteURL, f.ID)
	fmt.Fprintf(stdout, "items: %d", len(f.Items))
	if pv.Skipped > 0 {
		fmt.Fprintf(stdout, " (%d more skipped: neither guid nor link)", pv.Skipped)
	}
	fmt.Fprintln(stdout)
	// What a poll would warn of: how the body was read, and the dates
	// its items show as "published: —".
	for _, w := range pv.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	for _, u := range pv.UnreadDates {
		fmt.Fprintf(stdout, "warning: %s\n", u.String())
	}
	from := func(field string) string {
		if sc.Kind == config.KindFeed {
			return "the feed"
		}
		if sel, ok := sc.Fields[field]; ok {
			return fmt.Sprintf("fields.%s %q", field, sel)
		}
		return "not mapped"
	}
	articles := map[int]feeds.PreviewArticle{}
	for _, a := range pv.Articles {
		articles[a.Item] = a
	}
	for i, it := range f.Items {
		fmt.Fprintf(stdout, "\n%d.\n", i+1)
		row := func(name, value, where string) {
			fmt.Fprintf(stdout, "   %-10s %s", name+":", show(value))
			if where != "" {
				fmt.Fprintf(stdout, "   ← %s", where)
			}
			fmt.Fprintln(stdout)
		}
		row("title", it.Title, from("title"))
		row("link", it.Link, from("link"))
		idFrom := "the link (no guid)"
		switch {
		case it.GUID != "":
			idFrom = "the guid, " + from("guid")
		case it.Link == "":
			idFrom = "a hash of title and date (no guid, no link)"
		}
		row("identity", it.Identity, idFrom)
		date := ""
		if !it.Published.IsZero() {
			date = it.Published.In(cfg.Location).Format("2006-01-02 15:04:05 -0700")
			if src.Location != nil {
				date = it.Published.In(src.Location).Format("2006-01-02 15:04:05 -0700")
			}
		}
		row("published", date, from("published"))
		row("author", it.Author, from("author"))
		originFrom := "named at the end of the content"
		if _, ok := sc.Fields["origin"]; ok && sc.Kind != config.KindFeed {
			originFrom = from("origin") + ", else named at the end of the content"
		}
		row("origin", it.Origin, originFrom)
		if len(it.Categories) > 0 {
			row("categories", strings.Join(it.Categories, ", "), from("categories"))
		}
		contentFrom := from("content")
		if sc.Kind != config.KindFeed {
			if _, ok := sc.Fields["content"]; !ok {
				contentFrom = from("summary")
			}
		}
		row("content", excerpt(htmltext.Plain(it.Content), 80), contentFrom)
		if a, ok := articles[i]; ok {
			if a.Err != nil {
				row("full text", "error: "+a.Err.Error(), "")
			} else {
				text := htmltext.Plain(a.Content)
				row("full text", fmt.Sprintf("%d characters: %s", utf8.RuneCountInString(text), excerpt(text, 80)), a.URL)
			}
		} else if it.ArticleURL != "" {
			row("full text", "(not fetched in a dry run)", it.ArticleURL)
		}
	}
	fmt.Fprintln(stdout, "\n(nothing stored: dry run)")
	return exitOK
}

// show is a value as a dry run prints it: "—" for none.
func show(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
