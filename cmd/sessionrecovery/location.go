package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/c0fe5641/sessionrecovery/backends"
	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/internal/jsonenc"
	"github.com/c0fe5641/sessionrecovery/store"
)

// lockFlag is --lock-timeout, which the commands that write take.
func lockFlag(fs *pflag.FlagSet, d *time.Duration) {
	fs.DurationVar(d, "lock-timeout", local.DefaultLockTimeout, "in a local directory, wait at most `D` (such as 30s or 2m; 0 tries once) for the directory's lock, which every save through the library holds for moments and another reader or a stopped process may hold for ever; a session whose lock is not had by then is reported as an error naming the holder and left as it was, and later ones there fail at once while the lock stays taken")
}

// opened is a store a command opened, with what it needs to report on it.
// The store is a field, not embedded: recovery must be handed the backend
// itself, whose optional interfaces (store.Writer, store.Linker) make its
// restores conditional. A wrapper that embedded store.Store would hide
// them and turn every restore into the unconditional plain-Store path.
type opened struct {
	store    store.Store
	location string       // as the user gave it
	log      *slog.Logger // the command's messages and the store's notices, on stderr
	close    func() error
}

// openLocation opens the one LOCATION of args for cmd. A wrong number of
// arguments or a location that cannot be opened is said on stderr, and
// the code is exitUsage.
func openLocation(ctx context.Context, e *env, cmd string, args []string, quiet bool, lockTimeout time.Duration) (*opened, int) {
	if len(args) != 1 {
		return nil, usageError(e.stderr, cmd, "want one LOCATION, got %d argument(s)", len(args))
	}
	if lockTimeout < 0 {
		return nil, usageError(e.stderr, cmd, "--lock-timeout must not be negative, got %v", lockTimeout)
	}
	log := e.logger(cmd, quiet)
	s, closeFn, err := backends.Open(ctx, args[0],
		backends.WithLogger(log),
		backends.WithLockTimeout(lockTimeout))
	if err != nil {
		log.Error("cannot open " + err.Error())
		return nil, exitUsage
	}
	return &opened{store: s, location: args[0], log: log, close: closeFn}, exitOK
}

func writeJSON(w io.Writer, v any) error {
	b, err := jsonenc.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
