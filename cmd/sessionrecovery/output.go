package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"golang.org/x/term"
	"golang.org/x/text/width"

	"github.com/c0fe5641/sessionrecovery/recovery"
)

func countText(c recovery.Count) string {
	if c == recovery.NotCounted {
		return "-"
	}
	return strconv.Itoa(int(c))
}

// outcome says in words what happened to one session, in a run that
// merges or not.
func outcome(st recovery.Status, dryRun, merge bool) string {
	switch {
	case st.Err != nil && st.Restored:
		return "restored, but: " + shownText(st.Error)
	case st.Err != nil && st.PreservedKey != "":
		// The restore failed after the live bytes were kept; the error
		// says whether it may have been made.
		return "error: " + shownText(st.Error)
	case st.Err != nil:
		return "error, left as it was: " + shownText(st.Error)
	case st.Merged:
		return "merged (replaced bytes kept as " + shown(st.PreservedKey) + ")"
	case st.Restored && st.PreservedKey != "":
		return "restored (replaced bytes kept as " + shown(st.PreservedKey) + ")"
	case st.Restored:
		return "restored"
	case dryRun && merges(st, merge):
		return "to merge"
	case st.Recommend == recovery.Restore && dryRun:
		return "to restore"
	case st.Recommend == recovery.Restore:
		// Only an orphan is left unrestored without an error.
		return "left alone: the live file is missing; --restore-orphans restores it"
	case st.Recommend == recovery.NoBackup:
		return "no backup"
	case st.Recommend == recovery.Merge:
		return "diverged: not restored (the backup holds messages the live file lacks, and a restore would drop newer ones; recover --merge merges them)"
	default:
		return "nothing to do"
	}
}

func interesting(st recovery.Status) bool {
	return st.Err != nil || st.Restored || st.Recommend == recovery.Restore || st.Recommend == recovery.Merge
}

// table prints sessions as they come — those worth a look, or all with
// verbose — then the orphans and a summary line. Its first column is as
// wide as the widest id among the first rows (up to tableWindow of them,
// held back until then, or until the run ends); a later, wider id pushes
// only its own row. It keeps counts, never the sessions, so a run of any
// size streams through it.
type table struct {
	w                  io.Writer
	dryRun, verbose    bool
	merge              bool
	held               [][4]string // rows held back to size the column
	width              int         // of the first column, once known
	toRestore, noBakup int
	diverged           int // with --diff, and not merged
	merged, toMerge    int
}

// tableWindow is how many rows the table holds back to size its first
// column: enough to see the ids of a typical run whole, and few enough
// that the first rows of a long run show at once.
const tableWindow = 200

// minIDWidth keeps short ids in a column as wide as its heading.
var minIDWidth = textWidth("ORPHAN BACKUP")

func newTable(w io.Writer, dryRun, verbose, merge bool) *table {
	return &table{w: w, dryRun: dryRun, verbose: verbose, merge: merge}
}

func (t *table) add(st recovery.Status) {
	switch {
	case st.Err != nil:
	case t.dryRun && merges(st, t.merge):
		t.toRestore++ // by a merge
		t.toMerge++
	case st.Recommend == recovery.Restore && !st.Restored:
		t.toRestore++
	case st.Recommend == recovery.NoBackup:
		t.noBakup++
	case st.Recommend == recovery.Merge && !st.Restored:
		t.diverged++
	}
	if st.Merged {
		t.merged++
	}
	if !t.verbose && !interesting(st) {
		return
	}
	out := outcome(st, t.dryRun, t.merge)
	for _, l := range diffLines(st, t.merge) {
		out += "\n" + l // printed under the outcome
	}
	t.row([4]string{shown(st.SessionID), countText(st.LiveMessages), countText(st.BakMessages), out})
}

// row prints r, or holds it back while the first column's width is not
// known.
func (t *table) row(r [4]string) {
	if t.width == 0 {
		t.held = append(t.held, r)
		if len(t.held) < tableWindow {
			return
		}
		t.flush()
		return
	}
	t.print(r)
}

// flush sizes the first column to the rows held back, and prints them
// under the heading.
func (t *table) flush() {
	if t.width != 0 || len(t.held) == 0 {
		return
	}
	t.width = minIDWidth
	for _, r := range t.held {
		t.width = max(t.width, textWidth(r[0]))
	}
	t.print([4]string{"SESSION", "LIVE", "BACKUP", "OUTCOME"})
	for _, r := range t.held {
		t.print(r)
	}
	t.held = nil
}

// print prints a row; the lines of its outcome after the first go under
// it, in its column.
func (t *table) print(r [4]string) {
	first, rest, _ := strings.Cut(r[3], "\n")
	fmt.Fprintf(t.w, "%s %6s %6s  %s\n", pad(r[0], t.width), r[1], r[2], first)
	for line := range strings.Lines(rest) {
		fmt.Fprintf(t.w, "%s  %s", strings.Repeat(" ", t.width+14), line)
	}
	if rest != "" && !strings.HasSuffix(rest, "\n") {
		fmt.Fprintln(t.w)
	}
}

