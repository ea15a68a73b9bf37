// Command bench measures what polling many sources costs feedrelay, and how
// fast and how small it runs, with feedrelay's own packages and binary
// against synthetic sources served on 127.0.0.1:
//
//	go run ./internal/bench                          # small sizes, about a minute
//	go run ./internal/bench -sources 500 -items 50 -rss-sources 10000 -rounds 3
//	                                        # the sizes of the targets
//	go run ./internal/bench -cpuprofile cold.pprof   # profile the cold poll
//	go tool pprof -top cold.pprof
//
// It generates N sources of M items (~1.5 KB of mixed Chinese/English HTML
// each), serves them with ETag, Last-Modified, 304s and gzip, and measures,
// each in the same run as its baseline:
//
//   - the gofeed floor: gofeed.NewParser().Parse of the same bytes on
//     GOMAXPROCS goroutines, with no fetch, no normalize, no store;
//   - a cold poll of the N sources (every item new) into a fresh SQLite
//     database, then the search index of its items, with feeds.Poller and
//     storage.DB wired as `feedrelay poll` wires them (same concurrency;
//     the per-host limit is raised to it, since every synthetic source is
//     on one host), and the retention pass `feedrelay poll` ends with;
//   - a warm poll (every source answers 304) and a churn poll (10 % of the
//     sources have one new item);
//   - ingest: already parsed items saved into a fresh database, items/s and
//     bytes written;
//   - serving: requests/s for a category feed, with wrk (-t2 -c64 -d5s) when
//     it is on PATH, else a Go load generator;
//   - the peak and steady RSS of the real binary (`feedrelay serve`, built
//     from ./cmd/feedrelay) with many sources configured (-rss-sources:
//     2,000 by default, 10,000 for the target), once every source has been
//     polled and after a few seconds idle.
//
// It prints a table (figure, measured, target, verdict), or JSON with
// -json. Timings are not tests: nothing here fails on a time, only on
// wrong results (an error, a missing item, a 200 where a 304 was due).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/feedrelay/feedrelay/config"
	"github.com/feedrelay/feedrelay/internal/app"
	"github.com/feedrelay/feedrelay/internal/pgtest"
	"github.com/feedrelay/feedrelay/storage"
)

// floorRuns is how many times each round measures the gofeed floor.
const floorRuns = 3

// params are the benchmark's flags.
type params struct {
	Sources     int     `json:"sources"`
	Items       int     `json:"items"`
	ItemSize    int     `json:"item_size"`
	Concurrency int     `json:"concurrency"`
	Churn       float64 `json:"churn"`
	Gzip        bool    `json:"gzip"`
	Rounds      int     `json:"rounds"`

	ServeDuration time.Duration `json:"serve_duration"`
	ServeConns    int           `json:"serve_connections"`
	ServeThreads  int           `json:"serve_threads"`
	Wrk           string        `json:"wrk"`

	RSSSources int           `json:"rss_sources"`
	RSSItems   int           `json:"rss_items"`
	RSSIdle    time.Duration `json:"rss_idle"`
	RSSTimeout time.Duration `json:"rss_timeout"`
	Binary     string        `json:"binary,omitempty"`

	// ProcessBinaries: measure only cold `feedrelay poll` processes of
	// these binaries (comma-separated; "." builds ./cmd/feedrelay).
	ProcessBinaries string `json:"process_binaries,omitempty"`

	CPUProfile  string `json:"-"`
	MemProfile  string `json:"-"`
	Trace       string `json:"-"`
	HeapProfile string `json:"-"`
	JSON        bool   `json:"-"`
	// Postgres: the cold, warm and churn polls go into a private
	// PostgreSQL cluster (internal/pgtest) instead of SQLite files.
	Postgres bool   `json:"postgres"`
	Keep     bool   `json:"-"`
	Dir      string `json:"-"`
}

func defaultParams() params {
	return params{
		Sources:       200,
		Items:         50,
		ItemSize:      1500,
		Concurrency:   config.DefaultConcurrency,
		Churn:         0.10,
		Gzip:          true,
		Rounds:        1,
		ServeDuration: 5 * time.Second,
		ServeConns:    64,
		ServeThreads:  2,
		Wrk:           "auto",
		RSSSources:    2000,
		RSSItems:      5,
		RSSIdle:       5 * time.Second,
		RSSTimeout:    10 * time.Minute,
	}
}

