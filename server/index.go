package server

import (
	"bytes"
	"html/template"
	"net/http"
	"time"
)

var indexTemplate = template.Must(template.New("index").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.Local().Format("2006-01-02 15:04:05 MST")
	},
}).Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<link rel="alternate" type="application/atom+xml" title="{{.Title}}" href="{{.Base}}feeds/all.atom">
{{- range .Categories}}
<link rel="alternate" type="application/atom+xml" title="{{.Title}}" href="{{$.Base}}feeds/{{.Slug}}.atom">
{{- end}}
{{- range .Sources}}
<link rel="alternate" type="application/atom+xml" title="{{.Name}}" href="{{$.Base}}sources/{{.Slug}}.atom">
{{- end}}
<style>
body{font-family:system-ui,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;line-height:1.5}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
.failing{background:#fde8e8}.error{color:#a00}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<h2>Categories</h2>
<ul>
<li><a href="{{.Base}}feeds/all.atom">All sources</a> (Atom)</li>
{{- range .Categories}}
<li><a href="{{$.Base}}feeds/{{.Slug}}.atom">{{.Title}}</a> <code>{{.Slug}}</code></li>
{{- end}}
</ul>
<h2>Sources</h2>
<table>
<tr><th>Source</th><th>Items</th><th>Last poll</th><th>Last success</th><th>Next poll</th><th>Status</th></tr>
{{- range .Sources}}
<tr{{if .Error}} class="failing"{{end}}>
<td><a href="{{$.Base}}sources/{{.Slug}}.atom">{{.Name}}</a><br><small>{{.URL}}</small></td>
<td>{{.Items}}</td>
<td>{{when .LastPoll}}</td>
<td>{{when .LastSuccess}}</td>
<td>{{if .NextPoll.IsZero}}—{{else}}{{when .NextPoll}}{{end}}</td>
<td>{{if .MovedTo}}<span class="error">moved permanently to {{.MovedTo}}: update the config</span><br>{{end}}{{if .Error}}<span class="error">{{.Error}}</span>{{if gt .Failures 1}} ({{.Failures}} failures in a row){{end}}{{else if .LastPoll.IsZero}}waiting{{else}}ok{{end}}</td>
</tr>
{{- end}}
</table>
</body>
</html>
`))

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

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	opts := s.opts.Load()
	states, err := s.store.Sources(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	data := struct {
		Title, Lang, Base string
		Categories        []Category
		Sources           []indexSource
	}{Title: opts.Title, Lang: opts.Language, Base: opts.BaseURL, Categories: opts.Categories}
	for _, src := range opts.Sources {
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
	var buf bytes.Buffer
	if err := indexTemplate.Execute(&buf, data); err != nil {
		s.internalError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}
