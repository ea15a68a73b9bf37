package server

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/feedrelay/feedrelay/publish"
	"github.com/feedrelay/feedrelay/storage"
)

// What the index and a source's page draw.
const (
	activityDays = 30  // bars of new items per day
	stripPolls   = 48  // cells of the poll strip
	pagePolls    = 100 // rows of a source page's poll table
	pageEntries  = 20  // a source page's newest entries
)

// chartSize is the geometry of a source's two charts, in px: small on the
// index, large on its page. The SVGs scale down (CSS max-width) on a phone.
type chartSize struct {
	Bar, Gap, Height int // activity bars
	Cell, StripH     int // poll strip cells
}

var (
	smallCharts = chartSize{Bar: 5, Gap: 1, Height: 28, Cell: 4, StripH: 14}
	largeCharts = chartSize{Bar: 18, Gap: 3, Height: 110, Cell: 11, StripH: 28}
)

// barChart is the new items of a source per day: one bar a day, oldest
// left, each with a <title> tooltip.
type barChart struct {
	W, H  int
	Label string
	Bars  []chartBar
}

type chartBar struct {
	X, Y, W, H int
	Zero       bool // no new item that day: a baseline stub
	Tip        string
}

// pollStrip is a source's latest polls, one coloured cell each, newest
// right.
type pollStrip struct {
	W, H  int
	Label string
	Cells []stripCell
}

type stripCell struct {
	X, W, H int
	Outcome storage.PollOutcome // its CSS class, hence its colour
	Tip     string
}

// sourceHealth is a source as the index and its page show it.
type sourceHealth struct {
	Slug, Name, URL string
	Page            string // its page's address
	Kind            string
	Interval        time.Duration
	Items           int
	LastPoll        time.Time
	LastSuccess     time.Time
	NextPoll        time.Time
	Error           string
	Failures        int
	MovedTo         string
	Failing         bool
	// Warning is a problem that does not fail the source: full texts not
	// fetched (those items are shown with their summary), dates of the
	// last poll's page that could not be read.
	Warning  string
	Activity barChart
	Strip    pollStrip
}

// pollRow is one poll in a source page's table.
type pollRow struct {
	storage.Poll
	Text string // the outcome in words
}

// outcomeText says what a poll's outcome was.
func outcomeText(p *storage.Poll) string {
	switch p.Outcome {
	case storage.PollOK:
		return fmt.Sprintf("ok (HTTP %d)", p.Status)
	case storage.PollNotModified:
		return "304 not modified"
	case storage.PollBackoff:
		return "backoff"
	default:
		return "error"
	}
}

// pollTip is a poll's tooltip: when, how it ended, what it brought.
func pollTip(loc *time.Location, p *storage.Poll) string {
	tip := p.Attempted.In(loc).Format("2006-01-02 15:04:05 MST") + " · " + outcomeText(p)
	switch {
	case p.Error != "":
		tip += ": " + p.Error
	case p.Outcome == storage.PollOK:
		tip += fmt.Sprintf(", %d new, %d updated", p.New, p.Updated)
	}
	return tip + fmt.Sprintf(" (%.1f s)", p.Duration.Seconds())
}

// activity draws hours as new items per day in loc, for the activityDays
// days ending on now's.
func activity(hours []storage.HourCount, loc *time.Location, now time.Time, size chartSize) barChart {
	now = now.In(loc)
	first := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, 1-activityDays)
	days := make(map[string]int, activityDays)
	for i := range activityDays {
		days[first.AddDate(0, 0, i).Format(time.DateOnly)] = i
	}
	var counts [activityDays]int
	for _, h := range hours {
		if i, ok := days[h.Hour.In(loc).Format(time.DateOnly)]; ok {
			counts[i] += h.New
		}
	}
	most := max(1, slices.Max(counts[:]))
	c := barChart{W: activityDays*(size.Bar+size.Gap) - size.Gap, H: size.Height}
	total := 0
	for i, n := range counts {
		total += n
		h := max(1, n*size.Height/most)
		c.Bars = append(c.Bars, chartBar{
			X: i * (size.Bar + size.Gap), Y: size.Height - h, W: size.Bar, H: h, Zero: n == 0,
			Tip: fmt.Sprintf("%s: %d new items", first.AddDate(0, 0, i).Format(time.DateOnly), n),
		})
	}
	c.Label = fmt.Sprintf("New items per day, last %d days: %d in all, at most %d a day", activityDays, total, slices.Max(counts[:]))
	return c
}