func (t *table) finish(r *recovery.Report) error {
	t.flush()
	header := t.width != 0
	if len(r.Orphans) > 0 {
		if header {
			fmt.Fprintln(t.w)
		}
		width := t.width
		if width == 0 {
			width = minIDWidth
			for _, st := range r.Orphans {
				width = max(width, textWidth(shown(st.BackupKey)))
			}
		}
		rows := [][4]string{{"ORPHAN BACKUP", "LIVE", "BACKUP", "OUTCOME"}}
		for _, st := range r.Orphans {
			rows = append(rows, [4]string{shown(st.BackupKey), "-", countText(st.BakMessages), orphanOutcome(st, t.dryRun)})
		}
		t.width = width
		for _, row := range rows {
			t.print(row)
		}
	}
	if header || len(r.Orphans) > 0 {
		fmt.Fprintln(t.w)
	}
	fmt.Fprintln(t.w, t.summary(r))
	return nil
}

// textWidth is how many terminal columns s takes: two for a wide East
// Asian character, none for a combining mark, one for the rest. (shown
// has already made every control character visible.)
func textWidth(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r):
		case width.LookupRune(r).Kind() == width.EastAsianWide || width.LookupRune(r).Kind() == width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}

// pad fills s with spaces to n columns.
func pad(s string, n int) string {
	if w := textWidth(s); w < n {
		return s + strings.Repeat(" ", n-w)
	}
	return s
}

func orphanOutcome(st recovery.Status, dryRun bool) string {
	switch {
	case st.Err != nil && st.Restored:
		return "restored, but: " + shownText(st.Error)
	case st.Err != nil:
		return "error, left as it was: " + shownText(st.Error)
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

func (t *table) summary(r *recovery.Report) string {
	parts := []string{}
	if t.dryRun {
		toRestore := plural(t.toRestore, "to restore", "to restore")
		if t.toMerge > 0 {
			toRestore += fmt.Sprintf(" (%d by a merge)", t.toMerge)
		}
		parts = append(parts, toRestore)
	} else {
		restored := plural(r.Restored, "restored", "restored")
		if t.merged > 0 {
			restored += fmt.Sprintf(" (%d merged)", t.merged)
		}
		parts = append(parts, restored)
	}
	parts = append(parts, plural(t.noBakup, "without backup", "without backup"))
	if t.diverged > 0 {
		parts = append(parts, plural(t.diverged, "diverged", "diverged"))
	}
	if n := r.Errors; n > 0 {
		parts = append(parts, plural(n, "error", "errors"))
	}
	if len(r.Orphans) > 0 {
		orphans := plural(len(r.Orphans), "orphan backup", "orphan backups")
		if r.OrphansRestored > 0 {
			orphans += fmt.Sprintf(" (%d restored)", r.OrphansRestored)
		}
		parts = append(parts, orphans)
	}
	line := fmt.Sprintf("%s scanned: %s.", plural(r.Scanned, "session", "sessions"), strings.Join(parts, ", "))
	switch {
	case t.dryRun && t.toMerge > 0:
		line += " Run 'sessionrecovery recover --merge' on the same location to restore."
	case t.dryRun && t.toRestore > 0:
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
func writeStatus(w io.Writer, st recovery.Status, inspect, dryRun, merge bool, location string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "session\t%s\n", shown(st.SessionID))
	fmt.Fprintf(tw, "live\t%s\t%s\n", shown(st.Key), countWords(st.LiveMessages, st.Err))
	fmt.Fprintf(tw, "backup\t%s\t%s\n", shown(st.BackupKey), countWords(st.BakMessages, st.Err))
	fmt.Fprintf(tw, "advice\t%s\n", st.Recommend)
	if inspect {
		switch {
		case st.Err != nil:
		case st.Recommend == recovery.Restore:
			fmt.Fprintf(tw, "next\tsessionrecovery recover --session %s %s\n", shellQuoted(st.SessionID), shellQuoted(location))
		case st.Recommend == recovery.Merge:
			fmt.Fprintf(tw, "next\tsessionrecovery recover --merge --session %s %s\n", shellQuoted(st.SessionID), shellQuoted(location))
		}
	} else {
		fmt.Fprintf(tw, "outcome\t%s\n", outcome(st, dryRun, merge))
	}
	if inspect && st.Err != nil {
		fmt.Fprintf(tw, "error\t%s\n", shownText(st.Error))
	}
	for i, l := range diffLines(st, merge) {
		label := ""
		if i == 0 {
			label = "preview"
		}
		fmt.Fprintf(tw, "%s\t%s\n", label, l)
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

// progress shows a running count on stderr while a run goes on, when
// stderr is a terminal and progress is on; elsewhere it stays silent. The
// first count shows at once, and again at once after a table row cleared
// it; otherwise at most five times a second.
type progress struct {
	w      io.Writer
	dryRun bool
	on     bool
	start  time.Time
	last   time.Time
	shown  bool
}

func newProgress(w io.Writer, dryRun, enabled bool) *progress {
	on := false
	if f, ok := w.(*os.File); ok && enabled {
		on = term.IsTerminal(int(f.Fd()))
	}
	now := time.Now()
	return &progress{w: w, dryRun: dryRun, on: on, start: now, last: now}
}

func (p *progress) update(pr recovery.Progress) {
	if !p.on || (p.shown && time.Since(p.last) < 200*time.Millisecond) {
		return
	}
	p.last = time.Now()
	verb := "restored"
	if p.dryRun {
		verb = "to restore"
	}
	elapsed := p.last.Sub(p.start)
	rate := float64(pr.Handled) / max(elapsed.Seconds(), 1e-3)
	fmt.Fprintf(p.w, "\r\033[K%d sessions handled (%.0f/s, %s elapsed), %d %s, %d errors",
		pr.Handled, rate, elapsed.Round(time.Second), pr.Restored, verb, pr.Errors)
	p.shown = true
}

// clear erases the progress line, before a table row or at the end.
func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}
