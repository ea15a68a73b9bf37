package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/feedrelay/feedrelay/internal/app"
)

// processPoll is one cold `feedrelay poll` process: the real binary, a
// fresh database, every source of the origin.
type processPoll struct {
	wall time.Duration // from exec to exit
	cpu  time.Duration // user + system of the process
	peak int64         // maxrss (VmHWM) in bytes
	// peakAnon, peakFile: RssAnon and RssFile+RssShmem of the largest
	// sample of VmRSS (every 20 ms).
	peakAnon, peakFile int64
	written            int64         // bytes the process wrote to storage (write_bytes)
	index              time.Duration // then the search index of what it stored, in this process
	indexed            int
}

// runProcessPoll runs `bin poll -config` on a fresh database under dir,
// then indexes what the poll stored (IndexAll, as serve's background
// indexer does), and checks that every item was stored.
func runProcessPoll(ctx context.Context, bin, dir, name string, o *origin, p params, logging *app.Logging, profiles []string) (processPoll, error) {
	var res processPoll
	cfg, cfgPath, err := writeConfig(dir, name+".yaml", benchConfig{
		database:    name + ".db",
		concurrency: p.Concurrency,
		perHost:     p.Concurrency,
		sources:     p.Sources,
		url:         o.feedURL,
	})
	if err != nil {
		return res, err
	}
	args := append([]string{"poll", "-config", cfgPath}, profiles...)
	cmd := exec.CommandContext(ctx, bin, args...)
	logPath := filepath.Join(dir, name+".log") // its stderr (GODEBUG=gctrace=1 lands here)
	logFile, err := os.Create(logPath)
	if err != nil {
		return res, err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = io.Discard, logFile
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, err
	}
	// Sample what the resident memory is made of while it runs: VmHWM
	// alone does not say whether it is the Go heap, SQLite's (C) memory or
	// mapped files.
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			pid := cmd.Process.Pid
			anon, file := procKB(pid, "RssAnon"), procKB(pid, "RssFile")+procKB(pid, "RssShmem")
			if anon < 0 {
				return
			}
			if hwm := procKB(pid, "VmHWM"); hwm > res.peak {
				res.peak = hwm
			}
			if anon+file > res.peakAnon+res.peakFile {
				res.peakAnon, res.peakFile = anon, file
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	err = cmd.Wait()
	res.wall = time.Since(start)
	<-sampled
	if err != nil {
		return res, fmt.Errorf("%s poll -config %s: %w\n%s", bin, cfgPath, err, tail(logPath, 20))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return res, errors.New("no rusage for the poll process")
	}
	res.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	// Not ru.Maxrss: os/exec starts the child with vfork, and Linux keeps
	// the high-water mark of the mm the child shared with this process
	// (the origin's bodies included) in the child's maxrss. VmHWM of the
	// child's own mm, sampled until it exits, is its peak.
	// Linux counts ru_oublock as write_bytes / 512 (task_io_get_oublock).
	res.written = ru.Oublock * 512

	a, err := app.Open(ctx, cfg, app.Options{Logging: logging})
	if err != nil {
		return res, err
	}
	defer a.Close()
	start = time.Now()
	res.indexed, err = a.DB.IndexAll(ctx)
	res.index = time.Since(start)
	if err != nil {
		return res, fmt.Errorf("search index after %s: %w", bin, err)
	}
	if want := p.Sources * p.Items; res.indexed != want {
		return res, fmt.Errorf("%s poll stored %d items for search, want %d", bin, res.indexed, want)
	}
	return res, nil
}

// profileArgs are the poll flags asking for the profiles and trace p
// names, for the binary built from this tree.
func (p params) profileArgs() []string {
	var args []string
	for _, f := range []struct{ flag, path string }{{"-cpuprofile", p.CPUProfile}, {"-memprofile", p.MemProfile}, {"-trace", p.Trace}} {
		if f.path != "" {
			args = append(args, f.flag, f.path)
		}
	}
	return args
}

// processMode measures cold `feedrelay poll` processes of each binary
// against the gofeed floor, the binaries one after the other in every
// round, so that a baseline and a change share the machine's moment.
func processMode(ctx context.Context, p params, dir string, o *origin, bodies [][]byte, stdout io.Writer, logf func(string, ...any)) error {
	bins := strings.Split(p.ProcessBinaries, ",")
	built := -1 // the binary built from this tree: it alone surely has poll -cpuprofile, -memprofile and -trace
	for i, b := range bins {
		if b == "." {
			built = i
			logf("building ./cmd/feedrelay")
			bin, err := buildBinary(ctx, dir)
			if err != nil {
				return err
			}
			bins[i] = bin
		}
	}
	logging := app.NewLogging(os.Stderr, "text", "warn")
	items := float64(p.Sources * p.Items)
	results := make([][]processPoll, len(bins))
	var floors []time.Duration
	for round := range p.Rounds {
		var best time.Duration
		for range floorRuns {
			d, _, err := floor(bodies, true)
			if err != nil {
				return fmt.Errorf("gofeed floor: %w", err)
			}
			if best == 0 || d < best {
				best = d
			}
		}
		floors = append(floors, best)
		for i, bin := range bins {
			var profiles []string
			if i == built && round == p.Rounds-1 {
				profiles = p.profileArgs()
			}
			r, err := runProcessPoll(ctx, bin, dir, fmt.Sprintf("proc-%d-%d", round, i), o, p, logging, profiles)
			if err != nil {
				return err
			}
			results[i] = append(results[i], r)
			logf("round %d %s: floor %v, poll %v (%.2f×), +index %v (%.2f×), peak RSS %.1f MiB (sampled: anon %.1f, file %.1f), %.1f KB written per item",
				round, filepath.Base(bin), best.Round(time.Millisecond), r.wall.Round(time.Millisecond), r.wall.Seconds()/best.Seconds(),
				r.index.Round(time.Millisecond), (r.wall+r.index).Seconds()/best.Seconds(),
				float64(r.peak)/(1<<20), float64(r.peakAnon)/(1<<20), float64(r.peakFile)/(1<<20), float64(r.written)/items/1e3)
		}
	}
	fmt.Fprintf(stdout, "cold `feedrelay poll` processes, %d sources × %d items, concurrency %d, %d rounds (median; floor: gofeed, best of %d per round)\n\n",
		p.Sources, p.Items, p.Concurrency, p.Rounds, floorRuns)
	fmt.Fprintln(stdout, "| binary | poll | ÷ floor (≤ 2.0×) | + search index | ÷ floor (≤ 3.0×) | CPU | written per item (≤ 9 KB) | peak RSS (≤ 64 MiB) |")
	fmt.Fprintln(stdout, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for i, bin := range bins {
		var walls, totals, cpus []time.Duration
		var ratios, totalRatios, written, peaks []float64
		for round, r := range results[i] {
			walls, totals, cpus = append(walls, r.wall), append(totals, r.wall+r.index), append(cpus, r.cpu)
			ratios = append(ratios, r.wall.Seconds()/floors[round].Seconds())
			totalRatios = append(totalRatios, (r.wall+r.index).Seconds()/floors[round].Seconds())
			written = append(written, float64(r.written)/items/1e3)
			peaks = append(peaks, float64(r.peak)/(1<<20))
		}
		fmt.Fprintf(stdout, "| %s | %s | %.2f× | %s | %.2f× | %s | %.1f KB | %.1f MiB |\n", bin,
			secs(median(walls)), median(ratios), secs(median(totals)), median(totalRatios), secs(median(cpus)),
			median(written), median(peaks))
	}
	fmt.Fprintf(stdout, "\ngofeed floor, median: %s\n", secs(median(floors)))
	return nil
}