// strip draws the newest stripPolls of polls (newest first).
func strip(polls []storage.Poll, loc *time.Location, size chartSize) pollStrip {
	polls = polls[:min(len(polls), stripPolls)]
	s := pollStrip{W: stripPolls*(size.Cell+1) - 1, H: size.StripH}
	counts := map[storage.PollOutcome]int{}
	for i := range polls {
		p := &polls[i]
		counts[p.Outcome]++
		s.Cells = append(s.Cells, stripCell{
			X: (stripPolls - 1 - i) * (size.Cell + 1), W: size.Cell, H: size.StripH,
			Outcome: p.Outcome, Tip: pollTip(loc, p),
		})
	}
	s.Label = fmt.Sprintf("Last %d polls, newest right: %d ok, %d not modified, %d errors, %d backoff",
		len(polls), counts[storage.PollOK], counts[storage.PollNotModified], counts[storage.PollError], counts[storage.PollBackoff])
	return s
}

// health is src's state: stored (st, polls newest first, hours) and, for
// the poll after which the scheduler keeps it, in memory.
func (s *Server) health(opts *Options, src *publish.Source, st *storage.SourceState, polls []storage.Poll, hours []storage.HourCount, loc *time.Location, now time.Time, size chartSize) sourceHealth {
	how := opts.Polling[src.Slug]
	h := sourceHealth{Slug: src.Slug, Name: src.Name, URL: src.URL, Page: sourcePageURL(opts, src.Slug), Kind: how.Kind, Interval: how.Interval}
	if h.Kind == "" {
		h.Kind = "feed"
	}
	if st != nil {
		h.Items, h.LastPoll, h.LastSuccess = st.Items, st.LastAttempt, st.LastSuccess
		h.Error, h.Failures = st.LastError, st.Failures
		if st.ArticleErrors > 0 {
			h.Warning = fmt.Sprintf("full text: %d article(s) not fetched in the last %s, shown with their summary; latest error: %s",
				st.ArticleErrors, duration(storage.ArticleWarningWindow), st.ArticleError)
		}
	}
	for i := range polls { // a healthy 304 updates only the history
		if polls[i].Attempted.After(h.LastPoll) {
			h.LastPoll = polls[i].Attempted
		}
		if o := polls[i].Outcome; (o == storage.PollOK || o == storage.PollNotModified) && polls[i].Attempted.After(h.LastSuccess) {
			h.LastSuccess = polls[i].Attempted
		}
	}
	if s.history != nil {
		if last, ok := s.history.Last(src.Slug); ok {
			h.NextPoll, h.MovedTo = last.NextPoll, last.MovedTo
			if w := last.Warning(); w != "" {
				if h.Warning != "" {
					h.Warning += "; "
				}
				h.Warning += w
			}
			// Newer than what is stored: its Save failed.
			if last.Err != nil && last.Attempted.After(h.LastPoll) {
				h.LastPoll, h.Error, h.Failures = last.Attempted, last.Err.Error(), max(h.Failures, 1)
			}
		}
	}
	// This instance's next poll of a source another instance polled since
	// (several on one PostgreSQL) is stale: not shown rather than shown
	// before the last poll.
	if h.NextPoll.Before(h.LastPoll) {
		h.NextPoll = time.Time{}
	}
	h.Failing = h.Error != ""
	h.Activity = activity(hours, loc, now, size)
	h.Strip = strip(polls, loc, size)
	return h
}

// pagesVersion is the version the index and source pages are cached at:
// the store's data version (they show every poll), the day (the charts end today) and each source's last poll
// as the scheduler reported it (its next poll lives only in memory).
func (s *Server) pagesVersion(ctx context.Context, opts *Options, loc *time.Location, now time.Time) uint64 {
	h := fnv.New64a()
	var b [8]byte
	put := func(n uint64) { binary.LittleEndian.PutUint64(b[:], n); h.Write(b[:]) }
	put(s.store.DataVersion(ctx))
	y, m, d := now.In(loc).Date()
	put(uint64(y*10000 + int(m)*100 + d))
	if s.history != nil {
		for i := range opts.Sources {
			if last, ok := s.history.Last(opts.Sources[i].Slug); ok {
				h.Write([]byte(opts.Sources[i].Slug))
				put(uint64(last.Attempted.UnixNano()))
				put(uint64(last.NextPoll.UnixNano()))
				h.Write([]byte(last.MovedTo))
			}
		}
	}
	return h.Sum64()
}

