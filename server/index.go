package server

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/feedrelay/feedrelay/htmltext"
	"github.com/feedrelay/feedrelay/publish"
	"github.com/feedrelay/feedrelay/xmlchar"
)

// The HTML pages share one layout: plain html/template, no JavaScript,
// readable on a phone, with fonts that render Chinese well.
var pages = template.Must(template.New("layout").Funcs(template.FuncMap{
	"when": func(loc *time.Location, t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.In(loc).Format("2006-01-02 15:04:05 MST")
	},
	"short": func(loc *time.Location, t time.Time) string {
		return t.In(loc).Format("01-02 15:04")
	},
	"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"duration": duration,
	// excerpt is the first excerptRunes characters of an entry's text.
	"excerpt": func(content, summary string) string {
		if content == "" {
			content = summary
		}
		return cut(htmltext.Plain(content), excerptRunes)
	},
	// The media types are constants; as HTMLAttr their "+" is not
	// escaped to &#43;, which naive autodiscovery would not decode.
	"formats": func() []formatLink {
		var out []formatLink
		for _, f := range feedFormats {
			out = append(out, formatLink{f.ext, template.HTMLAttr(`type="` + f.mediaType + `"`)})
		}
		return out
	},
}).Parse(`{{define "head"}}<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{{.Title}}</title>
{{- range .Feeds}}{{$f := .}}{{range formats}}
<link rel="alternate" {{.Type}} title="{{$f.Title}}" href="{{$.Base}}{{$f.Path}}{{.Ext}}">
{{- end}}{{end}}
<style>
:root{color-scheme:light dark;--fg:#222;--bg:#fff;--muted:#666;--line:#ddd;--link:#0645ad;--failbg:#fdecec;--err:#b00020;--bar:#3b6fc4;--zero:#c8ced8;--ok:#2e9e44;--nm:#8fbf9a;--error:#d93025;--backoff:#e8a000}
@media (prefers-color-scheme:dark){:root{--fg:#e2e2e2;--bg:#15171a;--muted:#a0a0a0;--line:#33373d;--link:#8ab4f8;--failbg:#3b1f22;--err:#ff8a80;--bar:#7aa7ff;--zero:#3d434c;--ok:#3fbf5f;--nm:#4d7a58;--error:#ff5c4d;--backoff:#ffb300}}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"PingFang SC","Hiragino Sans GB","Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;max-width:60rem;margin:0 auto;padding:1rem;line-height:1.6;color:var(--fg);background:var(--bg);overflow-wrap:anywhere}
a{color:var(--link)}h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.2rem;margin-top:1.5rem;border-bottom:1px solid var(--line)}
nav{font-size:.9rem}small,.meta,figcaption{color:var(--muted);font-size:.85rem}
ul.entries{list-style:none;padding:0}ul.entries li{padding:.6rem 0;border-bottom:1px solid var(--line)}
ul.entries .title{font-size:1.05rem;text-decoration:none;font-weight:600}
.excerpt{margin:.2rem 0;font-size:.95rem}.also{font-size:.8rem;color:var(--muted)}.also a{margin-right:.3rem}
.feeds a{margin-right:.5rem}.url{word-break:break-all;color:var(--muted);font-size:.85rem}
ol.sources{list-style:none;padding:0}ol.sources>li{padding:.6rem .5rem;border-bottom:1px solid var(--line)}
li.failing{background:var(--failbg);border-left:4px solid var(--error)}.error{color:var(--err)}.warning{color:var(--warn,#8a5a00)}
.name{font-weight:600}.badge{font-size:.75rem;padding:0 .4rem;border-radius:.6rem;white-space:nowrap;border:1px solid currentColor}
.badge.failing{color:var(--err)}.badge.ok{color:var(--ok)}.badge.waiting{color:var(--muted)}
.charts{display:flex;flex-wrap:wrap;gap:.3rem 1rem;align-items:flex-end;margin:.3rem 0}
svg.chart{display:block;max-width:100%;height:auto}
svg .bar{fill:var(--bar)}svg .bar.zero{fill:var(--zero)}svg .track{fill:var(--zero);opacity:.35}
svg .ok,.dot.ok{fill:var(--ok);color:var(--ok)}svg .not_modified,.dot.not_modified{fill:var(--nm);color:var(--nm)}
svg .error,.dot.error{fill:var(--error);color:var(--error)}svg .backoff,.dot.backoff{fill:var(--backoff);color:var(--backoff)}
.dot{margin-right:.3em}
figure{margin:.5rem 0 1rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:.5rem 0}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;min-width:0}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th,td.when{white-space:nowrap}
@media (max-width:40rem){table,thead,tbody,tr,td{display:block}thead{display:none}td{border:0;padding:.1rem 0}tr{border-bottom:1px solid var(--line);padding:.4rem 0}td:empty{display:none}}
</style>
</head>
<body>
<nav><a href="{{.Base}}">{{.SiteTitle}}</a></nav>
{{end}}

{{/* An entry's title, linking to the original article; an entry whose
link was dropped (not http(s)) has none: href="" would link to this page. */}}
{{define "title"}}{{if .Link}}<a class="title" href="{{.Link}}">{{.Title}}</a>{{else}}<span class="title">{{.Title}}</span>{{end}}{{end}}

{{define "enclosures"}}{{with .Enclosures}}<span class="enclosures">附件{{range .}} <a href="{{.URL}}"{{with .Type}} type="{{.}}"{{end}}>{{or .Type "file"}}</a>{{end}}</span><br>{{end}}{{end}}

{{define "subscribe"}}<span class="feeds">{{$f := .}}{{range formats}}<a href="{{$f.Base}}{{$f.Path}}{{.Ext}}" {{.Type}}>{{slice .Ext 1}}</a>{{end}}</span>{{end}}

{{define "index"}}{{template "head" .}}
<h1>{{.Title}}</h1>
<section aria-labelledby="categories">
<h2 id="categories">分类 Categories</h2>
<ul class="categories">
{{- range .Categories}}
<li>{{if .Page}}<a href="{{.Page}}">{{.Title}}</a>{{else}}{{.Title}}{{end}} — {{template "subscribe" .}}</li>
{{- end}}
</ul>
<p><small>All feeds as an OPML subscription list: <a href="{{.OPML}}">{{.OPML}}</a></small></p>
</section>
<section aria-labelledby="sources">
<h2 id="sources">来源 Sources</h2>
<ol class="sources">
{{- range .Health}}
<li id="source-{{.Slug}}" class="source{{if .Failing}} failing{{end}}">
<div><a class="name" href="{{.Page}}">{{.Name}}</a> {{template "status" .}} <span class="meta">items: {{.Items}} · <a href="{{$.Base}}sources/{{.Slug}}.atom">feed</a></span></div>
<div class="url">{{.URL}}</div>
<div class="charts">{{template "activity" .Activity}}{{template "strip" .Strip}}</div>
<div class="meta">Last poll {{when $.Loc .LastPoll}} · last success {{when $.Loc .LastSuccess}}{{if not .NextPoll.IsZero}} · next {{when $.Loc .NextPoll}}{{end}}</div>
{{- if .MovedTo}}
<div class="error">Moved permanently to <span class="url">{{.MovedTo}}</span>: update the config</div>
{{- end}}
{{- if .Error}}
<div class="error">{{.Error}}{{if gt .Failures 1}} ({{.Failures}} failures in a row){{end}}</div>
{{- end}}
{{- if .Warning}}
<div class="warning">{{.Warning}}</div>
{{- end}}
</li>
{{- end}}
</ol>
</section>
</body>
</html>
{{end}}

{{define "category"}}{{template "head" .}}
<h1>{{.Title}}</h1>
<p>Subscribe: {{template "subscribe" index .Feeds 0}}</p>
<ul class="entries">
{{- range .Entries}}
<li>{{template "title" .}}
<p class="excerpt">{{excerpt .Content .Summary}}</p>
{{template "enclosures" .}}<span class="meta">{{.Source.Name}}{{if and .Author (ne .Author .Source.Name)}} · {{.Author}}{{end}} · <time datetime="{{iso .Updated}}">{{short $.Loc .Updated}}</time></span>
{{- if .Also}}<br><span class="also">另见 {{range .Also}}<a href="{{.Link}}">{{.Source}}</a>{{end}}</span>{{end}}</li>
{{- else}}
<li>No entries yet.</li>
{{- end}}
</ul>
<p>{{if .Archive}}<a href="{{.Page}}">← Newest</a> {{end}}{{if .Older}}<a href="{{.Older}}" rel="next">Older entries →</a>{{end}}</p>
</body>
</html>
{{end}}`))

