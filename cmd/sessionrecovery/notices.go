package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// noticeLogger is the logger the stores get: their notices (a write
// waiting for a lock, an owner that could not be kept) go to stderr as one
// line each, "sessionrecovery CMD: MESSAGE" ("warning: MESSAGE" at Warn
// level and above), like the command's other messages there. The stores' messages say it all;
// their attributes repeat it for structured logs, and are left out here.
// With quiet, only warnings and above are shown.
func noticeLogger(w io.Writer, cmd string, quiet bool) *slog.Logger {
	level := slog.LevelInfo
	if quiet {
		level = slog.LevelWarn
	}
	return slog.New(&noticeHandler{w: w, prefix: "sessionrecovery " + cmd + ": ", level: level, mu: new(sync.Mutex)})
}

type noticeHandler struct {
	w      io.Writer
	prefix string
	level  slog.Level
	mu     *sync.Mutex // one line at a time, whichever goroutine logs
}

func (h *noticeHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *noticeHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(h.prefix)
	if r.Level >= slog.LevelWarn {
		b.WriteString("warning: ")
	}
	b.WriteString(r.Message)
	b.WriteString("\n")
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *noticeHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *noticeHandler) WithGroup(string) slog.Handler      { return h }