// serveHTML answers with the page render makes, through the render cache
// like the feeds: rendered once per version, ETag, 304, gzip.
func (s *Server) serveHTML(w http.ResponseWriter, r *http.Request, opts *Options, key string, version uint64, archive bool, render func(ctx context.Context) (name string, data pageData, err error)) {
	ctx := r.Context()
	rd, err := s.cache.get(ctx, key, version, opts, archive, clientOf(r), func() (*rendered, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), renderTimeout)
		defer cancel()
		name, data, err := render(ctx)
		if err != nil {
			return nil, err
		}
		body, err := executePage(name, data)
		if err != nil {
			return nil, err
		}
		return &rendered{plain: representation{body: body}, modified: s.now(), contentType: "text/html; charset=utf-8"}, nil
	})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	serveRendered(w, r, rd)
}

// handleIndex lists the categories, then the sources with their health,
// failing ones first.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	opts := s.opts.Load()
	now := s.now()
	data := newPageData(opts, opts.Title)
	s.serveHTML(w, r, opts, "/", s.pagesVersion(r.Context(), opts, data.Loc, now), false, func(ctx context.Context) (string, pageData, error) {
		states, err := s.store.Sources(ctx)
		if err != nil {
			return "", data, err
		}
		polls, err := s.store.RecentPolls(ctx, stripPolls)
		if err != nil {
			return "", data, err
		}
		hours, err := s.store.NewItems(ctx, now.AddDate(0, 0, -activityDays-1))
		if err != nil {
			return "", data, err
		}
		all := feedLinks{Base: opts.BaseURL, Path: "feeds/all", Title: "全部 All"}
		data.Feeds = append(data.Feeds, all)
		data.Categories = append(data.Categories, all)
		for _, c := range opts.Categories {
			f := feedLinks{Base: opts.BaseURL, Path: "feeds/" + c.Slug, Title: c.Title, Page: s.categoryPageURL(opts, c.Slug)}
			data.Feeds = append(data.Feeds, f)
			data.Categories = append(data.Categories, f)
		}
		for i := range opts.Sources {
			src := &opts.Sources[i]
			data.Feeds = append(data.Feeds, feedLinks{Base: opts.BaseURL, Path: "sources/" + src.Slug, Title: src.Name})
			data.Health = append(data.Health, s.health(opts, src, stateOf(states, src.Slug), polls[src.Slug], hours[src.Slug], data.Loc, now, smallCharts))
		}
		// Failing first, the longest failing at the top; otherwise in
		// the config's order.
		slices.SortStableFunc(data.Health, func(a, b sourceHealth) int {
			if a.Failing != b.Failing {
				if a.Failing {
					return -1
				}
				return 1
			}
			return b.Failures - a.Failures
		})
		return "index", data, nil
	})
}

// handleSourcePage is one source: its settings, its charts, its last polls
// and its newest entries.
func (s *Server) handleSourcePage(w http.ResponseWriter, r *http.Request) {
	opts := s.opts.Load()
	src := sourceOf(opts, r.PathValue("slug"))
	if src == nil {
		s.renamedSource(w, r, opts, r.PathValue("slug"), func(current string) string { return "s/" + url.PathEscape(current) })
		return
	}
	now := s.now()
	data := newPageData(opts, src.Name)
	s.serveHTML(w, r, opts, "/s/"+src.Slug, s.pagesVersion(r.Context(), opts, data.Loc, now), false, func(ctx context.Context) (string, pageData, error) {
		states, err := s.store.Sources(ctx)
		if err != nil {
			return "", data, err
		}
		polls, err := s.store.Polls(ctx, src.Slug, pagePolls)
		if err != nil {
			return "", data, err
		}
		hours, err := s.store.NewItems(ctx, now.AddDate(0, 0, -activityDays-1))
		if err != nil {
			return "", data, err
		}
		h := s.health(opts, src, stateOf(states, src.Slug), polls, hours[src.Slug], data.Loc, now, largeCharts)
		data.Source = &h
		for i := range polls {
			data.Polls = append(data.Polls, pollRow{Poll: polls[i], Text: outcomeText(&polls[i])})
		}
		data.Feeds = []feedLinks{{Base: opts.BaseURL, Path: "sources/" + src.Slug, Title: src.Name}}
		for _, c := range opts.Categories {
			if slices.Contains(c.Sources, src.Slug) {
				data.Categories = append(data.Categories, feedLinks{Base: opts.BaseURL, Path: "feeds/" + c.Slug, Title: c.Title, Page: s.categoryPageURL(opts, c.Slug)})
			}
		}
		pub := s.publisher(opts)
		p, err := pub.Page(ctx, pub.Source(src.Slug), publish.Cursor{})
		if err != nil {
			return "", data, err
		}
		data.Entries = p.Entries[:min(len(p.Entries), pageEntries)]
		return "source", data, nil
	})
}

// sourceOf is the configured source slug, or nil.
func sourceOf(opts *Options, slug string) *publish.Source {
	for i := range opts.Sources {
		if opts.Sources[i].Slug == slug {
			return &opts.Sources[i]
		}
	}
	return nil
}

