package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/internal/app"
	"github.com/feedrelay/feedrelay/internal/connlimit"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // a poll failed, or serve stopped on an error
	exitUsage  = 2 // bad flags or a bad config file
)

const usage = `usage: feedrelay <command> [flags]

commands:
  serve  [-config config.yaml]              poll on schedule and serve feeds until SIGINT/SIGTERM
  poll   [-config config.yaml] [-source S]  poll once, print one line per source
         [-cpuprofile FILE]                 and write a CPU profile of it
         [-memprofile FILE]                 and a profile of what it allocated (go tool pprof)
         [-trace FILE]                      and an execution trace of it (go tool trace)
         -source S -dry-run                 print what S yields (fields, dates, full text); store nothing
  check  [-config config.yaml]              validate the config file
  explain [-config config.yaml] -source S   why each of a source's newest items is shown, dropped or folded
  import-opml FILE                          print config sources for an OPML subscription list
  backup [-config config.yaml] FILE         write a consistent copy of the database, even while serving
  export jekyll [-config config.yaml] [-category S] [-since YYYY-MM-DD] [-prune] DIR
                                            write the published entries as Jekyll posts
  export static [-config config.yaml] [-ping] DIR
                                            write every feed, page and the OPML as a static site,
                                            and tell the websub.hubs of the feeds that changed
  copy -from feedrelay.db -to postgres://…  move a SQLite database to PostgreSQL, entry ids unchanged
  healthcheck [-config config.yaml]         exit 0 if the running serve answers /healthz (for Docker)
  version                                   print feedrelay's version
  help [COMMAND]                            this, or the flags of COMMAND

Flags may come before or after a command's arguments.
`

// Run is the whole program, minus the process: tests drive it directly.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "import-opml":
		return runImportOPML(args, stdout, stderr)
	case "backup":
		return runBackup(ctx, args, stdout, stderr)
	case "copy":
		return runCopy(ctx, args, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, args, stdout, stderr)
	case "explain":
		return runExplain(ctx, args, stdout, stderr)
	case "export":
		return runExport(ctx, args, stdout, stderr)
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "config.yaml", "config file")
	var source *string
	var dryRun *bool
	var cpuProfile, memProfile, traceFile *string
	if cmd == "poll" {
		source = fs.String("source", "", "poll only the source with this slug")
		dryRun = fs.Bool("dry-run", false, "with -source: print what the source yields, store nothing")
		cpuProfile = fs.String("cpuprofile", "", "write a CPU profile of the whole poll to this file (go tool pprof)")
		memProfile = fs.String("memprofile", "", "write a profile of what the whole poll allocated to this file (go tool pprof -sample_index=alloc_space)")
		traceFile = fs.String("trace", "", "write an execution trace of the whole poll to this file (go tool trace)")
	}
	switch cmd {
	case "serve", "poll", "check":
	case "help", "-h", "-help", "--help":
		if cmd == "help" && len(args) > 0 && args[0] != "help" {
			return Run(ctx, append(slices.Clone(args), "-h"), stdout, stderr) // its flags
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	case "version", "-version", "--version":
		switch {
		case len(args) > 0 && isHelp(args[0]):
			fmt.Fprintln(stdout, "usage: feedrelay version")
			return exitOK
		case !noArgs(cmd, args, stderr):
			return exitUsage
		}
		fmt.Fprintln(stdout, "feedrelay", version())
		return exitOK
	default:
		fmt.Fprintf(stderr, "feedrelay: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	rest, err := parseArgs(fs, args)
	if err != nil {
		return usageExit(err)
	}
	if !noArgs(cmd, rest, stderr) {
		return exitUsage
	}
	cfg, err := app.LoadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	switch cmd {
	case "check":
		fmt.Fprintf(stdout, "%s: ok (%d categories, %d sources)\n", *configPath, len(cfg.Categories), len(cfg.Sources))
		return exitOK
	case "poll":
		if *dryRun {
			return runDryRun(ctx, cfg, *source, stdout, stderr)
		}
		if *cpuProfile != "" {
			stop, err := startCPUProfile(*cpuProfile)
			if err != nil {
				fmt.Fprintln(stderr, "feedrelay:", err)
				return exitFailed
			}
			defer stop()
		}
		if *memProfile != "" {
			stop, err := startAllocProfile(*memProfile, stderr)
			if err != nil {
				fmt.Fprintln(stderr, "feedrelay:", err)
				return exitFailed
			}
			defer stop()
		}
		if *traceFile != "" {
			stop, err := startTrace(*traceFile)
			if err != nil {
				fmt.Fprintln(stderr, "feedrelay:", err)
				return exitFailed
			}
			defer stop()
		}
		return runPoll(ctx, cfg, *source, stdout, stderr)
	default:
		return runServe(ctx, cfg, stderr)
	}
}

// startCPUProfile profiles the process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile %s: %w", path, err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// startAllocProfile creates path now, so that a file it cannot create
// fails the command before anything is polled, and writes into it what
// the process allocated (sampled as the runtime does) when stop is called.
func startAllocProfile(path string, stderr io.Writer) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("memory profile: %w", err)
	}
	return func() {
		runtime.GC() // the profile is as of the last collection: include what came since
		err := pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fmt.Fprintf(stderr, "feedrelay: memory profile %s: %v\n", path, err)
		}
	}, nil
}

