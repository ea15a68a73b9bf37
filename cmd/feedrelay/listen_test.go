package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// How the tests' daemons get their ports. A port picked free and closed
// again (freeAddr) can be bound by another process before serve binds it:
// another test, another build on the machine, any outgoing connection the
// kernel gives that local port. So a daemon that needs no particular port
// listens on 127.0.0.1:0 and the test reads the address it got from its
// "serving" log line (servingAddr). A config that needs a fixed port
// (healthcheck reads the config's listen:; the restart after kill -9 on the
// killed daemon's port, as operators do) is started again when the bind
// fails (startServeAt, startServeFixed).

// relayBase is the base_url of the test configs that listen on
// 127.0.0.1:0: the public URL a reverse proxy would serve the daemon under.
// Links under it are followed on the daemon's own address (local).
const relayBase = "http://relay.example/"

// proxied is link, a URL under public (a base_url), on the daemon's own
// address base ("http://127.0.0.1:PORT"), as a reverse proxy serving
// public would ask it; an error when link is not under public.
func proxied(base, public, link string) (string, error) {
	rest, ok := strings.CutPrefix(link, public)
	if !ok {
		return "", fmt.Errorf("link %s is not under base_url %s", link, public)
	}
	return strings.TrimSuffix(base, "/") + "/" + rest, nil
}

// errAddrInUse is waitServing's error when serve exited because its listen
// address was taken.
var errAddrInUse = errors.New("serve could not bind its address: address already in use")

// textServing is the "serving" line of the text log format.
var textServing = regexp.MustCompile(`\bmsg=serving addr=(\S+)`)

// findServing is the address in serve's "serving" log line (JSON or text),
// "" while there is none. Only whole lines count: a child's output arrives
// in chunks, and a cut-off address would look like a whole one.
func findServing(logs string) string {
	lines := strings.Split(logs, "\n")
	for _, line := range lines[:len(lines)-1] {
		if strings.HasPrefix(line, "{") {
			var l struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "serving" {
				return l.Addr
			}
			continue
		}
		if m := textServing.FindStringSubmatch(line); m != nil {
			return m[1]
		}
	}
	return ""
}

// waitServing waits until serve, writing to logs, logs the address it
// serves on (at level info), and returns it; exited reports whether serve
// has ended. errAddrInUse when it ended because its port was taken.
func waitServing(logs *syncBuffer, exited func() bool) (string, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Read whether it ended before the logs: once ended, they are
		// complete.
		ended := exited()
		out := logs.String()
		if addr := findServing(out); addr != "" {
			return addr, nil
		}
		switch {
		case ended && strings.Contains(out, "address already in use"):
			return "", fmt.Errorf("%w:\n%s", errAddrInUse, out)
		case ended:
			return "", fmt.Errorf("serve exited before it listened:\n%s", out)
		case time.Now().After(deadline):
			return "", fmt.Errorf("serve logged no \"serving\" line within 30 s:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// servingAddr is the address serve listens on, from its "serving" log
// line (for a config with listen: 127.0.0.1:0); exited reports whether
// serve has ended.
func servingAddr(t *testing.T, logs *syncBuffer, exited func() bool) string {
	t.Helper()
	addr, err := waitServing(logs, exited)
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// addr is the address d listens on.
func (d *daemon) addr(t *testing.T) string {
	t.Helper()
	return servingAddr(t, d.logs, d.exited)
}

// freeAddr is a 127.0.0.1 address whose port was free a moment ago, and
// may not be by the time serve binds it: for startServeFixed.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// bindTries bounds the starts of serve on a fixed port that another
// process holds.
const bindTries = 10

// tryServe starts serve with cfg and waits until it listens; nil and
// errAddrInUse when its port was taken.
func tryServe(t *testing.T, cfg string) (*daemon, error) {
	t.Helper()
	d := startServe(t, cfg)
	if _, err := waitServing(d.logs, d.exited); err != nil {
		if errors.Is(err, errAddrInUse) {
			return nil, err
		}
		t.Fatal(err)
	}
	return d, nil
}

// startServeAt starts serve with cfg, whose listen: is a fixed address (a
// daemon killed a moment ago had it), and waits until it listens there.
// Another process may have bound the port meanwhile: serve then exits
// "address already in use" and is started again after half a second, as
// systemd's Restart= would, up to bindTries times.
func startServeAt(t *testing.T, cfg string) *daemon {
	t.Helper()
	var err error
	for range bindTries {
		var d *daemon
		if d, err = tryServe(t, cfg); err == nil {
			return d
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("serve started %d times, its port taken each time: %v", bindTries, err)
	return nil
}

// startServeFixed starts serve with the config write makes for a fixed
// listen address, a port from freeAddr, and waits until it listens; when
// another process took that port before serve bound it, it tries another
// one, up to bindTries times. It returns the daemon and its address.
func startServeFixed(t *testing.T, write func(addr string) (cfg string)) (*daemon, string) {
	t.Helper()
	var err error
	for range bindTries {
		addr := freeAddr(t)
		var d *daemon
		if d, err = tryServe(t, write(addr)); err == nil {
			return d, addr
		}
	}
	t.Fatalf("serve started on %d ports, each taken before it bound it: %v", bindTries, err)
	return nil, ""
}

// holdPort binds a TCP socket to 127.0.0.1:port (0: a free port) without
// listening on it, until the test ends, and returns its address:
// connecting to it is refused, and no other process can listen on it
// meanwhile, as it could on a port closed again. reuse sets SO_REUSEADDR,
// needed to bind a port a server closed a moment ago (its connections wait
// in TIME_WAIT); without it no other socket can bind the port at all.
func holdPort(t *testing.T, port int, reuse bool) (string, error) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("socket: %w", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if reuse {
		if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
			return "", fmt.Errorf("SO_REUSEADDR: %w", err)
		}
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return "", fmt.Errorf("bind 127.0.0.1:%d: %w", port, err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return "", fmt.Errorf("getsockname: %w", err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)), nil
}
