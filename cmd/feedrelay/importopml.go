package main

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/feedrelay/feedrelay/config"
	"github.com/feedrelay/feedrelay/opml"
)

const importOPMLUsage = `usage: feedrelay import-opml FILE

Prints the categories: and sources: sections of a config file for the feeds
of FILE, an OPML subscription list exported by another feed reader
(Miniflux, FreshRSS, Feedly, Inoreader, NetNewsWire, newsboat -e ...).
Folders become categories; feeds in none go under "imported".
`

// Slugs made here are cut to this length: long titles in pinyin make
// unwieldy URLs.
const importSlugMax = 60

// importedCategory and importedSource are the config keys the import
// writes, in the order config.yaml lists them. Everything else keeps its
// default.
type importedCategory struct {
	Slug  string `yaml:"slug"`
	Title string `yaml:"title"`
}

type importedSource struct {
	Name       string   `yaml:"name"`
	Slug       string   `yaml:"slug"`
	URL        string   `yaml:"url"`
	SiteURL    string   `yaml:"site_url,omitempty"`
	Categories []string `yaml:"categories,flow"`
}

// runImportOPML prints, on stdout, YAML `categories:` and `sources:` sections
// for the feeds of an OPML file, so an operator can move from another reader.
// Feeds feedrelay cannot poll are left out with a warning on stderr.
func runImportOPML(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && isHelp(args[0]) {
		fmt.Fprint(stdout, importOPMLUsage)
		return exitOK
	}
	if len(args) == 2 && args[0] == "--" {
		args = args[1:] // a file whose name starts with '-'
	} else if len(args) == 1 && strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(stderr, "feedrelay import-opml: unknown flag %s\n\n%s", args[0], importOPMLUsage)
		return exitUsage
	}
	if len(args) != 1 {
		fmt.Fprint(stderr, importOPMLUsage)
		return exitUsage
	}
	path := args[0]

	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(stderr, "feedrelay import-opml: %v\n", err) // names the file
		return exitFailed
	}
	feeds, err := opml.Parse(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "feedrelay import-opml: %s: %v\n", path, err)
		return exitFailed
	}
	cats, srcs, skipped := importFeeds(feeds)
	for _, s := range skipped {
		fmt.Fprintf(stderr, "feedrelay import-opml: %s: skipped %s\n", path, s)
	}
	if len(srcs) == 0 {
		fmt.Fprintf(stderr, "feedrelay import-opml: %s: no feed to import (no outline has an http(s) xmlUrl)\n", path)
		return exitFailed
	}

	var out bytes.Buffer
	fmt.Fprintf(&out, "# Imported by feedrelay import-opml from %q: %d sources in %d categories.\n", path, len(srcs), len(cats))
	out.WriteString("# Merge these sections into config.yaml. Slugs, made from the titles, are the\n# URLs of the published feeds: change them before the first serve, if at all.\n")
	out.WriteString("categories:\n")
	for _, c := range cats {
		if err := writeYAMLItem(&out, c); err != nil {
			fmt.Fprintf(stderr, "feedrelay import-opml: %v\n", err)
			return exitFailed
		}
	}
	out.WriteString("\nsources:\n")
	for i, s := range srcs {
		if i > 0 {
			out.WriteByte('\n')
		}
		if err := writeYAMLItem(&out, s); err != nil {
			fmt.Fprintf(stderr, "feedrelay import-opml: %v\n", err)
			return exitFailed
		}
	}
	if _, err := stdout.Write(out.Bytes()); err != nil {
		fmt.Fprintf(stderr, "feedrelay import-opml: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// writeYAMLItem writes v as one item of a block sequence nested two spaces
// under its key, as config.yaml is laid out. The yaml encoder does the
// quoting (Chinese, ':', '#', leading '*' or '&', "yes", "null" …), so that
// the config loader reads back exactly the strings written.
func writeYAMLItem(w *bytes.Buffer, v any) error {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode([]any{v}); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if line != "" {
			w.WriteString("  " + line)
		}
	}
	return nil
}

// importFeeds turns feeds into config categories and sources with unique
// slugs, in the order of the OPML file. Feeds without a category go under
// "Imported"; feeds that cannot be polled (not http or https, or a URL
// already imported) are returned as reasons in skipped.
func importFeeds(feeds []opml.Feed) (cats []importedCategory, srcs []importedSource, skipped []string) {
	catSlug := map[string]string{} // title → slug
	// "all" is the feed of every category: the config refuses it.
	catTaken := map[string]bool{"all": true}
	srcTaken := map[string]bool{}
	srcByURL := map[string]int{} // URL → index in srcs
	for _, f := range feeds {
		u, err := importFeedURL(f.XMLURL)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%q (%s): %v", f.Title, f.XMLURL, err))
			continue
		}
		titles := f.Categories
		if len(titles) == 0 {
			titles = []string{"Imported"}
		}
		var slugs []string
		for _, t := range titles {
			s, ok := catSlug[t]
			if !ok {
				s = uniqueSlug(importSlugify(t), "category", catTaken)
				catSlug[t] = s
				cats = append(cats, importedCategory{Slug: s, Title: t})
			}
			slugs = appendNew(slugs, s)
		}
		// Parse merged identical xmlUrls; feed:// and http:// spellings
		// of one URL meet only here.
		if i, dup := srcByURL[u]; dup {
			for _, s := range slugs {
				srcs[i].Categories = appendNew(srcs[i].Categories, s)
			}
			continue
		}
		host := ""
		if pu, err := url.Parse(u); err == nil {
			host = strings.TrimPrefix(pu.Hostname(), "www.")
		}
		name := f.Title
		if name == "" {
			name = host // the config needs a name; the reader had none
		}
		slug := importSlugify(name)
		if slug == "" {
			slug = importSlugify(host) // e.g. a title in kana or emoji
		}
		srcByURL[u] = len(srcs)
		srcs = append(srcs, importedSource{
			Name:       name,
			Slug:       uniqueSlug(slug, "feed", srcTaken),
			URL:        u,
			SiteURL:    importSiteURL(f.HTMLURL),
			Categories: slugs,
		})
	}
	// Categories only skipped feeds were in are not written.
	used := map[string]bool{}
	for _, s := range srcs {
		for _, c := range s.Categories {
			used[c] = true
		}
	}
	kept := cats[:0]
	for _, c := range cats {
		if used[c.Slug] {
			kept = append(kept, c)
		}
	}
	return kept, srcs, skipped
}

