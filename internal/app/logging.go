package app

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
)

// Logging is feedrelay's slog handler: text or JSON lines to one writer, at
// a level. A config reload changes both (Set) for every logger already
// handed out. It is safe for concurrent use.
type Logging struct {
	w     io.Writer
	level slog.LevelVar
	root  atomic.Pointer[rootHandler]
}

// rootHandler is the handler of one format; a new one replaces it when
// the format changes.
type rootHandler struct {
	format string
	h      slog.Handler
}

// NewLogging logs to w in format ("json", else text) at level ("debug",
// "info", "warn" or "error", as config validates it).
func NewLogging(w io.Writer, format, level string) *Logging {
	l := &Logging{w: w}
	l.Set(format, level)
	return l
}

// Set changes the format and level of every logger of l.
func (l *Logging) Set(format, level string) {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level)) // validated by config; a bad one is info
	l.level.Set(lv)
	if format != "json" {
		format = "text"
	}
	if cur := l.root.Load(); cur != nil && cur.format == format {
		return
	}
	opts := &slog.HandlerOptions{Level: &l.level}
	h := slog.Handler(slog.NewTextHandler(l.w, opts))
	if format == "json" {
		h = slog.NewJSONHandler(l.w, opts)
	}
	l.root.Store(&rootHandler{format: format, h: h})
}

// Logger returns a logger writing through l.
func (l *Logging) Logger() *slog.Logger { return slog.New(&switchHandler{l: l}) }

// switchHandler hands records to l's current root handler, with the
// attributes and groups its logger was derived with (rebuilt once per format
// change, not per record).
type switchHandler struct {
	l     *Logging
	with  []func(slog.Handler) slog.Handler // WithAttrs/WithGroup, in order
	built atomic.Pointer[builtHandler]
}

type builtHandler struct {
	root *rootHandler
	h    slog.Handler
}

func (s *switchHandler) current() slog.Handler {
	root := s.l.root.Load()
	if b := s.built.Load(); b != nil && b.root == root {
		return b.h
	}
	h := root.h
	for _, f := range s.with {
		h = f(h)
	}
	s.built.Store(&builtHandler{root: root, h: h})
	return h
}

func (s *switchHandler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= s.l.level.Level()
}

func (s *switchHandler) Handle(ctx context.Context, r slog.Record) error {
	return s.current().Handle(ctx, r)
}

func (s *switchHandler) derive(f func(slog.Handler) slog.Handler) *switchHandler {
	with := append(append([]func(slog.Handler) slog.Handler(nil), s.with...), f)
	return &switchHandler{l: s.l, with: with}
}

func (s *switchHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return s.derive(func(h slog.Handler) slog.Handler { return h.WithAttrs(attrs) })
}

func (s *switchHandler) WithGroup(name string) slog.Handler {
	return s.derive(func(h slog.Handler) slog.Handler { return h.WithGroup(name) })
}