func main() {
	p := defaultParams()
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./internal/bench [flags]\n\n")
		fs.PrintDefaults()
	}
	fs.IntVar(&p.Sources, "sources", p.Sources, "synthetic sources to poll (the targets are for 500)")
	fs.IntVar(&p.Items, "items", p.Items, "items per source (the targets are for 50)")
	fs.IntVar(&p.ItemSize, "item-size", p.ItemSize, "approximate bytes of HTML per item")
	fs.IntVar(&p.Concurrency, "concurrency", p.Concurrency, "sources polled at once (config `concurrency`; the per-host limit is raised to it)")
	fs.Float64Var(&p.Churn, "churn", p.Churn, "fraction of sources with one new item in the churn poll")
	fs.BoolVar(&p.Gzip, "gzip", p.Gzip, "the synthetic sources send gzip to clients that accept it")
	fs.IntVar(&p.Rounds, "rounds", p.Rounds, "run the floor and the cold poll this many times (fresh database each) and keep the best")
	fs.DurationVar(&p.ServeDuration, "serve-duration", p.ServeDuration, "load per serving measurement (0: skip serving)")
	fs.IntVar(&p.ServeConns, "serve-connections", p.ServeConns, "concurrent clients of the serving measurement")
	fs.IntVar(&p.ServeThreads, "serve-threads", p.ServeThreads, "wrk threads")
	fs.StringVar(&p.Wrk, "wrk", p.Wrk, "wrk to use: auto (on PATH, else the Go load generator), off, or a path")
	fs.IntVar(&p.RSSSources, "rss-sources", p.RSSSources, "sources configured in the RSS measurement of the real binary (the target is for 10000; 0: skip it)")
	fs.IntVar(&p.RSSItems, "rss-items", p.RSSItems, "items per source in the RSS measurement")
	fs.DurationVar(&p.RSSIdle, "rss-idle", p.RSSIdle, "idle time after the first round of polls before reading the steady RSS")
	fs.DurationVar(&p.RSSTimeout, "rss-timeout", p.RSSTimeout, "longest wait for the first round of polls of the RSS measurement")
	fs.StringVar(&p.Binary, "binary", "", "feedrelay binary for the RSS measurement (default: build ./cmd/feedrelay)")
	fs.StringVar(&p.ProcessBinaries, "process", "", "measure only cold `feedrelay poll` processes of these binaries, comma-separated (\".\" builds ./cmd/feedrelay), each round one after the other: wall time ÷ floor, with the search index, bytes written, peak RSS")
	fs.StringVar(&p.CPUProfile, "cpuprofile", "", "write a CPU profile of the (last) cold poll to this file")
	fs.StringVar(&p.MemProfile, "memprofile", "", "with -process: write an allocation profile of the last cold poll of the binary built from this tree to this file (poll -memprofile)")
	fs.StringVar(&p.Trace, "trace", "", "with -process: write an execution trace of the last cold poll of the binary built from this tree to this file (poll -trace)")
	fs.StringVar(&p.HeapProfile, "rss-heapprofile", "", "also run the daemon's scheduler in this process on -rss-sources sources and write a heap profile after the first round to this file")
	fs.BoolVar(&p.JSON, "json", false, "print JSON instead of the table")
	fs.BoolVar(&p.Postgres, "postgres", false, "poll into a private PostgreSQL cluster (Debian's postgresql binaries) instead of SQLite")
	fs.BoolVar(&p.Keep, "keep", false, "keep the working directory (databases, configs, the daemon's log)")
	fs.StringVar(&p.Dir, "dir", "", "working directory (default: a new temporary one)")
	fs.Parse(os.Args[1:])
	if fs.NArg() > 0 {
		fs.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	command := strings.Join(append([]string{"go run ./internal/bench"}, os.Args[1:]...), " ")
	err := run(ctx, p, command, os.Stdout, os.Stderr)
	if cluster != nil {
		cluster.Stop()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// cluster is the private PostgreSQL of -postgres, started on first use.
var cluster *pgtest.Cluster

// pgDatabase creates the database name in the private cluster and returns
// its URL.
func pgDatabase(ctx context.Context, name string) (string, error) {
	if cluster == nil {
		c, err := pgtest.Start(ctx)
		if err != nil {
			return "", fmt.Errorf("start postgresql: %w", err)
		}
		cluster = c
	}
	if err := cluster.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return cluster.DSN(name), nil
}

// report is everything one run measured.
type report struct {
	Date    string   `json:"date"`
	Command string   `json:"command"`
	Machine machine  `json:"machine"`
	Params  params   `json:"params"`
	Figures []figure `json:"figures"`
	Notes   []string `json:"notes"`
}

// figure is one row of the table.
type figure struct {
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
	Shown   string  `json:"measured"`
	Target  string  `json:"target,omitempty"`
	Verdict string  `json:"verdict,omitempty"`
}

func (r *report) add(name string, value float64, unit, shown string) *figure {
	r.Figures = append(r.Figures, figure{Name: name, Value: value, Unit: unit, Shown: shown, Target: "—", Verdict: "—"})
	return &r.Figures[len(r.Figures)-1]
}

func (r *report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// atMost sets f's target: at most limit, aiming at aim (lower is better).
func (f *figure) atMost(limit, aim float64, target, suffix string) {
	f.Target = target
	switch {
	case f.Value <= aim:
		f.Verdict = "PASS (aim met)"
	case f.Value <= limit:
		f.Verdict = "PASS (aim missed)"
	default:
		f.Verdict = "FAIL"
	}
	f.Verdict += suffix
}

// median of ds (the upper one of an even count).
func median[T time.Duration | float64](ds []T) T {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func secs(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
}

func count(n float64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", n/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.1fk", n/1e3)
	default:
		return fmt.Sprintf("%.0f", n)
	}
}

func run(ctx context.Context, p params, command string, stdout, stderr io.Writer) error {
	if p.Sources < 1 || p.Items < 1 || p.Concurrency < 1 || p.Rounds < 1 || p.Churn < 0 || p.Churn > 1 {
		return errors.New("-sources, -items, -concurrency and -rounds must be at least 1, -churn within 0..1")
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	dir := p.Dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "feedrelay-bench-"); err != nil {
			return err
		}
		if !p.Keep {
			defer os.RemoveAll(dir)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if p.Keep {
		logf("working directory: %s", dir)
	}
	rep := &report{Date: time.Now().Format(time.RFC3339), Command: command, Machine: describeMachine(), Params: p}
	logging := app.NewLogging(stderr, "text", "warn")

	// The sources.
	logf("generating %d sources × %d items of ~%d B", p.Sources, p.Items, p.ItemSize)
	o, err := newOrigin(p.Sources, p.Items, p.ItemSize, p.Gzip)
	if err != nil {
		return err
	}
	defer o.close()
	bodies := o.bodies()
	var feedBytes int64
	for _, b := range bodies {
		feedBytes += int64(len(b))
	}
	totalItems := p.Sources * p.Items
	if p.ProcessBinaries != "" {
		return processMode(ctx, p, dir, o, bodies, stdout, logf)
	}
	rep.note("sources: %d × %d items, %.1f MB of RSS (%.0f B per item, HTML ~%d B), served on 127.0.0.1 with ETag, Last-Modified, 304 and gzip=%v",
		p.Sources, p.Items, float64(feedBytes)/1e6, float64(feedBytes)/float64(totalItems), p.ItemSize, p.Gzip)

	// The floor and the cold poll, one after the other in each round, the
	// cold poll with a fresh database. The floor is cheap: each round keeps
	// the best of floorRuns, so that the garbage of what ran before does
	// not count against it. The figures are medians over the rounds, the
	// ratio the median of each round's ratio (this machine's speed drifts:
	// a floor and the poll it is compared with run seconds apart).
	var (
		floors, floorsNoScan, colds, coldPolls, coldIndexes []time.Duration
		coldCPUs, floorCPUs                                 []time.Duration
		ratios, pollRatios                                  []float64
		cold                                                *app.App
		coldStats                                           pollStats
		coldWritten                                         int64
	)
	defer func() {
		if cold != nil {
			cold.Close()
		}
	}()
	for round := range p.Rounds {
		var best, bestNoScan, bestCPU time.Duration
		for range floorRuns {
			cpu0 := cpuTime()
			d, n, err := floor(bodies, true)
			cpu := cpuTime() - cpu0
			if err != nil {
				return fmt.Errorf("gofeed floor: %w", err)
			}
			if n != totalItems {
				return fmt.Errorf("gofeed floor: %d items parsed, want %d", n, totalItems)
			}
			if best == 0 || d < best {
				best, bestCPU = d, cpu
			}
			d, _, err = floor(bodies, false)
			if err != nil {
				return fmt.Errorf("gofeed floor without image scan: %w", err)
			}
			if bestNoScan == 0 || d < bestNoScan {
				bestNoScan = d
			}
		}
		floors, floorsNoScan, floorCPUs = append(floors, best), append(floorsNoScan, bestNoScan), append(floorCPUs, bestCPU)
		logf("gofeed floor: %v", best.Round(time.Millisecond))

		if cold != nil {
			cold.Close()
		}
		database := fmt.Sprintf("poll-%d.db", round)
		if p.Postgres {
			if database, err = pgDatabase(ctx, fmt.Sprintf("poll_%d", round)); err != nil {
				return err
			}
		}
		cfg, _, err := writeConfig(dir, fmt.Sprintf("poll-%d.yaml", round), benchConfig{
			database:    database,
			concurrency: p.Concurrency,
			perHost:     p.Concurrency,
			sources:     p.Sources,
			url:         o.feedURL,
		})
		if err != nil {
			return err
		}
		cold, err = app.Open(ctx, cfg, app.Options{Logging: logging})
		if err != nil {
			return err
		}
		var prof *os.File
		if p.CPUProfile != "" && round == p.Rounds-1 {
			if prof, err = os.Create(p.CPUProfile); err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(prof); err != nil {
				return err
			}
		}
		cpu0 := cpuTime()
		wb0, _ := ioBytes()
		r, err := pollOnce(ctx, cold)
		wb1, _ := ioBytes()
		cpu := cpuTime() - cpu0
		if prof != nil {
			pprof.StopCPUProfile()
			prof.Close()
			logf("CPU profile of the cold poll: %s", p.CPUProfile)
		}
		if err != nil {
			return fmt.Errorf("cold poll: %w", err)
		}
		s := statsOf(r.results)
		if s.failed > 0 || s.ok != p.Sources || s.New != totalItems || r.indexed != totalItems {
			return fmt.Errorf("cold poll: %v, %d indexed (want %d ok, %d new and indexed): %v", s, r.indexed, p.Sources, totalItems, s.firstErr)
		}
		d := r.total()
		logf("cold poll: %v + search index %v (%.2f× the floor), %v", r.poll.Round(time.Millisecond), r.index.Round(time.Millisecond), d.Seconds()/best.Seconds(), s)
		colds, coldPolls, coldIndexes = append(colds, d), append(coldPolls, r.poll), append(coldIndexes, r.index)
		coldCPUs, ratios, pollRatios = append(coldCPUs, cpu), append(ratios, d.Seconds()/best.Seconds()), append(pollRatios, r.poll.Seconds()/best.Seconds())
		coldStats, coldWritten = s, wb1-wb0
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	rounds := ""
	if p.Rounds > 1 {
		rounds = fmt.Sprintf(", median of %d rounds", p.Rounds)
	}
	floorD, coldD := median(floors), median(colds)
	rep.add(fmt.Sprintf("gofeed floor: parse %d × %d on %d goroutines (best of %d)%s", p.Sources, p.Items, procs(), floorRuns, rounds),
		floorD.Seconds(), "s", fmt.Sprintf("%s (%.1f MB/s)", secs(floorD), float64(feedBytes)/1e6/floorD.Seconds()))
	noScan := median(floorsNoScan)
	rep.add("gofeed floor, RSS image scan off (as feedrelay parses)", noScan.Seconds(), "s",
		fmt.Sprintf("%s (%.1f MB/s)", secs(noScan), float64(feedBytes)/1e6/noScan.Seconds()))
	pollD, indexD := median(coldPolls), median(coldIndexes)
	rep.add(fmt.Sprintf("cold poll: %d sources × %d items, all new (concurrency %d): fetch → store, as `feedrelay poll` and serve's polls%s", p.Sources, p.Items, p.Concurrency, rounds),
		pollD.Seconds(), "s", fmt.Sprintf("%s (%s items/s)", secs(pollD), count(float64(totalItems)/pollD.Seconds())))
	suffix := ""
	if p.Sources != 500 || p.Items != 50 {
		suffix = " (target set for 500 × 50)"
	}
	pollRatio := median(pollRatios)
	rep.add("cold poll ÷ gofeed floor", pollRatio, "x", fmt.Sprintf("%.2f×", pollRatio)).atMost(3.0, 1.5, "≤ 3.0× (aim ≤ 1.5×)", suffix)
	rep.add("then the search index of its items (IndexAll; serve does it in the background, off the polls)", indexD.Seconds(), "s",
		fmt.Sprintf("%s (%s items/s)", secs(indexD), count(float64(totalItems)/indexD.Seconds())))
	rep.add("cold poll and search index together", coldD.Seconds(), "s",
		fmt.Sprintf("%s (%s items/s)", secs(coldD), count(float64(totalItems)/coldD.Seconds())))
	ratio := median(ratios)
	rep.add("cold poll and search index together ÷ gofeed floor", ratio, "x", fmt.Sprintf("%.2f×", ratio))
	coldCPU, floorCPU := median(coldCPUs), median(floorCPUs)
	rep.add("cold poll and search index together ÷ gofeed floor, CPU time", coldCPU.Seconds()/floorCPU.Seconds(), "x",
		fmt.Sprintf("%.2f× (%.2f s ÷ %.2f s)", coldCPU.Seconds()/floorCPU.Seconds(), coldCPU.Seconds(), floorCPU.Seconds()))
	if p.Rounds > 1 {
		var rs []string
		for _, r := range ratios {
			rs = append(rs, fmt.Sprintf("%.2f", r))
		}
		rep.note("cold poll and search index ÷ floor, each round: %s", strings.Join(rs, ", "))
	}
	rep.note("cold poll: %v; process CPU %.2f s (%.0f µs per item; the synthetic origin's share included), %.1f MB written to disk (/proc/self/io write_bytes, last round)",
		coldStats, coldCPU.Seconds(), float64(coldCPU.Microseconds())/float64(totalItems), float64(coldWritten)/1e6)

	// Retention, which `feedrelay poll` applies after polling (and serve
	// hourly): nothing is old enough to go.
	pruneD, pruned, err := prune(ctx, cold)
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	rep.add(fmt.Sprintf("retention pass over %d sources (nothing to prune)", p.Sources), pruneD.Seconds(), "s", secs(pruneD))
	if pruned != 0 {
		return fmt.Errorf("retention pruned %d fresh items", pruned)
	}

	// Warm: every source answers 304.
	full0, conns0 := o.full.Load(), o.conns.Load()
	cpu0 := cpuTime()
	r, err := pollOnce(ctx, cold)
	warmCPU := cpuTime() - cpu0
	if err != nil {
		return fmt.Errorf("warm poll: %w", err)
	}
	warm := r.total()
	s := statsOf(r.results)
	if s.failed > 0 || s.notModified != p.Sources || o.full.Load() != full0 || r.indexed != 0 {
		return fmt.Errorf("warm poll: %v, %d indexed (want %d not modified): %v", s, r.indexed, p.Sources, s.firstErr)
	}
	logf("warm poll: %v, %v", warm.Round(time.Millisecond), s)
	scale := float64(p.Sources) / 500
	suffix = ""
	target := "≤ 1.0 s (aim ≤ 0.25 s)"
	if p.Sources != 500 {
		suffix = fmt.Sprintf(" (target scaled × %d/500)", p.Sources)
		target = fmt.Sprintf("≤ %s (aim ≤ %s)", secs(time.Duration(scale*float64(time.Second))), secs(time.Duration(scale*float64(250*time.Millisecond))))
	}
	rep.add(fmt.Sprintf("warm poll: %d sources, all 304", p.Sources), warm.Seconds(), "s",
		fmt.Sprintf("%s (%.2f ms/source)", secs(warm), float64(warm.Microseconds())/1e3/float64(p.Sources))).
		atMost(1.0*scale, 0.25*scale, target, suffix)
	rep.note("warm poll: process CPU %.2f s (%.0f µs per source); the origin accepted %d new connections in it (%d during the cold poll)",
		warmCPU.Seconds(), float64(warmCPU.Microseconds())/float64(p.Sources), o.conns.Load()-conns0, conns0)

	// Churn: some sources have one new item.
	nchurn := int(math.Round(float64(p.Sources) * p.Churn))
	if p.Churn > 0 {
		nchurn = max(nchurn, 1)
	}
	changed := make([]int, nchurn)
	for k := range changed {
		changed[k] = k * p.Sources / nchurn
	}
	o.churn(changed)
	wb0, _ := ioBytes()
	r, err = pollOnce(ctx, cold)
	wb1, _ := ioBytes()
	if err != nil {
		return fmt.Errorf("churn poll: %w", err)
	}
	churn := r.total()
	s = statsOf(r.results)
	if s.failed > 0 || s.ok != nchurn || s.New != nchurn || s.Updated != 0 || r.indexed != nchurn {
		return fmt.Errorf("churn poll: %v, %d indexed (want %d ok with 1 new item each): %v", s, r.indexed, nchurn, s.firstErr)
	}
	logf("churn poll: %v, %v", churn.Round(time.Millisecond), s)
	rep.add(fmt.Sprintf("churn poll: %d sources, %d changed (1 new item each), indexed", p.Sources, nchurn), churn.Seconds(), "s",
		fmt.Sprintf("%s (index %s)", secs(churn), secs(r.index)))
	rep.note("churn poll: %v; %.1f MB written to disk", s, float64(wb1-wb0)/1e6)

	// Ingest: parsed items into a fresh database, one source at a time.
	if err := ingest(ctx, rep, p, dir, bodies, cold, logf); err != nil {
		return err
	}

	// Serving a category feed of the cold-poll database.
	if p.ServeDuration > 0 {
		if err := serve(ctx, rep, p, cold, logf); err != nil {
			return err
		}
	}

	// RSS of the real binary.
	if p.RSSSources > 0 {
		r, err := measureRSS(ctx, p, dir, logf)
		if err != nil {
			return fmt.Errorf("rss: %w", err)
		}
		suffix := ""
		if r.sources != 10000 {
			suffix = fmt.Sprintf(" (target set for 10,000 sources, not %d)", r.sources)
		}
		rep.add(fmt.Sprintf("serve with %d sources: first round of polls", r.sources), r.firstRound.Seconds(), "s",
			fmt.Sprintf("%s (%.0f sources/s)", secs(r.firstRound), float64(r.sources)/r.firstRound.Seconds()))
		rep.add(fmt.Sprintf("serve with %d sources: peak RSS (VmHWM)", r.sources), float64(r.peak)/1e6, "MB", mb(r.peak))
		rep.add(fmt.Sprintf("serve with %d sources: steady RSS (VmRSS, %v idle)", r.sources, r.idle), float64(r.steady)/1e6, "MB", mb(r.steady)).
			atMost(200, 100, "≤ 200 MB (aim ≤ 100 MB)", suffix)
		rep.note("rss: %d sources × %d items, interval 1h, concurrency %d (per-host limit raised to it), log level info; %d polls (%d errors); VmRSS %s when the first round ended, %s after the idle wait (anonymous %s, file and shared memory %s); database %s; binary %s",
			r.sources, p.RSSItems, config.DefaultConcurrency, r.polls, r.errors, mb(r.atRound), mb(r.steady), mb(r.anon), mb(r.file), mb(r.dbBytes), r.binary)
	}

	if p.HeapProfile != "" && p.RSSSources > 0 {
		if err := heapProfile(ctx, p, dir, p.HeapProfile, logf); err != nil {
			return err
		}
		logf("heap profile: %s", p.HeapProfile)
	}

	if p.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printReport(stdout, rep)
	return nil
}

func ingest(ctx context.Context, rep *report, p params, dir string, bodies [][]byte, in *app.App, logf func(string, ...any)) error {
	parsed, err := parseAll(bodies, in.Sources())
	if err != nil {
		return fmt.Errorf("ingest: parse: %w", err)
	}
	path := filepath.Join(dir, "ingest.db")
	db, err := storage.Open(ctx, path)
	if err != nil {
		return err
	}
	open := true
	defer func() {
		if open {
			db.Close()
		}
	}()
	_, infos := app.Sources(in.Config())
	if err := db.SyncSources(ctx, infos); err != nil {
		return err
	}
	size0, err := db.Size()
	if err != nil {
		return err
	}
	items := 0
	wb0, wc0 := ioBytes()
	start := time.Now()
	for _, r := range parsed {
		c, err := db.Save(ctx, r)
		if err != nil {
			return fmt.Errorf("ingest: %s: %w", r.Source, err)
		}
		items += c.New
	}
	saved := time.Since(start)
	indexed, err := db.IndexAll(ctx)
	if err != nil {
		return fmt.Errorf("ingest: search index: %w", err)
	}
	d := time.Since(start)
	wb1, wc1 := ioBytes()
	size1, err := db.Size()
	if err != nil {
		return err
	}
	if items != p.Sources*p.Items || indexed != items {
		return fmt.Errorf("ingest: %d items new, %d indexed, want %d", items, indexed, p.Sources*p.Items)
	}
	// Closing the last connection checkpoints the WAL into the file.
	open = false
	if err := db.Close(); err != nil {
		return err
	}
	var closed int64
	if st, err := os.Stat(path); err == nil {
		closed = st.Size()
	}
	logf("ingest: %d items saved in %v, indexed in %v", items, saved.Round(time.Millisecond), (d - saved).Round(time.Millisecond))
	rep.add(fmt.Sprintf("ingest: %d parsed items saved into SQLite, one source per transaction", items), float64(items)/saved.Seconds(), "items/s",
		fmt.Sprintf("%s items/s (%s)", count(float64(items)/saved.Seconds()), secs(saved)))
	rep.add("ingest: saved and indexed for search", float64(items)/d.Seconds(), "items/s",
		fmt.Sprintf("%s items/s (%s)", count(float64(items)/d.Seconds()), secs(d)))
	rep.add("ingest: bytes written (write calls; to disk)", float64(wc1-wc0)/1e6, "MB",
		fmt.Sprintf("%.1f MB; %.1f MB (%.1f KB per item)", float64(wc1-wc0)/1e6, float64(wb1-wb0)/1e6, float64(wc1-wc0)/1e3/float64(items)))
	rep.note("ingest: database %.1f MB after saving and indexing (file + WAL, from %.1f MB empty), %.1f MB once closed (checkpointed; %.1f KB per item, search index included)",
		float64(size1)/1e6, float64(size0)/1e6, float64(closed)/1e6, float64(closed)/1e3/float64(items))
	return nil
}

func serve(ctx context.Context, rep *report, p params, in *app.App, logf func(string, ...any)) error {
	base, stop, err := startServer(in)
	if err != nil {
		return err
	}
	defer stop()
	path := "/feeds/c0.atom"
	u := base + path
	wrk := findWrk(p.Wrk)
	for _, gz := range []bool{false, true} {
		size, err := checkFeed(ctx, u, gz)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		enc := "identity"
		if gz {
			enc = "gzip"
		}
		var res loadResult
		if wrk != "" {
			res, err = runWrk(ctx, wrk, u, gz, p.ServeThreads, p.ServeConns, p.ServeDuration)
		} else {
			res, err = runGoLoad(ctx, u, gz, p.ServeConns, p.ServeDuration)
		}
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		if res.errors > 0 {
			return fmt.Errorf("serve: %s: %d failed requests", res.tool, res.errors)
		}
		logf("serve %s %s: %.0f requests/s", path, enc, res.rps)
		rep.add(fmt.Sprintf("serve GET %s (%s, %.1f KB), %s", path, enc, float64(size)/1e3, res.tool), res.rps, "requests/s",
			fmt.Sprintf("%s req/s (p50 %s, p99 %s)", count(res.rps), res.p50, res.p99))
	}
	rep.note("serve: the category feed gathers %d of the %d sources (page of %d entries); server.New over the cold-poll database with the metrics middleware, as `feedrelay serve` wires it; the load generator runs on the same cores",
		(p.Sources+categoryCount-1)/categoryCount, p.Sources, in.Config().PageSize)
	return nil
}

func printReport(w io.Writer, rep *report) {
	m := rep.Machine
	fmt.Fprintf(w, "feedrelay benchmark, %s\n", rep.Date)
	fmt.Fprintf(w, "machine: %s, %d CPUs (GOMAXPROCS %d), %s memory, %s, %s\n", m.CPU, m.NumCPU, m.GOMAXPROCS, m.MemTotal, m.OS, m.Go)
	fmt.Fprintf(w, "command: %s\n\n", rep.Command)
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "| figure\t| measured\t| target\t| verdict\t|")
	fmt.Fprintln(tw, "| ---\t| ---\t| ---\t| ---\t|")
	for _, f := range rep.Figures {
		fmt.Fprintf(tw, "| %s\t| %s\t| %s\t| %s\t|\n", f.Name, f.Shown, f.Target, f.Verdict)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
}