func stateOf(states []storage.SourceState, slug string) *storage.SourceState {
	for i := range states {
		if states[i].Slug == slug {
			return &states[i]
		}
	}
	return nil
}

// The charts, drawn through html/template like the rest of the page: every
// text (tooltips, labels) is escaped, numbers are ints.
var _ = template.Must(pages.New("charts").Parse(`
{{define "activity"}}<svg class="chart activity" role="img" aria-label="{{.Label}}" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}"><title>{{.Label}}</title>
{{- range .Bars}}<rect class="bar{{if .Zero}} zero{{end}}" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}"><title>{{.Tip}}</title></rect>{{end -}}
</svg>{{end}}

{{define "strip"}}<svg class="chart strip" role="img" aria-label="{{.Label}}" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}"><title>{{.Label}}</title><rect class="track" x="0" y="0" width="{{.W}}" height="{{.H}}"/>
{{- range .Cells}}<rect class="poll {{.Outcome}}" x="{{.X}}" y="0" width="{{.W}}" height="{{.H}}"><title>{{.Tip}}</title></rect>{{end -}}
</svg>{{end}}

{{define "status"}}{{if .Failing}}<strong class="badge failing">失败 failing{{if gt .Failures 1}} ×{{.Failures}}{{end}}</strong>{{else if .LastPoll.IsZero}}<span class="badge waiting">等待 waiting</span>{{else}}<span class="badge ok">正常 ok</span>{{end}}{{end}}

{{define "source"}}{{template "head" .}}
{{with .Source}}
<h1>{{.Name}} {{template "status" .}}</h1>
<dl class="facts">
<dt>URL</dt><dd class="url">{{.URL}}</dd>
<dt>Kind</dt><dd>{{.Kind}}</dd>
<dt>Interval</dt><dd>{{if .Interval}}{{duration .Interval}}{{else}}—{{end}}</dd>
<dt>Items</dt><dd>{{.Items}}</dd>
<dt>Last poll</dt><dd>{{when $.Loc .LastPoll}}</dd>
<dt>Last success</dt><dd>{{when $.Loc .LastSuccess}}</dd>
<dt>Next poll</dt><dd>{{if .NextPoll.IsZero}}—{{else}}{{when $.Loc .NextPoll}}{{end}}</dd>
</dl>
{{if .MovedTo}}<p class="error">Moved permanently to <span class="url">{{.MovedTo}}</span>: update the config.</p>{{end}}
{{if .Error}}<p class="error">{{.Error}}{{if gt .Failures 1}} ({{.Failures}} failures in a row){{end}}</p>{{end}}
{{if .Warning}}<p class="warning">{{.Warning}}</p>{{end}}
<p>Subscribe: {{template "subscribe" index $.Feeds 0}}</p>
{{- if $.Categories}}
<p>In {{range $i, $c := $.Categories}}{{if $i}}; {{end}}<a href="{{$c.Page}}">{{$c.Title}}</a>: {{template "subscribe" $c}}{{end}}</p>
{{- end}}
<h2>活动 Activity</h2>
<figure>{{template "activity" .Activity}}<figcaption>{{.Activity.Label}}</figcaption></figure>
<figure>{{template "strip" .Strip}}<figcaption>{{.Strip.Label}}</figcaption></figure>
{{end}}
<h2>最近抓取 Last polls</h2>
<table class="polls">
<thead><tr><th>Time</th><th>Outcome</th><th>Status</th><th>Duration</th><th>New / updated</th><th>Error</th></tr></thead>
<tbody>
{{- range .Polls}}
<tr><td class="when">{{when $.Loc .Attempted}}</td><td><span class="dot {{.Outcome}}" aria-hidden="true">●</span>{{.Text}}</td><td>{{if .Status}}{{.Status}}{{else}}—{{end}}</td><td>{{printf "%.1f s" .Duration.Seconds}}</td><td>{{.New}} / {{.Updated}}</td><td class="error">{{.Error}}</td></tr>
{{- else}}
<tr><td colspan="6">Not polled yet.</td></tr>
{{- end}}
</tbody>
</table>
<h2>最新条目 Newest entries</h2>
<ul class="entries">
{{- range .Entries}}
<li>{{template "title" .}}<br>{{template "enclosures" .}}<span class="meta"><time datetime="{{iso .Updated}}">{{short $.Loc .Updated}}</time>{{if and .Author (ne .Author .Source.Name)}} · {{.Author}}{{end}}</span></li>
{{- else}}
<li>No entries yet.</li>
{{- end}}
</ul>
</body>
</html>
{{end}}`))
