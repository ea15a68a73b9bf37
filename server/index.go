package server

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"time"

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
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
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
<title>{{.Title}}</title>
{{- range .Feeds}}{{$f := .}}{{range formats}}
<link rel="alternate" {{.Type}} title="{{$f.Title}}" href="{{$.Base}}{{$f.Path}}{{.Ext}}">
{{- end}}{{end}}
<style>
body{font-family:system-ui,-apple-system,"PingFang SC","Hiragino Sans GB","Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;max-width:60rem;margin:0 auto;padding:1rem;line-height:1.6;color:#222}
a{color:#0645ad}h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.2rem;margin-top:1.5rem}
nav{font-size:.9rem}small,.meta{color:#666;font-size:.85rem}
ul.entries{list-style:none;padding:0}ul.entries li{padding:.5rem 0;border-bottom:1px solid #eee}
ul.entries a.title{font-size:1.05rem;text-decoration:none}
.feeds a{margin-right:.5rem}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
.failing{background:#fde8e8}.error{color:#a00}
@media (max-width:40rem){table,tbody,tr,td{display:block}tr:first-child{display:none}td{border:0;padding:.1rem 0}tr{border-bottom:1px solid #ddd;padding:.4rem 0}}
</style>
</head>
<body>
<nav><a href="{{.Base}}">{{.SiteTitle}}</a></nav>
{{end}}

{{define "subscribe"}}<span class="feeds">{{$f := .}}{{range formats}}<a href="{{$f.Base}}{{$f.Path}}{{.Ext}}" {{.Type}}>{{slice .Ext 1}}</a>{{end}}</span>{{end}}

{{define "index"}}{{template "head" .}}
<h1>{{.Title}}</h1>
<h2>分类 Categories</h2>
<ul>
{{- range .Feeds}}
<li>{{if .Page}}<a href="{{.Page}}">{{.Title}}</a>{{else}}{{.Title}}{{end}} — {{template "subscribe" .}}</li>
{{- end}}
</ul>
<p><small>All feeds as an OPML subscription list: <a href="{{.Base}}opml">{{.Base}}opml</a></small></p>
<h2>来源 Sources</h2>
<table>
<tr><th>Source</th><th>Items</th><th>Last poll</th><th>Last success</th><th>Next poll</th><th>Status</th></tr>
{{- range .Sources}}
<tr{{if .Error}} class="failing"{{end}}>
<td><a href="{{$.Base}}sources/{{.Slug}}.atom">{{.Name}}</a><br><small>{{.URL}}</small></td>
<td>{{.Items}}</td>
<td>{{when $.Loc .LastPoll}}</td>
<td>{{when $.Loc .LastSuccess}}</td>
<td>{{if .NextPoll.IsZero}}—{{else}}{{when $.Loc .NextPoll}}{{end}}</td>
<td>{{if .MovedTo}}<span class="error">moved permanently to {{.MovedTo}}: update the config</span><br>{{end}}{{if .Error}}<span class="error">{{.Error}}</span>{{if gt .Failures 1}} ({{.Failures}} failures in a row){{end}}{{else if .LastPoll.IsZero}}waiting{{else}}ok{{end}}</td>
</tr>
{{- end}}
</table>
</body>
</html>
{{end}}

{{define "category"}}{{template "head" .}}
<h1>{{.Title}}</h1>
<p>Subscribe: {{template "subscribe" index .Feeds 0}}</p>
<ul class="entries">
{{- range .Entries}}
<li><a class="title" href="{{.Link}}">{{.Title}}</a><br>
<span class="meta">{{.Source.Name}}{{if and .Author (ne .Author .Source.Name)}} · {{.Author}}{{end}} · <time datetime="{{iso .Updated}}">{{short $.Loc .Updated}}</time></span></li>
{{- else}}
<li>No entries yet.</li>
{{- end}}
</ul>
{{if .Older}}<p><a href="?{{.Older}}" rel="next">Older entries →</a></p>{{end}}
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

type indexSource struct {
	Slug, Name, URL string
	Items           int
	LastPoll        time.Time
	LastSuccess     time.Time
	NextPoll        time.Time
	Error           string
	Failures        int
	MovedTo         string
}

// pageData is what every HTML page shows.
type pageData struct {
	Title, SiteTitle, Lang, Base string
	Loc                          *time.Location
	Feeds                        []feedLinks // autodiscovery and subscribe links
	Sources                      []indexSource
	Entries                      []publish.Entry
	Older                        string // query of the page of older entries
}

func newPageData(opts *Options, title string) pageData {
	loc := opts.Location
	if loc == nil {
		loc = time.Local
	}
	return pageData{Title: title, SiteTitle: opts.Title, Lang: opts.Language, Base: opts.BaseURL, Loc: loc}
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	opts := s.opts.Load()
	states, err := s.store.Sources(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	data := newPageData(opts, opts.Title)
	data.Feeds = append(data.Feeds, feedLinks{Base: opts.BaseURL, Path: "feeds/all", Title: "全部 All"})
	for _, c := range opts.Categories {
		data.Feeds = append(data.Feeds, feedLinks{Base: opts.BaseURL, Path: "feeds/" + c.Slug, Title: c.Title, Page: opts.BaseURL + "c/" + c.Slug})
	}
	for _, src := range opts.Sources {
		data.Feeds = append(data.Feeds, feedLinks{Base: opts.BaseURL, Path: "sources/" + src.Slug, Title: src.Name})
		is := indexSource{Slug: src.Slug, Name: src.Name, URL: src.URL}
		for _, st := range states {
			if st.Slug == src.Slug {
				is.Items, is.LastPoll, is.LastSuccess = st.Items, st.LastAttempt, st.LastSuccess
				is.Error, is.Failures = st.LastError, st.Failures
			}
		}
		if s.history != nil {
			if last, ok := s.history.Last(src.Slug); ok {
				is.LastPoll, is.NextPoll, is.MovedTo = last.Attempted, last.NextPoll, last.MovedTo
				if last.Err == nil {
					is.LastSuccess, is.Error, is.Failures = last.Attempted, "", 0
				} else {
					is.Error = last.Err.Error()
					is.Failures = max(is.Failures, 1)
				}
			}
		}
		data.Sources = append(data.Sources, is)
	}
	s.renderHTML(w, r, "index", data)
}

// handleCategoryPage is a category's newest entries for people, like a news
// site's section page.
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
	p, err := pub.Page(r.Context(), feed, publish.Cursor{Before: cursor.Before})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	data := newPageData(opts, feed.Title)
	data.Feeds = []feedLinks{{Base: opts.BaseURL, Path: feed.Path, Title: feed.Title}}
	data.Entries = p.Entries
	if p.Next != nil {
		data.Older = p.Next.String()
	}
	s.renderHTML(w, r, "category", data)
}

func (s *Server) renderHTML(w http.ResponseWriter, r *http.Request, name string, data pageData) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.internalError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// The entries come clean from publish; names, errors and URLs shown
	// beside them may not (a YAML "\x01" is a name too).
	w.Write([]byte(xmlchar.Clean(buf.String())))
}
