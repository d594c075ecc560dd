package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// versionLine says which build this is, from what the Go tool recorded in
// the binary: "sessionrecovery v1.2.0 (go1.26.8 linux/amd64)" for a
// release installed with go install …@v1.2.0, "sessionrecovery (devel)
// (go1.26.8 linux/amd64, commit 0123abcd 2026-12-02T10:00:00Z, modified)"
// for a build from a clone.
func versionLine() string {
	version, extra := "(unknown)", []string{runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		var rev, at, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = "modified"
				}
			}
		}
		if rev != "" {
			extra = append(extra, strings.TrimSpace(fmt.Sprintf("commit %.12s %s", rev, at)))
		}
		if modified != "" {
			extra = append(extra, modified)
		}
	}
	return fmt.Sprintf("sessionrecovery %s (%s)", version, strings.Join(extra, ", "))
}

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the build's version (also --version)",
		Args:  cobra.NoArgs,
		Run:   func(*cobra.Command, []string) { fmt.Fprintln(e.stdout, versionLine()) },
	}
}
