package export

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/feedrelay/feedrelay/htmltext"
	"github.com/feedrelay/feedrelay/publish"
)

// Jekyll writes the posts of the site feedrelay descends from: one file
// per entry a category feed shows (filtered and folded as the feed is),
// _posts/{date}-feedrelay-{id}.md, and one page per category,
// category/{slug}.html:
//
//	---
//	layout: post
//	title: 马上消费：坚持做一家科技驱动型金融机构
//	date: 2022-01-12 15:23:02 +0800
//	categories: zhengquanshibaowang
//	tags: 证券时报网新闻
//	author: 证券时报网
//	original_url: http://…/NewsShare.html?infoCode=NW202201122245264451
//	---
//	<div markdown="0">
//	<p>…the article's HTML…</p><p>（文章来源：证券时报网）…</p>
//	</div>
//
//	<http://…/NewsShare.html?infoCode=NW202201122245264451>
//
//	[返回证券时报网新闻](/category/zhengquanshibaowang.html)｜[返回首页](/)
//
// The front matter is written by a YAML encoder, so that any title (quotes,
// colons, "#", "---", line breaks) reads back as it was; an entry without a
// title is given one from its text, else its source and date. The {id} is
// the entry's row id, which never changes (and survives `feedrelay copy`),
// so names are stable; the date is the entry's published date in the
// configured zone. An entry shown in several categories is one post that
// lists them all.
type Jekyll struct {
	Publisher *publish.Publisher
	// Categories are the published categories, in the config's order.
	Categories []publish.Category
	BaseURL    string         // the back-links are its path + category/{slug}.html
	Location   *time.Location // of the posts' dates
}

// JekyllOptions narrow an export.
type JekyllOptions struct {
	// Category, if set, writes only the posts shown in that category (and
	// its page); each post still lists every category it is shown in.
	Category string
	// Since, if set, is the midnight (in Location) from which posts are
	// written: those dated that day or later. The walk through each feed
	// stops at the first entry updated before it.
	Since time.Time
	// Prune removes the posts (files of our naming in _posts, nothing
	// else) of entries no category feed shows any more; with Since, only
	// those dated since.
	Prune bool
}

