// Command sessionrecovery finds the chat sessions of a store that a bug
// shrank and restores them from their backups.
//
// Run "sessionrecovery help" for the commands and flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/c0fe5641/sessionrecovery/backends/local"
)

// Exit codes.
const (
	exitOK     = 0 // the run completed and no session had an error
	exitErrors = 1 // some session had an error, or the run was cut short
	exitUsage  = 2 // bad flags or arguments, or the location cannot be opened or listed
	// A run ended by a signal exits 128 + the signal's number, as shells
	// report it: 130 for SIGINT (Ctrl-C), 143 for SIGTERM.
	exitSignal = 128
)

func main() {
	// The working set is small and bounded (the sessions in flight and one
	// directory's names), so a tighter collection target than the default
	// costs little CPU and keeps the peak well under 64 MiB on a directory
	// of 200,000 sessions. GOGC in the environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-signals
		cancel(interrupted{sig.(syscall.Signal)})
		// A second signal ends the process at once.
		sig = <-signals
		fmt.Fprintf(os.Stderr, "sessionrecovery: %v again: exiting now\n", sig)
		os.Exit(exitSignal + int(sig.(syscall.Signal)))
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	var in interrupted
	if errors.As(context.Cause(ctx), &in) {
		code = exitSignal + int(in.sig)
	}
	os.Exit(code)
}

// interrupted is the cause of a run cancelled by a signal.
type interrupted struct{ sig syscall.Signal }

func (i interrupted) Error() string { return "interrupted by " + i.sig.String() }

const usageText = `sessionrecovery finds chat sessions that a bug shrank and restores them.

A session is a JSON file <id>.json holding an object with a "messages" array.
Before an application saves a version with fewer messages, it copies the old
file to <id>.json.bak. A session whose backup has more messages than the live
file is restored from the backup; the bytes it replaces are kept as
<id>.json.replaced (or .replaced.2, .3, ...). Backups are never changed.

Usage:
  sessionrecovery scan [flags] LOCATION            report what recover would do; change nothing
  sessionrecovery recover [flags] LOCATION         restore every shrunk session
  sessionrecovery recover --session ID [flags] LOCATION
                                                   restore one session
  sessionrecovery inspect [flags] LOCATION ID      show one session's counts and the advice
  sessionrecovery help [COMMAND]                   show this text, or a command's flags
  sessionrecovery prune --older-than D [--yes] LOCATION
                                                   list, or delete, kept copies older than D
  sessionrecovery version                          print the build's version (also --version)

LOCATION is one of:
  ./sessions, /var/lib/app/sessions, file:///var/lib/app/sessions
                         a local directory
  s3://BUCKET?region=eu-west-1&prefix=sessions/
                         an S3 bucket (also endpoint=URL, use_path_style=true,
                         disable_https=true for S3-compatible servers)
  gs://BUCKET?prefix=sessions/
                         a Google Cloud Storage bucket
  azblob://CONTAINER?prefix=sessions/
                         an Azure Blob Storage container (AZURE_STORAGE_ACCOUNT
                         names the account)
  mem://                 an empty in-memory bucket
prefix= scopes a bucket to one folder. Credentials come from each cloud SDK's
usual chain (environment variables, shared config files, instance roles),
never from LOCATION; a LOCATION printed back has secret parameters masked.

Examples:
  sessionrecovery scan ./sessions
  sessionrecovery recover --json ./sessions > report.json
  sessionrecovery scan 's3://my-bucket?region=eu-west-1&prefix=sessions/'
  sessionrecovery inspect ./sessions 20240101_abc

Exit status: 0 the run completed without errors; 1 some session had an error
(left as it was unless its outcome says otherwise) or the run was cut short;
2 bad usage, or the location cannot be opened or listed (nothing is then
printed on stdout); 130 interrupted (Ctrl-C, SIGINT) and 143 terminated
(SIGTERM): the sessions not handled are reported with an error and left as
they were. A second signal exits at once.
`

// run is the whole command, with its environment passed in for tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, versionLine())
		return exitOK
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			if c, ok := commands[rest[0]]; ok {
				c.flags(stdout, &settings{}).Usage()
				return exitOK
			}
			fmt.Fprintf(stderr, "sessionrecovery: no command %q\n\n%s", rest[0], usageText)
			return exitUsage
		}
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	c, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "sessionrecovery: unknown command %q\n\n%s", cmd, usageText)
		return exitUsage
	}
	set := settings{lockTimeout: local.DefaultLockTimeout} // commands that write nothing take no lock flag
	// Help asked for goes to stdout; a parse error is one line and a hint
	// on stderr, not the whole usage.
	fs := c.flags(stdout, &set)
	usage := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	positional, err := parseInterspersed(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		usage()
		return exitOK
	}
	if err != nil {
		return usageError(stderr, cmd, "%v", err)
	}
	set.given = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set.given[f.Name] = true })
	return c.run(ctx, &set, positional, stdout, stderr)
}

// parseInterspersed parses flags placed before, between or after the
// positional arguments, as users of other tools expect; "--" ends flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
