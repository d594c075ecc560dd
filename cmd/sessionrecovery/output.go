package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/c0fe5641/sessionrecovery/recovery"
)

func countText(c recovery.Count) string {
	if c == recovery.NotCounted {
		return "-"
	}
	return strconv.Itoa(int(c))
}

// outcome says in words what happened to one session.
func outcome(st recovery.Status, dryRun bool) string {
	switch {
	case st.Err != nil:
		return "error, left as it was: " + st.Error
	case st.Restored && st.PreservedKey != "":
		return "restored (replaced bytes kept as " + st.PreservedKey + ")"
	case st.Restored:
		return "restored"
	case st.Recommend == recovery.Restore && dryRun:
		return "to restore"
	case st.Recommend == recovery.Restore:
		// Only an orphan is left unrestored without an error.
		return "left alone: the live file is missing; --restore-orphans restores it"
	case st.Recommend == recovery.NoBackup:
		return "no backup"
	default:
		return "nothing to do"
	}
}

func interesting(st recovery.Status) bool {
	return st.Err != nil || st.Restored || st.Recommend == recovery.Restore
}

// writeTable prints the sessions worth a look (every session with verbose)
// and a summary line.
func writeTable(w io.Writer, r *recovery.Report, dryRun, verbose bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := false
	for _, st := range r.Details {
		if !verbose && !interesting(st) {
			continue
		}
		if !header {
			fmt.Fprintf(tw, "SESSION\t%6s\t%6s\tOUTCOME\n", "LIVE", "BACKUP")
			header = true
		}
		fmt.Fprintf(tw, "%s\t%6s\t%6s\t%s\n", st.SessionID, countText(st.LiveMessages), countText(st.BakMessages), outcome(st, dryRun))
	}
	if len(r.Orphans) > 0 {
		tw.Flush()
		if header {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(tw, "ORPHAN BACKUP\t%6s\t%6s\tOUTCOME\n", "LIVE", "BACKUP")
		for _, st := range r.Orphans {
			fmt.Fprintf(tw, "%s\t%6s\t%6s\t%s\n", st.BackupKey, "-", countText(st.BakMessages), orphanOutcome(st, dryRun))
		}
	}
	tw.Flush()
	if header || len(r.Orphans) > 0 {
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, summary(r, dryRun))
}

func orphanOutcome(st recovery.Status, dryRun bool) string {
	switch {
	case st.Err != nil:
		return "error, left as it was: " + st.Error
	case st.Restored:
		return "restored"
	case st.Recommend != recovery.Restore:
		return "not a session; left alone"
	case dryRun:
		return "left alone (recover --restore-orphans would restore it)"
	default:
		return "left alone (--restore-orphans restores it)"
	}
}

func summary(r *recovery.Report, dryRun bool) string {
	var toRestore, noBackup int
	for _, st := range r.Details {
		switch {
		case st.Err != nil:
		case st.Recommend == recovery.Restore && !st.Restored:
			toRestore++
		case st.Recommend == recovery.NoBackup:
			noBackup++
		}
	}
	parts := []string{}
	if dryRun {
		parts = append(parts, plural(toRestore, "to restore", "to restore"))
	} else {
		parts = append(parts, plural(r.Restored, "restored", "restored"))
	}
	parts = append(parts, plural(noBackup, "without backup", "without backup"))
	if n := r.Errors(); n > 0 {
		parts = append(parts, plural(n, "error", "errors"))
	}
	if len(r.Orphans) > 0 {
		parts = append(parts, plural(len(r.Orphans), "orphan backup", "orphan backups"))
	}
	line := fmt.Sprintf("%s scanned: %s.", plural(r.Scanned, "session", "sessions"), strings.Join(parts, ", "))
	if dryRun && toRestore > 0 {
		line += " Run 'sessionrecovery recover' on the same location to restore."
	}
	return line
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// writeStatus prints one session's status for inspect and recover --session.
func writeStatus(w io.Writer, st recovery.Status, inspect bool, location string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "session\t%s\n", st.SessionID)
	fmt.Fprintf(tw, "live\t%s\t%s\n", st.Key, countWords(st.LiveMessages, st.Err))
	fmt.Fprintf(tw, "backup\t%s\t%s\n", st.BackupKey, countWords(st.BakMessages, st.Err))
	fmt.Fprintf(tw, "advice\t%s\n", st.Recommend)
	if inspect {
		if st.Recommend == recovery.Restore && st.Err == nil {
			fmt.Fprintf(tw, "next\tsessionrecovery recover --session %s %s\n", st.SessionID, location)
		}
	} else {
		fmt.Fprintf(tw, "outcome\t%s\n", outcome(st, false))
	}
	if inspect && st.Err != nil {
		fmt.Fprintf(tw, "error\t%s\n", st.Error)
	}
	tw.Flush()
}

func countWords(c recovery.Count, err error) string {
	switch {
	case c == recovery.NotCounted && err != nil:
		return "not read (see the error)"
	case c == recovery.NotCounted:
		return "not read"
	case c == recovery.NotSession:
		return "missing or not a session (-1)"
	case c == 1:
		return "1 message"
	default:
		return strconv.Itoa(int(c)) + " messages"
	}
}

// progress shows a running count on stderr while a long run goes on, when
// stderr is a terminal; elsewhere it stays silent.
type progress struct {
	w      io.Writer
	dryRun bool
	on     bool
	last   time.Time
	shown  bool
}

func newProgress(w io.Writer, dryRun bool) *progress {
	f, ok := w.(*os.File)
	on := false
	if ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			on = true
		}
	}
	return &progress{w: w, dryRun: dryRun, on: on, last: time.Now()}
}

func (p *progress) update(pr recovery.Progress) {
	if !p.on || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	verb := "restored"
	if p.dryRun {
		verb = "to restore"
	}
	fmt.Fprintf(p.w, "\r%d sessions handled, %d %s, %d errors ", pr.Handled, pr.Restored, verb, pr.Errors)
	p.shown = true
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
