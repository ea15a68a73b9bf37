package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/feedrelay/feedrelay/export"
	"github.com/feedrelay/feedrelay/internal/app"
)

// runExport is `feedrelay export jekyll|static [flags] DIR`.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "jekyll" && args[0] != "static") {
		const usage = "usage: feedrelay export jekyll [-config C] [-category S] [-since YYYY-MM-DD] [-prune] DIR\n" +
			"       feedrelay export static [-config C] [-ping] DIR\n" +
			"(feedrelay export jekyll -h, feedrelay export static -h: their flags)\n"
		if len(args) > 0 && isHelp(args[0]) {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	kind := args[0]
	fs := flag.NewFlagSet("export "+kind, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "config.yaml", "config file")
	var category, since *string
	var prune, ping *bool
	if kind == "static" {
		ping = fs.Bool("ping", false, "then tell the config's websub.hubs of the feeds whose first page this export changed: for a DIR the web server serves as it is (not for one synced elsewhere afterwards, whose hubs would fetch the old files)")
	}
	if kind == "jekyll" {
		category = fs.String("category", "", "only the posts shown in this category (its slug)")
		since = fs.String("since", "", "only the posts dated on or after this day, YYYY-MM-DD in the config's timezone")
		prune = fs.Bool("prune", false, "remove the posts (feedrelay's, in _posts) of entries no longer published")
	}
	rest, err := parseArgs(fs, args[1:])
	if err != nil {
		return usageExit(err)
	}
	if len(rest) != 1 {
		fmt.Fprintf(stderr, "feedrelay export %s: name one folder to write into (got %d: %q)\n", kind, len(rest), rest)
		return exitUsage
	}
	dir := rest[0]
	c, err := app.LoadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if ping != nil && *ping && len(c.WebSub.Hubs) == 0 {
		fmt.Fprintf(stderr, "feedrelay export static: -ping: %s names no websub.hubs to ping\n", c.Path)
		return exitUsage
	}
	var o export.JekyllOptions
	if kind == "jekyll" {
		o.Category, o.Prune = *category, *prune
		if *since != "" {
			if o.Since, err = time.ParseInLocation("2006-01-02", *since, c.Location); err != nil {
				fmt.Fprintf(stderr, "feedrelay export jekyll: -since %q is not a day such as 2022-01-12\n", *since)
				return exitUsage
			}
		}
	}
	level := c.Log.Level
	if level == "info" {
		level = "warn" // the summary says it
	}
	a, err := app.Open(ctx, c, app.Options{Logging: app.NewLogging(stderr, c.Log.Format, level)})
	if err != nil {
		fmt.Fprintln(stderr, "feedrelay:", err)
		return exitFailed
	}
	defer a.Close()
	var res *export.Result
	if kind == "jekyll" {
		res, err = a.ExportJekyll(ctx, dir, o)
	} else {
		res, err = a.ExportStatic(ctx, dir)
	}
	if err == nil {
		fmt.Fprintf(stdout, "%s export to %s: %s\n", kind, dir, res)
	}
	if ping != nil && *ping {
		return pingChanged(ctx, a, c, dir, res, err, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "feedrelay:", err)
		return exitFailed
	}
	return exitOK
}

// pingChanged ends `export static -ping`: it tells the hubs of the feeds
// the export changed, once the files are in place (a hub fetching a feed
// then finds what it is told of), with those a previous run could not tell
// them of. What is not told — the export failed, a hub did — is kept in
// dir for the next run, which would otherwise find the files unchanged.
func pingChanged(ctx context.Context, a *app.App, c app.Config, dir string, res *export.Result, exportErr error,
	stdout, stderr io.Writer) int {
	due, err := export.PendingPings(dir)
	if err != nil {
		fmt.Fprintln(stderr, "feedrelay export static:", err)
		return exitFailed
	}
	if res != nil {
		for _, t := range res.Topics {
			if !slices.Contains(due, t) {
				due = append(due, t)
			}
		}
	}
	keepErr := export.KeepPendingPings(dir, due)
	if exportErr != nil {
		fmt.Fprintln(stderr, "feedrelay:", exportErr)
	}
	if keepErr != nil {
		fmt.Fprintln(stderr, "feedrelay export static:", keepErr)
	}
	if exportErr != nil || keepErr != nil {
		return exitFailed
	}
	if err := a.Pinger.PublishNow(ctx, due); err != nil {
		fmt.Fprintf(stderr, "feedrelay export static: websub: %v (%d feed URLs kept for the next run)\n", err, len(due))
		return exitFailed
	}
	if err := export.KeepPendingPings(dir, nil); err != nil {
		fmt.Fprintln(stderr, "feedrelay export static:", err)
		return exitFailed
	}
	if len(due) > 0 {
		fmt.Fprintf(stdout, "pinged %d hubs: %d feed URLs changed\n", len(c.WebSub.Hubs), len(due))
	}
	return exitOK
}
