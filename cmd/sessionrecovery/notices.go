package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// env is what every command is given: where its output goes, and the
// flags every command takes, those of its notices on stderr.
type env struct {
	stdout, stderr io.Writer
	logLevel       string
	logFormat      string
}

var logLevels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}

func (e *env) logFlags(fs *pflag.FlagSet) {
	fs.StringVar(&e.logLevel, "log-level", "info", "show notices at `LEVEL` and above on stderr: debug, info, warn or error")
	fs.StringVar(&e.logFormat, "log-format", "text", "`FORMAT` of the notices on stderr: text (one line each) or json (one JSON object per line)")
}

func (e *env) checkLogFlags() error {
	if _, ok := logLevels[e.logLevel]; !ok {
		return fmt.Errorf("--log-level must be debug, info, warn or error, got %q", e.logLevel)
	}
	if e.logFormat != "text" && e.logFormat != "json" {
		return fmt.Errorf("--log-format must be text or json, got %q", e.logFormat)
	}
	return nil
}

// completeLogFlags offers the values of the log flags to shell
// completion. The flags are the root's persistent flags, so they are
// registered there, once: a subcommand does not see them before parsing.
func completeLogFlags(root *cobra.Command) {
	root.RegisterFlagCompletionFunc("log-level", completeWords("debug", "info", "warn", "error"))
	root.RegisterFlagCompletionFunc("log-format", completeWords("text", "json"))
}

// completeWords completes a flag's value as one of words.
func completeWords(words ...string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		var out []string
		for _, w := range words {
			if strings.HasPrefix(w, prefix) {
				out = append(out, w)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// logger is the logger of a command once it has its flags: its own
// messages (an error, a hint at Warn) and the notices of the stores and
// the cloud SDKs (a write waiting for a lock, an owner that could not be
// kept, an SDK's warning) go through it to stderr, never to stdout, at
// --log-level and above (with quiet, warnings and above; errors always
// show). In the text format each is one line, "sessionrecovery CMD:
// MESSAGE", with "warning: " before a warning's message and "debug: "
// before a debug one; the messages say it all, and their attributes,
// which repeat it for structured logs, are left out. The json format is
// slog's, with every attribute and a "command" attribute, so that with
// --log-format json every line on stderr is a JSON object, but for usage
// errors, said before the flags are known.
func (e *env) logger(cmd string, quiet bool) *slog.Logger {
	level := logLevels[e.logLevel]
	if quiet {
		level = max(level, slog.LevelWarn)
	}
	if e.logFormat == "json" {
		h := slog.NewJSONHandler(lockedWriter(e.stderr), &slog.HandlerOptions{Level: level})
		return slog.New(h).With("command", cmd)
	}
	return slog.New(&noticeHandler{w: e.stderr, prefix: "sessionrecovery " + cmd + ": ", level: level, mu: new(sync.Mutex)})
}

// lockedWriter makes whole writes to w one at a time, for a handler that
// several goroutines use.
func lockedWriter(w io.Writer) io.Writer { return &locked{w: w} }

type locked struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *locked) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
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
	switch {
	case r.Level >= slog.LevelError:
		// The command's own errors, which say what failed.
	case r.Level >= slog.LevelWarn:
		b.WriteString("warning: ")
	case r.Level < slog.LevelInfo:
		b.WriteString("debug: ")
	}
	b.WriteString(shownText(r.Message))
	b.WriteString("\n")
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *noticeHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *noticeHandler) WithGroup(string) slog.Handler      { return h }
