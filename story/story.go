// Package story decides when two items are the same story told twice, as
// Chinese financial news is syndicated everywhere: the same article under
// links that differ only in tracking parameters, or under the same title.
// It also finds the original publisher that relays name at an article's end.
package story

import (
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/feedrelay/feedrelay/htmltext"
)

// DefaultTrackingParams are query parameters that say who shared a link,
// not what it points to. A trailing * matches any suffix.
var DefaultTrackingParams = []string{
	"utm_*", "spm", "from", "share*", "fbclid", "gclid", "yclid", "igshid",
	"mc_cid", "mc_eid", "_hsenc", "_hsmi", "isappinstalled", "scene",
	"clicktime", "enterid", "wfr", "ref", "ref_src",
}

// URLKey is link in the form two copies of one story share: no scheme
// (http and https copies are one story), host lower-cased, no "www.", no
// default port, no fragment, no trailing slash, tracking parameters (see
// DefaultTrackingParams) dropped and the others sorted. It is empty for a
// link that is not an absolute http(s) URL.
func URLKey(link string, tracking []string) string {
	u, err := url.Parse(strings.TrimSpace(link))
	if err != nil || !u.IsAbs() || u.Host == "" {
		return ""
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return ""
	}
	host := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	if p := u.Port(); p != "" && !(u.Scheme == "http" && p == "80") && !(u.Scheme == "https" && p == "443") {
		host += ":" + p
	}
	u.Host, u.User = host, nil
	u.Fragment, u.RawFragment = "", ""
	u.Path = strings.TrimSuffix(path.Clean("/"+u.Path), "/")
	u.RawPath = ""
	// Pairs are kept as written (url.Query would drop those it cannot
	// parse, such as id=1;p=2, and fold different articles together).
	var pairs []string
	for _, pair := range strings.Split(u.RawQuery, "&") {
		name, _, _ := strings.Cut(pair, "=")
		if name, err := url.QueryUnescape(name); pair == "" || (err == nil && isTracking(name, tracking)) {
			continue
		}
		pairs = append(pairs, pair)
	}
	sort.Strings(pairs)
	u.RawQuery, u.ForceQuery = strings.Join(pairs, "&"), false
	u.Scheme = ""
	return u.String()
}

func isTracking(param string, tracking []string) bool {
	p := strings.ToLower(param)
	for _, t := range tracking {
		if prefix, ok := strings.CutSuffix(t, "*"); ok {
			if strings.HasPrefix(p, prefix) {
				return true
			}
		} else if p == t {
			return true
		}
	}
	return false
}

// MinTitleKey is the shortest title fingerprint, in characters, that may
// fold two items: shorter titles ("快讯", "早盘") say too little.
const MinTitleKey = 8

// TitleKey is a fingerprint of a title: full-width forms folded to
// half-width (NFKC), letters lower-cased, punctuation, symbols and spaces
// dropped. Traditional and simplified characters are left as they are. It
// is empty for titles too short to tell stories apart.
func TitleKey(title string) string {
	title = norm.NFKC.String(title) // title itself when already NFKC
	var b strings.Builder
	b.Grow(len(title)) // the key is never longer: one growth, not five
	n := 0
	for i := 0; i < len(title); {
		c := title[i]
		if c < utf8.RuneSelf { // ASCII: only letters and digits are kept
			switch {
			case 'A' <= c && c <= 'Z':
				b.WriteByte(c + 'a' - 'A')
				n++
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
				b.WriteByte(c)
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(title[i:])
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			b.WriteRune(unicode.ToLower(r))
			n++
		}
		i += size
	}
	if n < MinTitleKey {
		return ""
	}
	return b.String()
}

var (
	// "（文章来源：上海证券报）", "来源：新华社", "稿件来源: 中证网", at or
	// near an article's end.
	originRe = regexp.MustCompile(`(?:文章|稿件|新闻|内容)?来源\s*[：:]\s*([^（）()\[\]【】<>\s，,。；;|]{2,30})`)
)

// Origin is the original publisher an article names at its end, or "".
func Origin(contentHTML string) string {
	if !strings.Contains(contentHTML, "来源") {
		return "" // originRe needs it: skip the tag stripping and the regexp
	}
	// Only the end of an article names its source; the start may quote
	// others.
	if len(contentHTML) > 2000 {
		cut := len(contentHTML) - 2000
		for cut < len(contentHTML) && !utf8.RuneStart(contentHTML[cut]) {
			cut++
		}
		contentHTML = contentHTML[cut:]
	}
	text := lastRunes(htmltext.Plain(contentHTML), 300)
	// Every match holds "来源", after at most a two-character prefix
	// (文章, 稿件…: 6 bytes): the regexp, which looks neither behind nor
	// for ^ or \b, finds the same matches from there on.
	k := strings.Index(text, "来源")
	if k < 0 {
		return ""
	}
	k = max(0, k-6)
	for !utf8.RuneStart(text[k]) {
		k++
	}
	m := originRe.FindAllStringSubmatch(text[k:], -1)
	if len(m) == 0 {
		return ""
	}
	return strings.TrimSpace(m[len(m)-1][1])
}

// lastRunes is the last n characters of s: only the last few hundred
// characters of an article name its source (the start may quote others).
// Invalid UTF-8 is read as []rune reads it (each bad byte is U+FFFD).
func lastRunes(s string, n int) string {
	if !utf8.ValidString(s) {
		if r := []rune(s); len(r) > n {
			return string(r[len(r)-n:])
		}
		return s
	}
	i := len(s)
	for ; n > 0 && i > 0; n-- {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return s[i:]
}