type formatLink struct {
	Ext  string
	Type template.HTMLAttr
}

// feedLinks is a published feed as the HTML pages list it.
type feedLinks struct {
	Base, Path, Title string
	Page              string // its HTML page, if it has one
}

// pageData is what every HTML page shows.
type pageData struct {
	Title, SiteTitle, Lang, Base string
	OPML                         string // the OPML's address
	Loc                          *time.Location
	Feeds                        []feedLinks // autodiscovery and subscribe links
	Categories                   []feedLinks // the index's categories; a source page's
	Health                       []sourceHealth
	Source                       *sourceHealth // a source page's
	Polls                        []pollRow
	Entries                      []publish.Entry
	Page                         string // a category page's own address
	Older                        string // the address of the page of older entries
	Archive                      bool   // a page of older entries
}

func newPageData(opts *Options, title string) pageData {
	loc := opts.Location
	if loc == nil {
		loc = time.Local
	}
	return pageData{Title: title, SiteTitle: opts.Title, Lang: opts.Language, Base: opts.BaseURL, OPML: opmlURL(opts), Loc: loc}
}

// excerptRunes is how much of an entry's text a category page shows.
const excerptRunes = 200

// cut shortens s to n runes, marking the cut.
func cut(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return strings.TrimRight(s[:j], " ") + "…"
		}
		i++
	}
	return s
}

