package feeds

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

func TestIsPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8":                true,
		"114.114.114.114":        true,
		"2001:4860:4860::8888":   true,
		"::ffff:8.8.8.8":         true,
		"64:ff9b::808:808":       true, // NAT64 of 8.8.8.8
		"127.0.0.1":              false,
		"127.9.9.9":              false,
		"10.1.2.3":               false,
		"172.16.0.1":             false,
		"192.168.1.1":            false,
		"169.254.169.254":        false, // cloud metadata
		"100.100.100.200":        false, // Alibaba Cloud metadata (CGNAT range)
		"0.0.0.0":                false,
		"0.1.2.3":                false,
		"224.0.0.1":              false,
		"255.255.255.255":        false,
		"::1":                    false,
		"::":                     false,
		"fe80::1":                false,
		"fc00::1":                false,
		"fd12:3456::1":           false,
		"ff02::1":                false,
		"::ffff:127.0.0.1":       false, // IPv4-mapped
		"::ffff:10.0.0.1":        false,
		"::ffff:169.254.169.254": false,
		"64:ff9b::7f00:1":        false, // NAT64 of 127.0.0.1
	} {
		if got := isPublic(netip.MustParseAddr(addr)); got != want {
			t.Errorf("isPublic(%s) = %v, want %v", addr, got, want)
		}
	}
}

// fakeDNS answers A queries for the names it is given, NXDOMAIN for others.
func fakeDNS(t *testing.T, names map[string]string) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var q dnsmessage.Message
			if q.Unpack(buf[:n]) != nil || len(q.Questions) != 1 {
				continue
			}
			qq := q.Questions[0]
			ans := dnsmessage.Message{Header: dnsmessage.Header{ID: q.ID, Response: true, Authoritative: true}, Questions: q.Questions}
			ip, ok := names[strings.TrimSuffix(qq.Name.String(), ".")]
			switch {
			case !ok:
				ans.RCode = dnsmessage.RCodeNameError
			case qq.Type == dnsmessage.TypeA:
				ans.Answers = []dnsmessage.Resource{{
					Header: dnsmessage.ResourceHeader{Name: qq.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 1},
					Body:   &dnsmessage.AResource{A: netip.MustParseAddr(ip).As4()},
				}}
			}
			if b, err := ans.Pack(); err == nil {
				pc.WriteTo(b, from)
			}
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}

// countingServer serves tinyFeed on addr and counts the requests it got.
type countingServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
}

func newCountingServer(t *testing.T, addr string, h http.HandlerFunc) *countingServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingServer{}
	cs.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.mu.Lock()
		cs.reqs = append(cs.reqs, r)
		cs.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		fmt.Fprint(w, tinyFeed)
	}))
	cs.Listener.Close()
	cs.Listener = ln
	cs.Start()
	t.Cleanup(cs.Close)
	return cs
}

func (cs *countingServer) requests() []*http.Request {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return append([]*http.Request(nil), cs.reqs...)
}

// port is the server's port.
func (cs *countingServer) port() string {
	_, p, _ := net.SplitHostPort(cs.Listener.Addr().String())
	return p
}

