package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/feedrelay/feedrelay/config"
)

const healthcheckTimeout = 3 * time.Second

const healthcheckUsage = `usage: feedrelay healthcheck [-config config.yaml]

Asks the feedrelay serve of this config for /healthz on its listen address:
exit 0 when it answers 200, 1 otherwise (the reason on stderr). For images
without curl or wget (Docker HEALTHCHECK).
`

// runHealthcheck is `feedrelay healthcheck [-config config.yaml]`. Its exit
// status follows Docker's HEALTHCHECK: 0 healthy, 1 unhealthy, which
// includes an unreadable config; 2 only for a wrong command line.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, healthcheckUsage, "\nflags:\n")
		fs.PrintDefaults()
	}
	configPath := fs.String("config", "config.yaml", "config file")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return usageExit(err)
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "feedrelay healthcheck: unexpected argument %q\n\n%s", rest[0], healthcheckUsage)
		return exitUsage
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "feedrelay healthcheck: unhealthy: %v\n", err)
		return exitFailed
	}
	target, err := healthURL(cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "feedrelay healthcheck: unhealthy: %v\n", err)
		return exitFailed
	}
	if err := checkHealth(ctx, target); err != nil {
		fmt.Fprintf(stderr, "feedrelay healthcheck: unhealthy: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "%s: ok\n", target)
	return exitOK
}

// healthURL is the /healthz URL of a server listening on listen; a
// wildcard or empty host is reached on the IPv4 loopback (Go listens on
// both stacks for "::").
func healthURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listen %q: %w", listen, err)
	}
	if port == "" || port == "0" {
		return "", fmt.Errorf("listen %q: no fixed port to check", listen)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}

func checkHealth(ctx context.Context, target string) error {
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	client := &http.Client{
		// Straight to our own server: no HTTP_PROXY from the environment,
		// no connection kept for a process that is about to exit.
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("GET %s: no answer within %v", target, healthcheckTimeout)
		}
		return err // *url.Error: names the method and URL
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("GET %s: %s", target, resp.Status)
		if b := strings.Join(strings.Fields(string(body)), " "); b != "" {
			msg += ": " + b
		}
		return errors.New(msg)
	}
	return nil
}