// duration is d as a person (and the config) writes it: 24h, 1m, 1h30m,
// 1m30s, not Go's 24h0m0s. Hours are the largest unit, as in the config
// (time.ParseDuration reads every form this writes); under a minute, a
// fraction of a second is kept (1.5s, 500ms).
func duration(d time.Duration) string {
	if d < 0 {
		return "-" + duration(-d)
	}
	if d < time.Minute {
		return d.String() // 0s, 500ms, 1.5s, 30s
	}
	var b strings.Builder
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m := d % time.Hour / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if rest := d % time.Minute; rest > 0 {
		b.WriteString(rest.String())
	}
	return b.String()
}

// handleCategoryPage is a category's newest entries for people, like a news
// site's section page: title, excerpt, source, author, time, the other
// sources' copies, older entries page by page.
func (s *Server) handleCategoryPage(w http.ResponseWriter, r *http.Request) {
	opts := s.opts.Load()
	pub := s.publisher(opts)
	feed := pub.Category(r.PathValue("slug"))
	if feed == nil {
		http.NotFound(w, r)
		return
	}
	cursor, _, err := requestPage(r)
	if err == nil && cursor.After != nil {
		err = fmt.Errorf("%w: a page for people goes back only (before=)", errBadQuery)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// A page for people goes back only: older entries, page by page.
	cursor = publish.Cursor{Before: cursor.Before}
	key := "/c/" + r.PathValue("slug") + "?" + cursor.String()
	s.serveHTML(w, r, opts, key, s.store.Version(r.Context()), cursor.Before != nil, func(ctx context.Context) (string, pageData, error) {
		data := newPageData(opts, feed.Title)
		p, err := pub.Page(ctx, feed, cursor)
		if err != nil {
			return "", data, err
		}
		data.Feeds = []feedLinks{{Base: opts.BaseURL, Path: feed.Path, Title: feed.Title}}
		data.Entries, data.Archive, data.Page = p.Entries, cursor.Before != nil, feed.HTMLURL
		if p.Next != nil {
			// Whole (html/template would escape the "=" of a query
			// written after a literal "?"), in the feed's link style.
			data.Older = feed.PageURL(p.Next.String())
		}
		return "category", data, nil
	})
}

// executePage renders the page template name with data.
func executePage(name string, data pageData) ([]byte, error) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, fmt.Errorf("render %s page: %w", name, err)
	}
	// The entries come clean from publish; names, errors and URLs shown
	// beside them may not (a YAML "\x01" is a name too).
	return []byte(xmlchar.Clean(buf.String())), nil
}
