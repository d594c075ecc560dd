package main

import (
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/c0fe5641/sessionrecovery/backends"
	"github.com/c0fe5641/sessionrecovery/internal/sessionname"
)

// Shell completion: cobra's completion command prints the script for
// bash, zsh, fish or PowerShell; the script asks the command itself
// (sessionrecovery __complete ...) for the words to offer. LOCATION
// completes as a file name; a session ID, in a local directory, as the
// ids of the sessions there. Buckets are never listed for completion: a
// keystroke must not cost a request.

// strictCompletion makes `completion` without a shell, or with one it
// does not know, bad usage (cobra prints the help and exits 0, so that
// `completion tcsh > file` would write the help into the file).
func strictCompletion(root *cobra.Command, e *env) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return exitWith(usageError(e.stderr, "completion", "name the shell: bash, zsh, fish or powershell"))
			}
			return exitWith(usageError(e.stderr, "completion", "no completion for %q: bash, zsh, fish or powershell", args[0]))
		}
	}
}

// completeLocation completes the one LOCATION argument.
func completeLocation(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return nil, cobra.ShellCompDirectiveFilterDirs
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}

// completeLocationThenID completes inspect's LOCATION, then its ID.
func completeLocationThenID(c *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	switch len(args) {
	case 0:
		return nil, cobra.ShellCompDirectiveFilterDirs
	case 1:
		return sessionIDs(args[0], prefix), cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}

// completeSessionFlag completes --session ID from the LOCATION already on
// the command line.
func completeSessionFlag(_ *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return sessionIDs(args[0], prefix), cobra.ShellCompDirectiveNoFileComp
}

// sessionIDs lists the ids starting with prefix of the sessions in the
// local directory location names (at most 1,000 read); none for a bucket.
func sessionIDs(location, prefix string) []string {
	dir, ok, err := backends.LocalDir(location)
	if !ok || err != nil {
		return nil
	}
	entries, err := readSome(dir)
	if err != nil {
		return nil
	}
	var ids []string
	for _, e := range entries {
		if e.Type()&os.ModeType != 0 {
			continue
		}
		names, ok := sessionname.ForKey(e.Name())
		if ok && strings.HasPrefix(names.ID, prefix) {
			ids = append(ids, names.ID)
		}
	}
	return ids
}
