package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

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
func prune(ctx context.Context, set *settings, args []string, stdout, stderr io.Writer) int {
	switch {
	case !set.given["older-than"]:
		return usageError(stderr, "prune", "--older-than is required: how old a kept copy must be to go (such as 720h for 30 days)")
	case set.olderThan < 0:
		return usageError(stderr, "prune", "--older-than must not be negative, got %v", set.olderThan)
	}
	s, closeFn, code := openLocation(ctx, set, "prune", args, stderr)
	if code != exitOK {
		return code
	}
	defer closeFn()
	w, canDelete := s.(store.Writer)
	if set.yes && !canDelete {
		fmt.Fprintf(stderr, "sessionrecovery prune: %s cannot delete objects\n", args[0])
		return exitUsage
	}
	now := pruneNow()
	cutoff := now.Add(-set.olderThan)
	var old, newer, unknown, failed int
	header := false
	row := func(key string, age time.Duration, outcome string) {
		if !header {
			fmt.Fprintf(stdout, "%-40s %12s  %s\n", "KEPT COPY", "AGE", "OUTCOME")
			header = true
		}
		fmt.Fprintf(stdout, "%-40s %12s  %s\n", shown(key), age.Round(time.Minute), outcome)
	}
	err := s.List(ctx, "", func(o store.Object) error {
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
		if !set.yes {
			row(o.Key, age, "would delete")
			return nil
		}
		if err := w.Delete(ctx, o.Key, store.WriteOptions{}); err != nil && !errors.Is(err, store.ErrNotExist) {
			failed++
			row(o.Key, age, "error, left as it was: "+shownText(err.Error()))
			return ctx.Err()
		}
		row(o.Key, age, "deleted")
		return nil
	})
	if header {
		fmt.Fprintln(stdout)
	}
	summary := fmt.Sprintf("%s older than %v", plural(old, "kept copy", "kept copies"), set.olderThan)
	switch {
	case !set.yes && old > 0:
		summary += ": run again with --yes to delete them"
	case set.yes && failed > 0:
		summary += fmt.Sprintf(" deleted, but for %d (errors above)", failed)
	case set.yes:
		summary += " deleted"
	}
	summary += fmt.Sprintf("; %d newer kept", newer)
	if unknown > 0 {
		summary += fmt.Sprintf("; %d of unknown age kept (the store gives no times)", unknown)
	}
	fmt.Fprintln(stdout, summary+".")
	if err != nil {
		fmt.Fprintf(stderr, "sessionrecovery prune: the run did not complete: %v\n", err)
		return exitErrors
	}
	if failed > 0 {
		return exitErrors
	}
	return exitOK
}
