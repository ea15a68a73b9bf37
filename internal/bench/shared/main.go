// Command shared measures several `feedrelay serve` processes sharing one
// PostgreSQL (issue 14): a private cluster (internal/pgtest), N static
// sources on 127.0.0.1, three instances of the real binary with the same
// config, for a while; then one instance killed with SIGKILL.
//
//	go run ./internal/bench/shared -sources 300 -interval 10s -run 60s
//
// It prints: requests per source per interval across all instances (the
// target is exactly 1, never 2), items stored once each, the ETag of a
// category feed from each instance, and how long the killed instance's
// sources waited before another instance polled them (target: at most the
// lease TTL plus the interval).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/feedrelay/feedrelay/internal/pgtest"
)

func main() {
	sources := flag.Int("sources", 300, "static sources")
	interval := flag.Duration("interval", 10*time.Second, "every source's interval")
	timeout := flag.Duration("timeout", 5*time.Second, "every source's fetch timeout (the lease TTL is twice it)")
	run := flag.Duration("run", 60*time.Second, "how long the three instances run together")
	after := flag.Duration("after-kill", 40*time.Second, "how long the two others run after the kill")
	instances := flag.Int("instances", 3, "feedrelay serve processes")
	flag.Parse()
	log.SetFlags(0)
	ctx := context.Background()

	dir, err := os.MkdirTemp("", "feedrelay-shared-")
	check(err)
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "feedrelay")
	build := exec.Command("go", "build", "-o", bin, "./cmd/feedrelay")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	check(build.Run())

	cluster, err := pgtest.Start(ctx)
	check(err)
	defer cluster.Stop()
	check(cluster.Exec(ctx, "CREATE DATABASE shared"))
	dsn := cluster.DSN("shared")

	// The static sources: one item each, a fixed ETag (304 when asked),
	// every request logged with the time it came.
	var (
		mu       sync.Mutex
		requests = map[string][]time.Time{}
	)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slug := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".xml")
		mu.Lock()
		requests[slug] = append(requests[slug], time.Now())
		mu.Unlock()
		etag := `"` + slug + `-v1"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>%s</title><link>https://example.org/%s</link>
<item><title>%s 1</title><link>https://example.org/%s/1</link><guid>%s-1</guid></item>
</channel></rss>`, slug, slug, slug, slug, slug)
	}))

	var srcs strings.Builder
	for i := range *sources {
		fmt.Fprintf(&srcs, "  - {name: s%03d, url: http://%s/s%03d.xml, categories: [news]}\n", i, ln.Addr(), i)
	}
	type instance struct {
		addr string
		cmd  *exec.Cmd
		log  *os.File
	}
	var ins []*instance
	for i := range *instances {
		addr := freeAddr()
		cfg := fmt.Sprintf(`listen: %s
base_url: http://relay.example/
database: %s
concurrency: 16
per_host_concurrency: 16
log: {level: warn}
defaults: {interval: %s, timeout: %s}
categories:
  - {slug: news, title: News}
sources:
%s`, addr, dsn, *interval, *timeout, srcs.String())
		path := filepath.Join(dir, fmt.Sprintf("config-%d.yaml", i))
		check(os.WriteFile(path, []byte(cfg), 0o644))
		lf, err := os.Create(filepath.Join(dir, fmt.Sprintf("serve-%d.log", i)))
		check(err)
		cmd := exec.Command(bin, "serve", "-config", path)
		cmd.Stdout, cmd.Stderr = lf, lf
		check(cmd.Start())
		ins = append(ins, &instance{addr: addr, cmd: cmd, log: lf})
	}
	defer func() {
		for _, in := range ins {
			in.cmd.Process.Signal(syscall.SIGTERM)
			in.cmd.Wait()
		}
	}()
	start := time.Now()
	time.Sleep(*run)
	end := time.Now()

	// Requests per source per interval, over the run's whole intervals
	// after the first (startup) one.
	mu.Lock()
	windows := int(end.Sub(start) / *interval)
	perWindow := map[int]int{} // requests in one window of one source → how many such windows
	var slugs []string
	for slug := range requests {
		slugs = append(slugs, slug)
	}
	sort.Strings(slugs)
	total := 0
	for _, slug := range slugs {
		counts := make([]int, windows)
		for _, at := range requests[slug] {
			if w := int(at.Sub(start) / *interval); w >= 1 && w < windows {
				counts[w]++
			}
		}
		for _, n := range counts[1:] {
			perWindow[n]++
		}
		total += len(requests[slug])
	}
	minGap := time.Duration(1<<63 - 1)
	for _, slug := range slugs {
		ts := requests[slug]
		for j := 1; j < len(ts); j++ {
			minGap = min(minGap, ts[j].Sub(ts[j-1]))
		}
	}
	mu.Unlock()
	fmt.Printf("%d instances, %d sources at a %v interval, for %v: %d requests (%.2f per source per interval over the whole run)\n",
		len(ins), *sources, *interval, *run, total, float64(total)/float64(*sources)/(float64(*run)/float64(*interval)))
	fmt.Printf("requests of one source in one %v window (windows 2…%d): %v  (count of source-windows by requests)\n", *interval, windows-1, perWindow)
	fmt.Printf("shortest gap between two requests of one source: %v\n", minGap.Round(time.Millisecond))

	var items, distinct int
	check(dbQuery(ctx, dsn, &items, &distinct))
	fmt.Printf("items stored: %d, distinct (source, identity): %d, sources: %d\n", items, distinct, *sources)
	var etags []string
	for _, in := range ins {
		resp, err := http.Get("http://" + in.addr + "/feeds/news.atom")
		check(err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		etags = append(etags, resp.Header.Get("ETag"))
	}
	fmt.Printf("ETag of /feeds/news.atom from each instance: %v\n", etags)

	// kill -9 one instance; its leased sources wait for the lease to
	// expire. Measure, for each source, the gap around the kill: the
	// longest gap between two requests of a source after the kill.
	victim := ins[0]
	killed := time.Now()
	check(victim.cmd.Process.Signal(syscall.SIGKILL))
	victim.cmd.Wait()
	ins = ins[1:]
	time.Sleep(*after)
	mu.Lock()
	var worst time.Duration
	var worstSlug string
	starved := 0
	for _, slug := range slugs {
		ts := requests[slug]
		// The last request before the kill, and the first after.
		var last, next time.Time
		for _, at := range ts {
			if at.Before(killed) {
				last = at
			} else if next.IsZero() {
				next = at
			}
		}
		if next.IsZero() {
			starved++
			continue
		}
		if gap := next.Sub(last); gap > worst {
			worst, worstSlug = gap, slug
		}
	}
	mu.Unlock()
	fmt.Printf("kill -9 of one instance: the longest wait of a source between its last request before the kill and its next one: %v (%s); %d sources not polled again within %v; lease TTL %v, interval %v: target <= %v\n",
		worst.Round(100*time.Millisecond), worstSlug, starved, *after, 2**timeout, *interval, 2**timeout+*interval)
}

// dbQuery counts the stored items and their distinct identities.
func dbQuery(ctx context.Context, dsn string, items, distinct *int) error {
	c, err := pgConnect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	return c.QueryRow(ctx, "SELECT count(*), count(DISTINCT (source_id, identity)) FROM items").Scan(items, distinct)
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer ln.Close()
	return ln.Addr().String()
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