// postName is how the files we write in _posts are named; other files
// there (the old site's posts, the operator's own) are never touched.
var postName = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})-feedrelay-(\d+)\.md$`)

// post is one entry to write, with the categories it is shown in.
type post struct {
	entry publish.Entry
	cats  []*publish.Category
}

// Export writes the posts and category pages into the Jekyll site at dir.
func (j *Jekyll) Export(ctx context.Context, dir string, o JekyllOptions) (*Result, error) {
	var only *publish.Category
	for i := range j.Categories {
		if j.Categories[i].Slug == o.Category {
			only = &j.Categories[i]
		}
	}
	if o.Category != "" && only == nil {
		return nil, fmt.Errorf("jekyll export: no category %q", o.Category)
	}
	posts, err := j.collect(ctx, o.Since)
	if err != nil {
		return nil, err
	}
	existing, err := existingPosts(filepath.Join(dir, "_posts"))
	if err != nil {
		return nil, err
	}
	res := &Result{}
	published := map[int64]bool{}
	for _, p := range posts {
		published[p.entry.ID] = true
	}
	for _, p := range posts {
		if only != nil && !slices.Contains(p.cats, only) {
			continue
		}
		date := j.date(p.entry)
		if !o.Since.IsZero() && date.Before(o.Since) {
			continue
		}
		name := date.Format("2006-01-02") + "-feedrelay-" + strconv.FormatInt(p.entry.ID, 10) + ".md"
		data, err := j.render(p, date)
		if err != nil {
			return res, err
		}
		wrote, err := writeFile(dir, "_posts/"+name, data)
		if err != nil {
			return res, err
		}
		res.record("_posts/"+name, wrote)
		// The entry's date moved (its source changed it): its post
		// under the old date goes, so that it is one post.
		for _, old := range existing[p.entry.ID] {
			if old != name {
				if err := remove(dir, "_posts/"+old, res); err != nil {
					return res, err
				}
			}
		}
	}
	for i := range j.Categories {
		c := &j.Categories[i]
		if only != nil && c != only {
			continue
		}
		data, err := frontMatter(categoryPage{Layout: "category", Title: c.Title, Category: c.Slug})
		if err != nil {
			return res, fmt.Errorf("page of category %s: %w", c.Slug, err)
		}
		name := "category/" + c.Slug + ".html"
		wrote, err := writeFile(dir, name, data)
		if err != nil {
			return res, err
		}
		res.record(name, wrote)
	}
	if o.Prune {
		if err := j.prune(dir, existing, published, o.Since, res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// collect walks every page of every category feed (back to since) and
// returns each entry shown once, with the categories showing it in the
// config's order (the order of the walk).
func (j *Jekyll) collect(ctx context.Context, since time.Time) ([]*post, error) {
	byID := map[int64]*post{}
	var order []*post
	for i := range j.Categories {
		c := &j.Categories[i]
		f := j.Publisher.Category(c.Slug)
		if f == nil {
			return nil, fmt.Errorf("jekyll export: category %s is not published", c.Slug)
		}
		for cur := (publish.Cursor{}); ; {
			pg, err := j.Publisher.Page(ctx, f, cur)
			if err != nil {
				return nil, fmt.Errorf("jekyll export of category %s: %w", c.Slug, err)
			}
			older := false
			for _, e := range pg.Entries {
				if !since.IsZero() && e.Updated.Before(since) {
					older = true
					continue
				}
				p := byID[e.ID]
				if p == nil {
					p = &post{entry: e}
					byID[e.ID] = p
					order = append(order, p)
				}
				if !slices.Contains(p.cats, c) {
					p.cats = append(p.cats, c)
				}
			}
			if pg.Next == nil || older {
				break
			}
			cur = *pg.Next
		}
	}
	return order, nil
}

// date is the post's date: the entry's published date (storage gives an
// undated item the time it was first seen), else its updated date.
func (j *Jekyll) date(e publish.Entry) time.Time {
	loc := j.Location
	if loc == nil {
		loc = time.UTC
	}
	for _, t := range []time.Time{e.Published, e.Updated, e.FirstSeen} {
		if !t.IsZero() {
			return t.In(loc)
		}
	}
	return time.Unix(0, 0).In(loc) // never stored so, but never empty either
}

// postFront is a post's front matter, in the order the old site wrote it.
type postFront struct {
	Layout      string `yaml:"layout"`
	Title       string `yaml:"title"`
	Date        string `yaml:"date"`
	Categories  any    `yaml:"categories"` // a slug, or a list of them
	Tags        any    `yaml:"tags"`       // a title, or a list of them
	Author      string `yaml:"author,omitempty"`
	OriginalURL string `yaml:"original_url,omitempty"`
	// FeedrelayID is the entry's Atom <id>, for whoever reads the posts.
	FeedrelayID string `yaml:"feedrelay_id"`
	// Enclosures are the entry's files (a podcast's audio), for a layout
	// that plays them; the body links them too.
	Enclosures []postEnclosure `yaml:"enclosures,omitempty"`
}

type postEnclosure struct {
	URL    string `yaml:"url"`
	Type   string `yaml:"type,omitempty"`
	Length int64  `yaml:"length,omitempty"`
}

// categoryPage is a category page's front matter.
type categoryPage struct {
	Layout   string `yaml:"layout"`
	Title    string `yaml:"title"`
	Category string `yaml:"category"`
}

// render is the whole post file.
func (j *Jekyll) render(p *post, date time.Time) ([]byte, error) {
	e := p.entry
	var slugs, titles []string
	for _, c := range p.cats {
		slugs = append(slugs, c.Slug)
		titles = append(titles, c.Title)
	}
	fm := postFront{
		Layout:      "post",
		Title:       postTitle(e, date),
		Date:        date.Format("2006-01-02 15:04:05 -0700"),
		Categories:  oneOrList(slugs),
		Tags:        oneOrList(titles),
		Author:      e.Author,
		OriginalURL: e.Link,
		FeedrelayID: e.EntryID,
	}
	for _, enc := range e.Enclosures {
		fm.Enclosures = append(fm.Enclosures, postEnclosure{URL: enc.URL, Type: enc.Type, Length: enc.Length})
	}
	head, err := frontMatter(fm)
	if err != nil {
		return nil, fmt.Errorf("front matter of entry %d: %w", e.ID, err)
	}
	var b strings.Builder
	b.Write(head)
	// markdown="0": kramdown leaves the HTML inside as it is (no
	// emphasis made of a "*" in the text); the braces are entities so that
	// Liquid finds no {{ }} or {% %} in an article.
	b.WriteString("<div markdown=\"0\">\n")
	b.WriteString(noLiquid(balanced(e.HTML)))
	b.WriteString("\n</div>\n")
	if e.Link != "" {
		b.WriteString("\n<" + autolink(e.Link) + ">\n")
	}
	for _, enc := range e.Enclosures {
		b.WriteString("\n附件：<" + autolink(enc.URL) + ">\n")
	}
	base := basePath(j.BaseURL)
	b.WriteString("\n")
	for _, c := range p.cats {
		fmt.Fprintf(&b, "[返回%s](%scategory/%s.html)｜", markdownText(c.Title), base, c.Slug)
	}
	fmt.Fprintf(&b, "[返回首页](%s)\n", base)
	return []byte(b.String()), nil
}

// frontMatter is v as a YAML document between --- lines.
func frontMatter(v any) ([]byte, error) {
	var b strings.Builder
	b.WriteString("---\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	b.WriteString("---\n")
	return []byte(b.String()), nil
}

// oneOrList is the one value as a plain scalar, as the old site wrote it,
// or a list: Jekyll splits a scalar at spaces, so a title with a space
// must be a list item.
func oneOrList(vs []string) any {
	if len(vs) == 1 && !strings.ContainsFunc(vs[0], unicode.IsSpace) {
		return vs[0]
	}
	return vs
}

// titleRunes is how much of an untitled entry's text becomes its title.
const titleRunes = 30

// postTitle is the entry's title, else the beginning of its text, else its
// source and date: never empty (the old site broke on `title: ""`).
func postTitle(e publish.Entry, date time.Time) string {
	if t := strings.TrimSpace(e.Title); t != "" {
		return t
	}
	body := e.Content
	if body == "" {
		body = e.Summary
	}
	if text := htmltext.Plain(body); text != "" {
		if utf8.RuneCountInString(text) > titleRunes {
			text = string([]rune(text)[:titleRunes]) + "…"
		}
		return text
	}
	name := e.Source.Name
	if name == "" {
		name = "feedrelay"
	}
	return name + " " + date.Format("2006-01-02 15:04")
}

// balanced is fragment as a browser reads it, with each element closed
// and stray end tags dropped (x/net/html's parser, then its renderer).
// Inside the post's <div markdown="0">, an unclosed <div> (a description
// cut off mid-markup) would swallow the wrapper's end and leave the
// footer to show as text, and a stray </div> would end it early and hand
// the rest of the article to Markdown.
func balanced(fragment string) string {
	nodes, err := html.ParseFragment(strings.NewReader(fragment), &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div})
	if err != nil {
		return fragment // a strings.Reader fails no read
	}
	var b strings.Builder
	for _, n := range nodes {
		if err := html.Render(&b, n); err != nil {
			return fragment
		}
	}
	return b.String()
}

// noLiquid writes every brace of s as an HTML character reference, which
// the browser reads as the brace and Liquid does not read at all.
func noLiquid(s string) string {
	return strings.NewReplacer("{", "&#123;", "}", "&#125;").Replace(s)
}

// autolink is link as it can sit in a Markdown <…> autolink with Liquid
// around: no angle brackets, braces or spaces.
func autolink(link string) string {
	return strings.NewReplacer("<", "%3C", ">", "%3E", "{", "%7B", "}", "%7D", " ", "%20").Replace(link)
}

// markdownText escapes what Markdown or Liquid would read in link text.
func markdownText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '[', ']', '*', '_', '`', '<', '>', '#', '!', '|':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '{':
			b.WriteString("&#123;")
		case '}':
			b.WriteString("&#125;")
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// basePath is the path of base_url: the site's root for the back-links.
func basePath(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Path == "" {
		return "/"
	}
	p := u.EscapedPath()
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// existingPosts are the files of our naming in postsDir, by entry id.
func existingPosts(postsDir string) (map[int64][]string, error) {
	des, err := os.ReadDir(postsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return map[int64][]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("jekyll export: %w", err)
	}
	out := map[int64][]string{}
	for _, de := range des {
		m := postName.FindStringSubmatch(de.Name())
		if m == nil || !de.Type().IsRegular() {
			continue
		}
		id, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			continue
		}
		out[id] = append(out[id], de.Name())
	}
	return out, nil
}

// prune removes the posts of entries not published, dated since if set:
// an entry updated before since was not looked at.
func (j *Jekyll) prune(dir string, existing map[int64][]string, published map[int64]bool, since time.Time, res *Result) error {
	from := ""
	if !since.IsZero() {
		loc := j.Location
		if loc == nil {
			loc = time.UTC
		}
		from = since.In(loc).Format("2006-01-02")
	}
	for id, names := range existing {
		if published[id] {
			continue
		}
		for _, name := range names {
			if postName.FindStringSubmatch(name)[1] < from {
				continue // before the export's scope
			}
			if err := remove(dir, "_posts/"+name, res); err != nil {
				return err
			}
		}
	}
	slices.Sort(res.Removed)
	return nil
}

func remove(dir, name string, res *Result) error {
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(name))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("jekyll export: %w", err)
	}
	res.Removed = append(res.Removed, name)
	return nil
}
