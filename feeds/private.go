package feeds

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/http/httpproxy"
)

// A source's URL comes from the operator, but where it redirects to, and
// what its host name resolves to, come from whoever runs the source. Left
// alone, a public source that redirects to http://127.0.0.1:9090/ or to the
// cloud metadata service gets an internal page fetched and republished on
// our public feeds. So fetches connect to public addresses only, checked on
// the address actually dialed (after DNS), which a rebinding DNS answer
// cannot get around; the exceptions are the operator's own words: the
// literal address (or localhost) a configured URL names, and
// allow_private_networks.

// PrivateAddressError is a connection refused because its address is not
// public.
type PrivateAddressError struct {
	Host string     // as the URL wrote it (a name, or the address itself)
	Addr netip.Addr // the address it would have connected to
}

func (e *PrivateAddressError) Error() string {
	what := e.Addr.String()
	if e.Host != "" && e.Host != what {
		what = fmt.Sprintf("%s (%s)", what, e.Host)
	}
	return fmt.Sprintf("refusing to connect to %s: a %s address, which the source's url does not name (allow_private_networks: true allows it)",
		what, addressKind(e.Addr))
}

// dialPolicy is which non-public addresses one source's fetches may reach.
// It is comparable: the Fetcher keeps one connection pool per policy, so
// that a connection one source was allowed to open is never reused by a
// source that was not.
type dialPolicy struct {
	allowPrivate bool       // allow_private_networks
	literal      netip.Addr // the address the configured URL names, if any
	localhost    bool       // the configured URL names localhost: any loopback address
}

// policyFor is the policy of a source whose configured URL is u.
func policyFor(u *url.URL, allowPrivate bool) dialPolicy {
	if allowPrivate {
		return dialPolicy{allowPrivate: true}
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return dialPolicy{localhost: true}
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return dialPolicy{literal: a.Unmap()}
	}
	return dialPolicy{}
}

// allowsHost reports whether p lets a fetch connect to host as far as its
// name tells: a literal address p allows, localhost when p allows
// loopback, or any other name (resolved only when dialed).
func (p dialPolicy) allowsHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return p.allowPrivate || p.localhost
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return p.allows(a)
	}
	if a, numeric, ok := legacyIPv4(host); numeric {
		// "2130706433", "0x7f000001", "0177.0.0.1", "127.1": what
		// inet_aton, curl and browsers read as 127.0.0.1. A numeric host
		// that reads as no address is refused too.
		return ok && p.allows(a)
	}
	return true
}

// legacyIPv4 reads host as inet_aton reads an IPv4 address: one to four
// parts separated by dots, each decimal, octal (a leading 0) or hex (0x),
// the last filling the bytes left. numeric reports whether host is made
// only of such parts (a name whose last label is a number is no name a
// resolver looks up); ok whether it is a valid address.
func legacyIPv4(host string) (a netip.Addr, numeric, ok bool) {
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, isNumberPart(parts[len(parts)-1]), false
	}
	var vals []uint64
	for _, part := range parts {
		if !isNumberPart(part) {
			return netip.Addr{}, false, false
		}
		v, err := strconv.ParseUint(part, 0, 32)
		if len(part) > 1 && part[0] == '0' && part[1] != 'x' && part[1] != 'X' {
			v, err = strconv.ParseUint(part[1:], 8, 32)
		}
		if err != nil {
			return netip.Addr{}, true, false
		}
		vals = append(vals, v)
	}
	var ip uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 255 {
			return netip.Addr{}, true, false
		}
		ip |= v << (24 - 8*i)
	}
	last := vals[len(vals)-1]
	if last >= 1<<(8*(5-len(vals))) {
		return netip.Addr{}, true, false
	}
	ip |= last
	return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), true, true
}

// isNumberPart reports whether s is a decimal, octal or 0x hex number.
func isNumberPart(s string) bool {
	if s == "" {
		return false
	}
	digits := s
	hex := len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')
	if hex {
		digits = s[2:]
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		switch {
		case '0' <= c && c <= '9':
		case hex && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F'):
		default:
			return false
		}
	}
	return true
}

// allows reports whether p lets a fetch connect to a.
func (p dialPolicy) allows(a netip.Addr) bool {
	a = a.Unmap()
	switch {
	case p.allowPrivate || isPublic(a):
		return true
	case p.literal.IsValid() && a == p.literal:
		return true
	case p.localhost && a.IsLoopback():
		return true
	}
	return false
}

// checkURL refuses, before any connection, a URL whose host is an address
// p does not allow: this also covers fetches through a proxy, where the
// proxy and not our dialer connects to the host.
func (p dialPolicy) checkURL(u *url.URL) error {
	a, err := netip.ParseAddr(u.Hostname())
	if err != nil || p.allows(a) {
		return nil
	}
	return &PrivateAddressError{Host: u.Hostname(), Addr: a.Unmap()}
}

// dialer returns the DialContext of a transport under p. resolver may be
// nil (the system's). Connections to the proxies named by the environment
// (HTTP_PROXY, HTTPS_PROXY) are not checked: the operator chose them, and
// they may well sit on a private network.
func (p dialPolicy) dialer(resolver *net.Resolver, proxies map[string]bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	plain := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Resolver: resolver}
	guarded := *plain
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if proxies[addr] {
			return plain.DialContext(ctx, network, addr)
		}
		host, _, _ := net.SplitHostPort(addr)
		d := guarded
		// Control runs for every address the name resolved to, after
		// resolution and before connecting: the check is on the address
		// the socket would reach, not on a name (no DNS rebinding, no
		// time-of-check/time-of-use gap).
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("refusing to connect to %q: not an IP address", address)
			}
			if !p.allows(ap.Addr()) {
				return &PrivateAddressError{Host: host, Addr: ap.Addr().Unmap()}
			}
			return nil
		}
		return d.DialContext(ctx, network, addr)
	}
}

// proxyAddrs are the host:port of the proxies the environment configures.
func proxyAddrs() map[string]bool {
	cfg := httpproxy.FromEnvironment()
	out := map[string]bool{}
	for _, p := range []string{cfg.HTTPProxy, cfg.HTTPSProxy} {
		if p == "" {
			continue
		}
		if !strings.Contains(p, "://") {
			p = "http://" + p
		}
		u, err := url.Parse(p)
		if err != nil || u.Hostname() == "" {
			continue
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"https": "443", "socks5": "1080"}[u.Scheme]
			if port == "" {
				port = "80"
			}
		}
		out[net.JoinHostPort(u.Hostname(), port)] = true
	}
	return out
}

// Address ranges that are not the public internet, beyond what netip
// names (loopback, private, link-local, multicast, unspecified).
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network": 0.x reaches the local host on Linux
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT; Alibaba Cloud's metadata service is 100.100.100.200
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, and 255.255.255.255 broadcast
	netip.MustParsePrefix("fec0::/10"),     // deprecated site-local
}

// nat64 is the well-known NAT64 prefix (RFC 6052): its last 32 bits are an
// IPv4 address the gateway connects to.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// isPublic reports whether a is an address on the public internet.
func isPublic(a netip.Addr) bool { return addressKind(a) == "public" }

// addressKind names the kind of a, for isPublic and error messages.
func addressKind(a netip.Addr) string {
	a = a.Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		return addressKind(netip.AddrFrom4([4]byte(b[12:])))
	}
	switch {
	case !a.IsValid():
		return "invalid"
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast():
		return "multicast"
	case a.IsUnspecified():
		return "unspecified"
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return "reserved"
		}
	}
	return "public"
}
