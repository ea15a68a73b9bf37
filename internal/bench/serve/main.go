// Command serve is the helper of scripts/bench-serve, which measures how fast
// feedrelay serves a category feed compared with nginx serving the same bytes
// as a static file. It has three subcommands:
//
//	serve feed [-items 60] [-seed 1]   an RSS 2.0 source feed on stdout: items of
//	                                   ~1.5 KB of mixed Chinese/English HTML
//	serve ports N                      N free TCP ports on 127.0.0.1, one a line
//	serve get [-gzip] [-o FILE] URL    GET URL (Accept-Encoding: identity, or
//	                                   gzip), save the body, and print status,
//	                                   Content-Type, Content-Encoding, size, ETag
//	serve static ADDR FILE             serve FILE (FILE.gz to clients that accept
//	                                   gzip) from memory on every path, with a
//	                                   bare net/http handler: the ceiling of what
//	                                   a Go server can do on this machine
//	serve run -config FILE [-pprof ADDR]
//	                                   what `feedrelay serve -config FILE` does
//	                                   (package app), and net/http/pprof on ADDR,
//	                                   a listener of its own: to profile the
//	                                   server under a benchmark's load
//
// It is a bench tool, not part of feedrelay.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/feedrelay/feedrelay/internal/app"
	"github.com/feedrelay/feedrelay/internal/bench/synth"
	"github.com/feedrelay/feedrelay/internal/connlimit"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "feed":
		err = feedCmd(os.Args[2:])
	case "ports":
		err = portsCmd(os.Args[2:])
	case "get":
		err = getCmd(os.Args[2:])
	case "static":
		err = staticCmd(os.Args[2:])
	case "run":
		err = runCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/serve:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: serve feed [-items N] [-seed S] | ports N | get [-gzip] [-o FILE] URL | static ADDR FILE | run -config FILE [-pprof ADDR]")
	os.Exit(2)
}

// feedCmd writes an RSS 2.0 feed of realistic items (package synth): ~1.5
// KB of HTML each, paragraphs of Chinese with English sentences, tickers, a
// list, a table and links, deterministic for a given seed.
func feedCmd(args []string) error {
	fs := flag.NewFlagSet("feed", flag.ExitOnError)
	items := fs.Int("items", 60, "number of items")
	seed := fs.Int("seed", 1, "random seed (the synthetic source's number)")
	size := fs.Int("size", 1500, "approximate size of each item's HTML in bytes")
	fs.Parse(args)
	_, err := os.Stdout.Write(synth.Feed(*seed, 1, *items, *size))
	return err
}

// portsCmd prints n distinct free ports on 127.0.0.1.
func portsCmd(args []string) error {
	n := 1
	if len(args) > 0 {
		var err error
		if n, err = strconv.Atoi(args[0]); err != nil || n < 1 {
			return fmt.Errorf("ports: bad count %q", args[0])
		}
	}
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		lns = append(lns, ln)
		fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	}
	return nil
}

// getCmd fetches one URL the way the benchmark's clients do and tells what
// came back, so that the script can check both servers answer alike.
func getCmd(args []string) error {
	fs := flag.NewFlagSet("get", flag.ExitOnError)
	gz := fs.Bool("gzip", false, "send Accept-Encoding: gzip (else identity)")
	out := fs.String("o", "", "write the body (as sent, not decompressed) to this file")
	wait := fs.Duration("wait", 0, "retry connection errors for this long (server starting)")
	fs.Parse(args)
	if fs.NArg() != 1 {
		usage()
	}
	req, err := http.NewRequest("GET", fs.Arg(0), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept-Encoding", "identity")
	if *gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	// A transport of our own, so that Go does not add gzip or decompress.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 30 * time.Second}
	deadline := time.Now().Add(*wait)
	var resp *http.Response
	for {
		resp, err = client.Do(req)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", fs.Arg(0), resp.Status)
	}
	if *out != "" {
		if err := os.WriteFile(*out, body, 0o644); err != nil {
			return err
		}
	}
	enc := resp.Header.Get("Content-Encoding")
	if enc == "" {
		enc = "identity"
	}
	fmt.Printf("%d %s, %s, %d bytes, ETag %s\n", resp.StatusCode, resp.Header.Get("Content-Type"), enc, len(body), resp.Header.Get("ETag"))
	return nil
}

// staticCmd serves a file's bytes from memory with the least net/http allows:
// the headers feedrelay sends, Content-Length, one Write. No conditional
// requests, no ranges, no routing, no metrics.
func staticCmd(args []string) error {
	if len(args) != 2 {
		usage()
	}
	plain, err := os.ReadFile(args[1])
	if err != nil {
		return err
	}
	gz, err := os.ReadFile(args[1] + ".gz")
	if err != nil {
		return err
	}
	plainLen, gzLen := strconv.Itoa(len(plain)), strconv.Itoa(len(gz))
	modified := time.Now().UTC().Format(http.TimeFormat)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/atom+xml; charset=utf-8")
		h.Set("Vary", "Accept-Encoding")
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("Last-Modified", modified)
		body, n, etag := plain, plainLen, `"static"`
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			body, n, etag = gz, gzLen, `"static-gzip"`
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("ETag", etag)
		h.Set("Content-Length", n)
		w.Write(body)
	})
	srv := &http.Server{Addr: args[0], Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}

// runCmd runs feedrelay's daemon as `feedrelay serve` does (package app: the
// same handler, middleware and http.Server), until SIGINT or SIGTERM, with
// net/http/pprof on a listener of its own when -pprof is given, so that
// `go tool pprof http://ADDR/debug/pprof/profile?seconds=N` samples the
// server while a benchmark loads it. feedrelay itself has no pprof endpoint.
func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	path := fs.String("config", "config.yaml", "config file")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060)")
	fs.Parse(args)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := app.LoadConfig(*path)
	if err != nil {
		return err
	}
	a, err := app.Open(ctx, c, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	if *pprofAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		pln, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			return fmt.Errorf("pprof listener: %w", err)
		}
		go http.Serve(pln, mux)
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Listen, err)
	}
	// As runServe (cmd/feedrelay) does: the connection governor is part of
	// what every request costs, so the profile must include it.
	ln = connlimit.Apply(a.HTTP, ln)
	return a.Run(ctx, ln, nil)
}
