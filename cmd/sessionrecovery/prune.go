package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/c0fe5641/sessionrecovery/backends"
	"github.com/c0fe5641/sessionrecovery/internal/sessionname"
	"github.com/c0fe5641/sessionrecovery/store"
)

// pruneNow is the clock prune measures ages by. A file's status change
// time, which ages a local kept copy, cannot be set back; tests move this
// clock forward instead.
var pruneNow = time.Now

// prune lists, and with --yes deletes, the kept copies (<id>.json.replaced,
// .replaced.N) that a restore left and that were last written more than
// --older-than ago. Nothing else is ever deleted: not a live document, not
// a backup, not a name recovery does not make.
func newPruneCmd(e *env) *cobra.Command {
	var p pruning
	c := &cobra.Command{
		Use:   "prune --older-than D [--yes] [flags] LOCATION",
		Short: "list, or delete, kept copies older than D",
		Long:  "List the kept copies restores left (<id>.json.replaced, .replaced.N) that\nwere last written more than D ago, and with --yes delete them. Nothing\nelse is ever deleted.",
		RunE: func(c *cobra.Command, args []string) error {
			p.e = e
			p.given = c.Flags().Changed("older-than")
			return exitWith(p.run(c.Context(), args))
		},
		ValidArgsFunction: completeLocation,
	}
	fs := c.Flags()
	fs.DurationVar(&p.olderThan, "older-than", 0, "the age `D` a kept copy must pass to go, such as 720h (30 days); required")
	fs.BoolVar(&p.yes, "yes", false, "delete them; without it, only list them")
	lockFlag(fs, &p.lockTimeout)
	return c
}

// pruning is one run of prune.
type pruning struct {
	e           *env
	olderThan   time.Duration
	given       bool // --older-than was given
	yes         bool
	lockTimeout time.Duration
}

func (p *pruning) run(ctx context.Context, args []string) int {
	stdout, stderr := p.e.stdout, p.e.stderr
	switch {
	case !p.given:
		return usageError(stderr, "prune", "--older-than is required: how old a kept copy must be to go (such as 720h for 30 days)")
	case p.olderThan < 0:
		return usageError(stderr, "prune", "--older-than must not be negative, got %v", p.olderThan)
	}
	s, code := openLocation(ctx, p.e, "prune", args, false, p.lockTimeout)
	if code != exitOK {
		return code
	}
	defer s.close()
	w, canDelete := s.store.(store.Writer)
	if p.yes && !canDelete {
		s.log.Error(backends.Redact(s.location) + " cannot delete objects")
		return exitUsage
	}
	now := pruneNow()
	cutoff := now.Add(-p.olderThan)
	var old, newer, unknown, failed, deleted int
	header := false
	row := func(key string, age time.Duration, outcome string) {
		if !header {
			fmt.Fprintf(stdout, "%-40s %12s  %s\n", "KEPT COPY", "AGE", "OUTCOME")
			header = true
		}
		fmt.Fprintf(stdout, "%-40s %12s  %s\n", shown(key), age.Round(time.Minute), outcome)
	}
	err := s.store.List(ctx, "", func(o store.Object) error {
		if _, ok := sessionname.ForKept(o.Key); !ok {
			return nil
		}
		switch {
		case o.ModTime.IsZero():
			unknown++
			return nil
		case !o.ModTime.Before(cutoff):
			newer++
			return nil
		}
		old++
		age := now.Sub(o.ModTime)
		if !p.yes {
			row(o.Key, age, "would delete")
			return nil
		}
		if err := w.Delete(ctx, o.Key, store.WriteOptions{}); err != nil && !errors.Is(err, store.ErrNotExist) {
			failed++
			row(o.Key, age, "error, left as it was: "+shownText(err.Error()))
			return ctx.Err()
		}
		deleted++
		row(o.Key, age, "deleted")
		return nil
	})
	if header {
		fmt.Fprintln(stdout)
	}
	summary := fmt.Sprintf("%s older than %v", plural(old, "kept copy", "kept copies"), p.olderThan)
	switch {
	case !p.yes && old > 0:
		summary += ": run again with --yes to delete them"
	case p.yes && deleted < old:
		summary += fmt.Sprintf(": %d deleted, %d not (errors above)", deleted, old-deleted)
	case p.yes:
		summary += " deleted"
	}
	summary += fmt.Sprintf("; %d newer kept", newer)
	if unknown > 0 {
		summary += fmt.Sprintf("; %d of unknown age kept (the store gives no times)", unknown)
	}
	fmt.Fprintln(stdout, summary+".")
	if err != nil {
		s.log.Error("the run did not complete: " + err.Error())
		return exitErrors
	}
	if failed > 0 {
		return exitErrors
	}
	return exitOK
}
