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
func noticeLogger(w io.Writer, cmd string) *slog.Logger {
	return slog.New(&noticeHandler{w: w, prefix: "sessionrecovery " + cmd + ": ", mu: new(sync.Mutex)})
}

type noticeHandler struct {
	w      io.Writer
	prefix string
	mu     *sync.Mutex // one line at a time, whichever goroutine logs
}

func (h *noticeHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

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
