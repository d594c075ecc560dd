package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
)

func newInspectCmd(e *env) *cobra.Command {
	var asJSON, diff bool
	c := &cobra.Command{
		Use:   "inspect [flags] LOCATION ID",
		Short: "show one session's counts and the advice",
		Long:  "Show one session's message counts, live and backup, and what recover\nwould do with it. Nothing is changed.",
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) != 2 {
				return exitWith(usageError(e.stderr, "inspect", "want LOCATION and ID, got %d argument(s)", len(args)))
			}
			one := single{e: e, cmd: "inspect", json: asJSON, inspect: true}
			return exitWith(one.run(c.Context(), args[:1], args[1], func(ctx context.Context, s *opened) (recovery.Status, error) {
				if diff {
					return recovery.Preview(ctx, s.store, args[1])
				}
				return recovery.Inspect(ctx, s.store, args[1])
			}, local.DefaultLockTimeout))
		},
		ValidArgsFunction: completeLocationThenID,
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the session's status as JSON on stdout")
	diffFlag(c.Flags(), &diff)
	return c
}

// single is a command on one session: inspect, or recover --session.
type single struct {
	e       *env
	cmd     string
	json    bool
	dryRun  bool
	merge   bool
	inspect bool
}

func (one *single) run(ctx context.Context, args []string, id string, do func(context.Context, *opened) (recovery.Status, error), lockTimeout time.Duration) int {
	e, cmd := one.e, one.cmd
	if err := recovery.ValidateID(id); err != nil {
		return usageError(e.stderr, cmd, "%v", err)
	}
	s, code := openLocation(ctx, e, cmd, args, false, lockTimeout)
	if code != exitOK {
		return code
	}
	defer s.close()
	st, err := do(ctx, s)
	if err != nil {
		s.log.Error(err.Error())
		return exitErrors
	}
	if one.json {
		if werr := writeJSON(e.stdout, st); werr != nil {
			s.log.Error("write status: " + werr.Error())
			return exitErrors
		}
	} else {
		writeStatus(e.stdout, st, one.inspect, one.dryRun, one.merge, s.location)
	}
	if st.Err != nil {
		if bare, ok := strings.CutSuffix(id, ".json"); ok && errors.Is(st.Err, store.ErrNotExist) && st.LiveMessages == recovery.NotSession {
			s.log.Error(fmt.Sprintf("no session %s: did you mean %q? (an id is the file name less .json)", shown(id), bare))
		}
		return exitErrors
	}
	return exitOK
}