// A source may reach the address its configured URL names, and public
// ones; a redirect from there to another private address, or to a name
// that resolves to one, is refused before anything is sent to it.
func TestFetch_PrivateAddressesRefused(t *testing.T) {
	internal := newCountingServer(t, "127.0.0.2:0", nil) // "the intranet"
	resolver := fakeDNS(t, map[string]string{"intranet.test": "127.0.0.2"})
	byName := "http://intranet.test:" + internal.port() + "/secret"
	byAddr := internal.URL + "/secret"
	source := newCountingServer(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-addr":
			http.Redirect(w, r, byAddr, http.StatusFound)
		case "/to-name":
			http.Redirect(w, r, byName, http.StatusMovedPermanently)
		default:
			fmt.Fprint(w, tinyFeed)
		}
	})
	loopbackTarget := source.URL + "/feed"
	// A source on 127.0.0.2 redirecting to 127.0.0.1.
	toLoopback := newCountingServer(t, "127.0.0.2:0", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, loopbackTarget, http.StatusFound)
	})
	f := NewFetcher("")
	f.resolver = resolver

	// The configured literal address works (every test fixture relies on it).
	if _, err := fetch(t, f, Request{URL: source.URL + "/feed"}); err != nil {
		t.Fatalf("fetch of the configured address: %v", err)
	}
	// Allowed once, with allow_private_networks: the connection this
	// leaves in the pool must not serve the refusals below.
	if _, err := fetch(t, f, Request{URL: byName, AllowPrivateNetworks: true}); err != nil {
		t.Fatalf("with allow_private_networks: %v", err)
	}
	before := len(internal.requests())

	for _, c := range []struct {
		name, url, addr, host string
	}{
		{"redirect to another address", source.URL + "/to-addr", "127.0.0.2", "127.0.0.2"},
		{"redirect to a name resolving to one", source.URL + "/to-name", "127.0.0.2", "intranet.test"},
		{"configured name resolving to one", byName, "127.0.0.2", "intranet.test"},
		{"redirect to 127.0.0.1", toLoopback.URL + "/", "127.0.0.1", "127.0.0.1"},
	} {
		resp, err := fetch(t, f, Request{URL: c.url})
		var pe *PrivateAddressError
		if !errors.As(err, &pe) {
			t.Errorf("%s: got %+v, %v; want a PrivateAddressError", c.name, resp, err)
			continue
		}
		if pe.Addr.String() != c.addr || pe.Host != c.host {
			t.Errorf("%s: refused %s (%s), want %s (%s)", c.name, pe.Addr, pe.Host, c.addr, c.host)
		}
		if !strings.Contains(err.Error(), "refusing to connect to "+c.addr) || !strings.Contains(err.Error(), "allow_private_networks") {
			t.Errorf("%s: error %q does not say what was refused and how to allow it", c.name, err)
		}
	}
	if n := len(internal.requests()) - before; n != 0 {
		t.Errorf("the internal server got %d requests after the refusals", n)
	}
	feedHits := 0
	for _, r := range source.requests() {
		if r.URL.Path == "/feed" {
			feedHits++
		}
	}
	if feedHits != 1 {
		t.Errorf("the loopback source's /feed was asked %d times, want 1 (the redirect to it refused)", feedHits)
	}

	// A page a feed links to (full text) is not the configured URL: the
	// literal address it names is not exempt.
	if _, err := fetch(t, f, Request{URL: byAddr, ConfiguredURL: "https://feeds.example.org/rss"}); !errors.As(err, new(*PrivateAddressError)) {
		t.Errorf("an article link to a private address: %v, want a PrivateAddressError", err)
	}

	// allow_private_networks on the source follows the redirect.
	if _, err := fetch(t, f, Request{URL: source.URL + "/to-name", AllowPrivateNetworks: true}); err != nil {
		t.Errorf("redirect with allow_private_networks: %v", err)
	}
}

// Credentials go to the configured host only: not those a redirect URL
// carries, and not the operator's headers on a redirect to another host,
// subdomains included.
func TestFetch_RedirectCredentials(t *testing.T) {
	var target *countingServer
	target = newCountingServer(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/userinfo":
			http.Redirect(w, r, "http://admin:hunter2@127.0.0.1:"+target.port()+"/feed", http.StatusFound)
		case "/same-host":
			http.Redirect(w, r, "/feed", http.StatusFound)
		case "/subdomain":
			http.Redirect(w, r, "http://cdn.feeds.test:"+target.port()+"/feed", http.StatusFound)
		case "/other-host":
			http.Redirect(w, r, "http://elsewhere.test:"+target.port()+"/feed", http.StatusFound)
		default:
			fmt.Fprint(w, tinyFeed)
		}
	})
	f := NewFetcher("")
	f.resolver = fakeDNS(t, map[string]string{"feeds.test": "127.0.0.1", "cdn.feeds.test": "127.0.0.1", "elsewhere.test": "127.0.0.1"})
	headers := map[string]string{"Authorization": "Bearer operator-token", "X-Api-Key": "k-123", "Cookie": "session=s"}
	base := "http://feeds.test:" + target.port()

	for _, c := range []struct {
		path      string
		wantCreds bool
	}{
		{"/same-host", true},
		{"/subdomain", false},
		{"/other-host", false},
	} {
		n := len(target.requests())
		if _, err := fetch(t, f, Request{URL: base + c.path, Headers: headers, AllowPrivateNetworks: true}); err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		landed := target.requests()[n+1]
		for k, v := range headers {
			if got := landed.Header.Get(k) == v; got != c.wantCreds {
				t.Errorf("%s: %s sent to %s after the redirect: %v, want %v", c.path, k, landed.Host, got, c.wantCreds)
			}
		}
	}

	n := len(target.requests())
	if _, err := fetch(t, f, Request{URL: target.URL + "/userinfo"}); err != nil {
		t.Fatal(err)
	}
	if auth := target.requests()[n+1].Header.Get("Authorization"); auth != "" {
		t.Errorf("the redirect URL's user:password was sent: Authorization %q", auth)
	}
}
