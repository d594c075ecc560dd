package main

import (
	"fmt"
	"strings"

	"github.com/c0fe5641/sessionrecovery/recovery"
)

// diffLines says in words what a preview found: what a restore, or a
// merge, brings back, and what a restore drops or a merge keeps; nil
// without a preview.
func diffLines(st recovery.Status, merge bool) []string {
	d := st.Diff
	if d == nil {
		return nil
	}
	if d.Error != "" {
		return []string{"no preview: " + shownText(d.Error)}
	}
	if merges(st, merge) {
		return []string{
			"brings back " + runText(d.Returning),
			"keeps, after the backup's, " + runText(d.Dropped),
		}
	}
	return []string{
		"brings back " + runText(d.Returning),
		"drops " + runText(d.Dropped) + keptNote(d.Dropped),
	}
}

// merges tells whether a run that merges (or not) merges st's session, or
// did: where a restore would drop messages, and where it diverged.
func merges(st recovery.Status, merge bool) bool {
	if st.Merged {
		return true
	}
	d := st.Diff
	return merge && d != nil && d.Error == "" && st.Err == nil &&
		(st.Recommend == recovery.Merge || st.Recommend == recovery.Restore && d.Dropped.Count > 0)
}

func keptNote(r recovery.MessageRun) string {
	if r.Count == 0 {
		return ""
	}
	return " (a restore keeps them in the .replaced copy)"
}

// runText is a group of messages: how many, then the first and the last.
func runText(r recovery.MessageRun) string {
	n := plural(r.Count, "message", "messages")
	switch {
	case r.Count == 0:
		return "no message"
	case r.Count == 1:
		return n + ": " + briefText(r.First)
	default:
		return n + ": " + briefText(r.First) + " … " + briefText(r.Last)
	}
}

// briefText is one message abbreviated: #index, role, and its start.
func briefText(b *recovery.MessageBrief) string {
	var s strings.Builder
	fmt.Fprintf(&s, "#%d", b.Index)
	if b.Role != "" {
		s.WriteString(" " + shownText(b.Role))
	}
	s.WriteString(" " + shownText(fmt.Sprintf("%q", b.Start)))
	return s.String()
}