// startTrace writes an execution trace of the process (goroutines,
// scheduler, syscalls, GC) into path until stop is called: where a poll's
// cores idle, which a CPU profile does not show.
func startTrace(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("trace %s: %w", path, err)
	}
	return func() { trace.Stop(); f.Close() }, nil
}

func runPoll(ctx context.Context, c app.Config, only string, stdout, stderr io.Writer) int {
	cfg := c.Config
	level := cfg.Log.Level
	if level == "info" {
		// The summary on stdout says what the info lines would.
		level = "warn"
	}
	a, err := app.Open(ctx, c, app.Options{Logging: app.NewLogging(stderr, cfg.Log.Format, level)})
	if err != nil {
		fmt.Fprintln(stderr, "feedrelay:", err)
		return exitFailed
	}
	defer a.Close()
	sources := a.Sources()
	if only != "" {
		sc, err := cfg.FindSource(only)
		if err != nil {
			fmt.Fprintln(stderr, "feedrelay:", err)
			return exitUsage
		}
		sources = nil
		for _, s := range a.Sources() {
			if s.Slug == sc.Slug {
				sources = append(sources, s)
			}
		}
	}
	prog := newProgress(stderr, len(sources))
	results := a.PollOnce(ctx, sources, func(r *feeds.Result) { prog.done(r.Err != nil) })
	prog.finish()
	// The search index of what was stored is left to serve, which builds
	// it in the background (it alone answers /search).
	if _, err := a.Prune(ctx); err != nil && ctx.Err() == nil {
		a.Logger.Warn("retention", slog.String("error", err.Error()))
	}
	code := exitOK
	for i, r := range results {
		if r.Err != nil {
			// When a running daemon would try again.
			r.NextPoll = feeds.NextPoll(sources[i], r, r.Failures, time.Now().In(cfg.Location))
		}
		fmt.Fprintf(stdout, "%s (%s): %s\n", sources[i].Slug, sources[i].Name, r.Summary())
		if r.Err != nil {
			code = exitFailed
		}
	}
	return code
}

func runServe(ctx context.Context, c app.Config, stderr io.Writer) int {
	logging := app.NewLogging(stderr, c.Log.Format, c.Log.Level)
	a, err := app.Open(ctx, c, app.Options{Logging: logging})
	if err != nil {
		logging.Logger().Error("start", slog.String("error", err.Error()))
		return exitFailed
	}
	defer a.Close()
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		a.Logger.Error("listen", slog.String("addr", c.Listen), slog.String("error", err.Error()))
		return exitFailed
	}
	ln = connlimit.Apply(a.HTTP, ln) // timeouts, header limit, connections capped below the fd limit
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := a.Run(ctx, ln, hup); err != nil {
		a.Logger.Error("serve stopped", slog.String("error", err.Error()))
		return exitFailed
	}
	return exitOK
}

// progress shows a one-shot poll's progress on a terminal (sources done of
// total, failures so far) and stays quiet in a pipe or a log.
type progress struct {
	mu           sync.Mutex
	w            io.Writer // nil when not a terminal
	n, total     int
	failed       int
	lastRendered time.Time
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{total: total}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.w = w
		}
	}
	return p
}

func (p *progress) done(failed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if failed {
		p.failed++
	}
	if p.w != nil && (p.n == p.total || time.Since(p.lastRendered) > 100*time.Millisecond) {
		p.lastRendered = time.Now()
		fmt.Fprintf(p.w, "\rpolled %d/%d sources, %d failed", p.n, p.total, p.failed)
	}
}

// finish clears the progress line before the summary is printed.
func (p *progress) finish() {
	if p.w != nil {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