// importFeedURL returns the URL feedrelay polls for an OPML xmlUrl: an
// http(s) URL as written (the config compares URLs as strings), or the
// http(s) URL of an old feed: link. Other schemes (newsboat's exec: and
// query:, file paths) cannot be polled from another machine's config.
func importFeedURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("not a URL")
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return "", fmt.Errorf("no host in the URL")
		}
		return raw, nil
	case "feed":
		if u.Opaque != "" { // feed:https://example.com/rss
			return importFeedURL(u.Opaque)
		}
		u.Scheme = "http" // feed://example.com/rss
		return importFeedURL(u.String())
	default:
		return "", fmt.Errorf("only http and https feeds can be polled")
	}
}

// importSiteURL returns htmlUrl when the config accepts it as site_url (an
// absolute http(s) URL), else "" (the key is then left out).
func importSiteURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return raw
}

// importSlugify is config.Slugify, the rule the config itself applies,
// after stripping accents: Slugify keeps ASCII and Han only, and
// "Catégorie" reads better as categorie than as cat-gorie.
func importSlugify(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	if plain, _, err := transform.String(t, s); err == nil {
		s = plain
	}
	return config.Slugify(s)
}

// uniqueSlug returns slug (else def when it is empty), cut to importSlugMax
// bytes, with -2, -3 … appended when taken, and marks the result taken.
func uniqueSlug(slug, def string, taken map[string]bool) string {
	if slug == "" {
		slug = def
	}
	if len(slug) > importSlugMax {
		// Slugify writes ASCII only: any byte is a cut point; a word
		// boundary reads better when there is one.
		slug = slug[:importSlugMax]
		if i := strings.LastIndexByte(slug, '-'); i > importSlugMax/2 {
			slug = slug[:i]
		}
		slug = strings.TrimRight(slug, "-")
	}
	s := slug
	for n := 2; taken[s]; n++ {
		s = fmt.Sprintf("%s-%d", slug, n)
	}
	taken[s] = true
	return s
}

// appendNew appends s to list unless it holds it already.
func appendNew(list []string, s string) []string {
	for _, t := range list {
		if t == s {
			return list
		}
	}
	return append(list, s)
}
