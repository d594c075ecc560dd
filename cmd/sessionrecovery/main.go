// Command sessionrecovery finds the chat sessions of a store that a bug
// shrank and restores them from their backups.
//
// Run "sessionrecovery help" for the commands and flags.
//
// The command line is built with cobra (on pflag), as rclone, restic and
// kubectl are: GNU-style --long and -s flags placed anywhere, help and
// "did you mean" suggestions, and shell completion (bash, zsh, fish,
// PowerShell) generated from the same command tree, so that they cannot
// drift from the flags the commands take.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
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
	go onSignals(signals, cancel, os.Stderr, os.Exit)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	var in interrupted
	if errors.As(context.Cause(ctx), &in) {
		code = exitSignal + int(in.sig)
	}
	os.Exit(code)
}

// onSignals ends the run on the first signal: the context is cancelled,
// the sessions not handled are reported, and the command exits 128+N. A
// second signal calls exit at once, for a run that does not end soon
// enough (a write blocked on a full pipe, a server that does not answer).
func onSignals(signals <-chan os.Signal, cancel context.CancelCauseFunc, stderr io.Writer, exit func(int)) {
	sig := <-signals
	cancel(interrupted{sig.(syscall.Signal)})
	sig = <-signals
	fmt.Fprintf(stderr, "sessionrecovery: %v again: exiting now\n", sig)
	exit(exitSignal + int(sig.(syscall.Signal)))
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
  sessionrecovery undo --session ID [flags] LOCATION
                                                   put back what the last restore replaced
  sessionrecovery prune --older-than D [--yes] LOCATION
                                                   list, or delete, kept copies older than D
  sessionrecovery merge-reports FILE...            join the --json reports of a run's shards
  sessionrecovery completion bash|zsh|fish|powershell
                                                   print a shell completion script
  sessionrecovery version                          print the build's version (also --version)
  sessionrecovery help [COMMAND]                   show this text, or a command's flags

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

Flags every command takes:
      --log-level LEVEL    show notices at LEVEL and above on stderr: debug,
                           info (the default), warn or error
      --log-format FORMAT  text (one line each, the default) or json (one
                           JSON object per line, for log collectors)
  -h, --help               show a command's help

Examples:
  sessionrecovery scan ./sessions
  sessionrecovery recover --json ./sessions > report.json
  sessionrecovery scan 's3://my-bucket?region=eu-west-1&prefix=sessions/'
  sessionrecovery inspect ./sessions 20240101_abc
  sessionrecovery prune --older-than 720h ./sessions
  sessionrecovery recover --shard 2/8 --resume journal-2 --json 's3://my-bucket' > report-2.json

Exit status: 0 the run completed without errors; 1 some session had an error
(left as it was unless its outcome says otherwise) or the run was cut short;
2 bad usage, or the location cannot be opened or listed (nothing is then
printed on stdout); 130 interrupted (Ctrl-C, SIGINT) and 143 terminated
(SIGTERM): the sessions not handled are reported with an error and left as
they were. A second signal exits at once.
`

// run is the whole command, with its environment passed in for tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	out := &checkedWriter{w: stdout}
	e := &env{stdout: out, stderr: stderr}
	root := newRoot(e)
	root.SetArgs(args)
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	cmd, err := root.ExecuteContextC(ctx)
	var code exitCode
	switch {
	case errors.As(err, &code) && code != exitOK:
		// The command said why; a lost report among its reasons.
		return int(code)
	case out.err != nil:
		// Output that could not be written, of a command that does not
		// check its writes (a table, a listing, help): what it did
		// stands, but nobody was told.
		fmt.Fprintf(stderr, "sessionrecovery: write to stdout: %v: the output is incomplete (what the command did is not all reported)\n", out.err)
		return exitErrors
	case err == nil:
		return exitOK
	}
	// cobra's own errors: an unknown command or flag, a bad flag value.
	if cmd == root {
		if msg, ok := unknownCommand(root, args); ok {
			return usageError(stderr, "", "%s", msg)
		}
	}
	return usageError(stderr, commandName(cmd), "%v%s", err, oneDashSlip(cmd, args))
}

// commandName is cmd's path below the root ("scan", "completion bash"),
// "" for the root itself.
func commandName(cmd *cobra.Command) string {
	return strings.TrimPrefix(strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()), " ")
}

// checkedWriter keeps the first error of the writes to w.
type checkedWriter struct {
	w   io.Writer
	err error
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// exitCode is the error a command returns to exit with that code, having
// said why on stderr.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// exitWith turns a command's exit code into what cobra expects of RunE.
func exitWith(code int) error {
	if code == exitOK {
		return nil
	}
	return exitCode(code)
}

// unknownCommand words the error of a first argument that names no
// command, with cobra's suggestions of those it may have meant.
func unknownCommand(root *cobra.Command, args []string) (string, bool) {
	first := args[0]
	if strings.HasPrefix(first, "-") {
		return "", false
	}
	if c, _, err := root.Find(args); err == nil && c != root {
		return "", false
	}
	msg := fmt.Sprintf("unknown command %q", first)
	if s := root.SuggestionsFor(first); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", s[0])
	}
	return msg, true
}

// newRoot builds the command tree.
func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:               "sessionrecovery",
		Short:             "find chat sessions that a bug shrank, and restore them",
		Version:           versionLine(),
		SilenceErrors:     true,
		SilenceUsage:      true,
		Args:              cobra.NoArgs,
		PersistentPreRunE: func(*cobra.Command, []string) error { return e.checkLogFlags() },
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprint(e.stderr, usageText)
			return exitCode(exitUsage)
		},
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetHelpFunc(func(c *cobra.Command, _ []string) { help(c, root) })
	root.CompletionOptions.HiddenDefaultCmd = false
	e.logFlags(root.PersistentFlags())
	completeLogFlags(root)
	root.AddCommand(newScanCmd(e), newRecoverCmd(e), newInspectCmd(e), newPruneCmd(e), newUndoCmd(e), newMergeReportsCmd(e), newVersionCmd(e))
	strictCompletion(root, e)
	return root
}

// help prints a command's help on stdout: the overview for the root, else
// the command's synopsis, what it does, and its flags.
func help(c, root *cobra.Command) {
	w := c.OutOrStdout()
	if c == root {
		fmt.Fprint(w, usageText)
		return
	}
	fmt.Fprintf(w, "Usage:\n  %s\n", strings.ReplaceAll(c.UseLine(), "\n", "\n  "))
	if c.Long != "" {
		fmt.Fprintf(w, "\n%s\n", c.Long)
	}
	if c.HasAvailableLocalFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", c.LocalFlags().FlagUsagesWrapped(80))
	}
	if c.HasAvailableInheritedFlags() {
		fmt.Fprintf(w, "\nFlags every command takes:\n%s", c.InheritedFlags().FlagUsagesWrapped(80))
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(w, "\nCommands:\n")
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				fmt.Fprintf(w, "  %-12s %s\n", sub.Name(), sub.Short)
			}
		}
	}
	fmt.Fprintf(w, "\nExit status: 0 done without errors, 1 some session had an error or the run\nwas cut short, 2 bad usage or a location that cannot be opened or listed,\n130 or 143 interrupted. Run 'sessionrecovery help' for more.\n")
}

// oneDashSlip finds the commonest slip on a command line: a long flag
// given one dash (-json for --json), which GNU-style parsing reads as a
// cluster of short flags and answers with a puzzling error. It returns the
// fix, or "".
func oneDashSlip(c *cobra.Command, args []string) string {
	for _, a := range args {
		if a == "--" {
			break
		}
		word, ok := strings.CutPrefix(a, "-")
		word, _, _ = strings.Cut(word, "=")
		if !ok || len(word) < 2 || strings.HasPrefix(word, "-") {
			continue
		}
		if c.Flags().Lookup(word) != nil || word == "help" || word == "version" {
			return fmt.Sprintf(" (long flags take two dashes: --%s)", word)
		}
	}
	return ""
}

// usageError says what is wrong with the command line in one line, and
// where to read more; the code is exitUsage.
func usageError(stderr io.Writer, cmd, format string, a ...any) int {
	if cmd == "" {
		fmt.Fprintf(stderr, "sessionrecovery: %s\nRun 'sessionrecovery help' for usage.\n", fmt.Sprintf(format, a...))
		return exitUsage
	}
	fmt.Fprintf(stderr, "sessionrecovery %s: %s\nRun 'sessionrecovery help %s' for usage.\n", cmd, fmt.Sprintf(format, a...), cmd)
	return exitUsage
}
