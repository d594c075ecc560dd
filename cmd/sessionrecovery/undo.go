package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/c0fe5641/sessionrecovery/recovery"
)

// undo puts back what the last restore of one session replaced, with
// recovery.Undo: only while the live document is still the version the
// restore wrote, and keeping what it replaces like any restore.
func newUndoCmd(e *env) *cobra.Command {
	var (
		session     string
		asJSON      bool
		dryRun      bool
		lockTimeout time.Duration
	)
	c := &cobra.Command{
		Use:   "undo --session ID [flags] LOCATION",
		Short: "put back what the last restore of a session replaced",
		Long: `Put back the bytes the last restore of session ID replaced: its most recent
kept copy (<id>.json.replaced.N, else <id>.json.replaced) is written over
the live document, only if the live document still holds exactly the
backup's bytes, the version a restore writes. If the application saved the
session since, nothing is changed. What undo replaces is kept under the next
kept-copy name, as a restore keeps it; the kept copy and the backup stay as
they are, so a later recover restores the session again unless its backup
is moved aside.`,
		RunE: func(c *cobra.Command, args []string) error {
			if session == "" {
				return exitWith(usageError(e.stderr, "undo", "--session is required: the id of the session to undo (the file name less .json)"))
			}
			u := undoing{e: e, id: session, json: asJSON, dryRun: dryRun}
			return exitWith(u.run(c.Context(), args, lockTimeout))
		},
		ValidArgsFunction: completeLocation,
	}
	fs := c.Flags()
	fs.StringVar(&session, "session", "", "the `ID` of the session to undo (the file name less .json); required")
	fs.BoolVar(&asJSON, "json", false, "print what undo found and did as JSON on stdout")
	fs.BoolVarP(&dryRun, "dry-run", "n", false, "check everything and say what undo would do, changing nothing")
	lockFlag(fs, &lockTimeout)
	c.RegisterFlagCompletionFunc("session", completeSessionFlag)
	return c
}

// undoing is one run of undo.
type undoing struct {
	e      *env
	id     string
	json   bool
	dryRun bool
}

func (u *undoing) run(ctx context.Context, args []string, lockTimeout time.Duration) int {
	e := u.e
	if err := recovery.ValidateID(u.id); err != nil {
		return usageError(e.stderr, "undo", "%v", err)
	}
	s, code := openLocation(ctx, e, "undo", args, false, lockTimeout)
	if code != exitOK {
		return code
	}
	defer s.close()
	st, err := recovery.Undo(ctx, s.store, u.id, recovery.UndoOptions{DryRun: u.dryRun})
	if err != nil {
		s.log.Error(err.Error())
		return exitErrors
	}
	if u.json {
		if werr := writeJSON(e.stdout, st); werr != nil {
			s.log.Error("write status: " + werr.Error())
			return exitErrors
		}
	} else {
		writeUndo(e.stdout, st, u.dryRun)
	}
	if st.Err != nil {
		if !u.json {
			s.log.Error(fmt.Sprintf("session %s: %s", shown(st.SessionID), st.Error))
		}
		return exitErrors
	}
	return exitOK
}

// writeUndo prints what undo found and did, one field a line.
func writeUndo(w io.Writer, st recovery.UndoStatus, dryRun bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "session\t%s\n", shown(st.SessionID))
	fmt.Fprintf(tw, "live\t%s\t%s\n", shown(st.Key), countWords(st.LiveMessages, st.Err))
	if st.KeptKey != "" {
		fmt.Fprintf(tw, "kept copy\t%s\t%s\n", shown(st.KeptKey), countWords(st.KeptMessages, st.Err))
	}
	var outcome string
	switch {
	case st.Undone && st.Err != nil:
		outcome = "undone, not confirmed durable (see the error)"
	case st.Undone:
		outcome = "undone"
	case st.Err != nil:
		outcome = "not undone, left as it was unless the error says otherwise"
	case dryRun:
		outcome = "would undo"
	}
	fmt.Fprintf(tw, "outcome\t%s\n", outcome)
	if st.PreservedKey != "" {
		fmt.Fprintf(tw, "replaced bytes kept as\t%s\n", shown(st.PreservedKey))
	}
	tw.Flush()
	if st.Undone || (dryRun && st.Err == nil) {
		fmt.Fprintf(w, "\nThe backup %s still has more messages: a later recover restores the session again unless the backup is moved aside.\n", shown(st.BackupKey))
	}
}
