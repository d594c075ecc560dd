//go:build unix

package main

import (
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends"
	"github.com/c0fe5641/sessionrecovery/internal/testserver"
)

// readmeCommand is one sessionrecovery command line found in the README.
type readmeCommand struct {
	line  int      // in the README
	text  string   // as written, less any comment
	args  []string // after "sessionrecovery"
	block int      // the code block it is in, counted from 0
}

// commandInText finds where a command starts: the program's name (alone,
// or at the end of a path), then a subcommand.
var commandInText = regexp.MustCompile(`(?:^|[\s/<(])sessionrecovery ((?:scan|recover|inspect|prune|undo|completion|version|help)\b)`)

// readmeCommands lists the commands of the README's sh, ini and yaml code
// blocks: the ones a reader copies. (An untyped block is the synopsis or a
// sample of output, which TestReadmeSampleOutput runs.)
func readmeCommands(t *testing.T) []readmeCommand {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	var out []readmeCommand
	inBlock, runnable, block := false, false, -1
	for i, line := range strings.Split(string(readme), "\n") {
		if fence, ok := strings.CutPrefix(line, "```"); ok {
			inBlock = !inBlock
			if inBlock {
				block++
				runnable = fence == "sh" || fence == "ini" || fence == "yaml"
			}
			continue
		}
		if !inBlock || !runnable {
			continue
		}
		for _, m := range commandInText.FindAllStringSubmatchIndex(line, -1) {
			args, n, err := shellWords(line[m[2]:])
			require.NoError(t, err, "README line %d: %s", i+1, line)
			text := strings.TrimSpace(line[m[2] : m[2]+n])
			out = append(out, readmeCommand{line: i + 1, text: text, args: args, block: block})
		}
	}
	return out
}

// shellWords splits a command line as a POSIX shell would, for the
// quoting the README uses: words apart by blanks, single quotes kept
// literally. The command ends where the shell would end it: at a comment,
// a ';', a '&', a '|', a ')', a redirection ('>': the test reads stdout
// itself) or the end of s; n is how much of s it took.
func shellWords(s string) (words []string, n int, err error) {
	var w strings.Builder
	inWord, quoted := false, false
	end := len(s)
scan:
	for i, r := range s {
		switch {
		case quoted && r == '\'':
			quoted = false
		case quoted:
			w.WriteRune(r)
		case r == '\'':
			quoted, inWord = true, true
		case strings.ContainsRune(";&|)>", r), r == '#' && !inWord:
			end = i
			break scan
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		return nil, 0, fmt.Errorf("unclosed quote in %q", s)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, end, nil
}

// Tried as a new user would: every command the README gives to copy runs
// as shown and exits 0, with its location the shipped sample store (a
// copy: a directory, or a test server's bucket under the README's prefix=
// for a bucket URL, which must also open as written; a URL that names its
// own endpoint= is run with all its parameters, on the test server). The commands of a
// code block run in order on one store; an undo runs after a recover, as
// the README says it must.
func TestReadmeCommandsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and starts the test servers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := buildCLI(ctx, t)
	commands := readmeCommands(t)

	sample := os.DirFS("../../examples/sessions")
	servers := map[string]func(testing.TB) *testserver.Server{
		"s3": testserver.S3, "gs": testserver.GCS, "azblob": testserver.Azure,
	}
	ran := map[string]int{}
	stores := map[int]string{} // a block's local store, which outlives each command's subtest
	outer := t
	for _, c := range commands {
		t.Run(c.args[0], func(t *testing.T) {
			t.Logf("README line %d: sessionrecovery %s", c.line, c.text)
			if c.args[0] == "completion" {
				runCompletionAsShown(t, bin, c)
				ran[c.args[0]]++
				return
			}
			args := append([]string(nil), c.args...)
			loc := args[len(args)-1]
			if scheme, _, isURL := strings.Cut(loc, "://"); isURL {
				start, ok := servers[scheme]
				require.True(t, ok, "no test server for %s", loc)
				srv := start(t)
				for k, v := range srv.Env {
					t.Setenv(k, v)
				}
				_, closeFn, err := backends.Open(ctx, loc)
				require.NoError(t, err, "the README's location opens as written")
				require.NoError(t, closeFn())
				u, err := url.Parse(loc)
				require.NoError(t, err)
				prefix := u.Query().Get("prefix")
				testserver.Fill(t, srv.Bucket, prefixed(t, sample, prefix))
				args[len(args)-1] = srv.URL
				if u.Query().Has("prefix") {
					args[len(args)-1] = withPrefix(srv.URL, prefix) // prefix= as written, even empty
				}
				if u.Query().Has("endpoint") {
					// A location for a server of one's own: every parameter
					// as written, but the test server's bucket and address.
					su, err := url.Parse(srv.URL)
					require.NoError(t, err)
					q := u.Query()
					q.Set("endpoint", su.Query().Get("endpoint"))
					u.Host, u.RawQuery = su.Host, q.Encode()
					args[len(args)-1] = u.String()
				}
			} else {
				dir, ok := stores[c.block]
				if !ok {
					dir = sampleCopy(outer)
					stores[c.block] = dir
				}
				if args[0] == "undo" && ran["undo"] == 0 && ran["recover@"+dir] == 0 {
					code, out, errOut := runCLIProcess(ctx, bin, "recover", dir)
					require.Equal(t, exitOK, code, "the recover an undo takes back:\n%s%s", out, errOut)
					ran["recover@"+dir]++
				}
				args[len(args)-1] = dir
			}
			// In a directory of its own: files the command names (a
			// --resume journal) are made there, as in the user's.
			code, out, errOut := runCLIProcessIn(ctx, t.TempDir(), bin, args...)
			assert.Equal(t, exitOK, code, "sessionrecovery %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), out, errOut)
			assert.NotEmpty(t, out, "it reports")
			ran[c.args[0]]++
		})
	}
	for _, sub := range []string{"scan", "recover", "prune", "undo", "completion"} {
		assert.Positive(t, ran[sub], "the README shows a %s command to run", sub)
	}
}

// prefixed is every file of fsys, as objects under prefix.
func prefixed(t *testing.T, fsys fs.FS, prefix string) map[string][]byte {
	t.Helper()
	objects := map[string][]byte{}
	require.NoError(t, fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		objects[path.Join(prefix, p)] = b
		return err
	}))
	return objects
}

// runCompletionAsShown runs the README's completion line in bash, the
// command found on PATH as an installed one would be, and checks that
// bash then completes sessionrecovery.
func runCompletionAsShown(t *testing.T, bin string, c readmeCommand) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash here")
	}
	require.Equal(t, []string{"completion", "bash"}, c.args, "the README's completion line is for bash")
	script := "set -e; source <(sessionrecovery " + c.text + "); complete -p sessionrecovery"
	cmd := exec.Command(bash, "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "sessionrecovery", "bash completes the command: %s", out)
}

// The README's way to build SeaweedFS for the tests builds the version
// .ci/run builds and tests against.
func TestReadmeBuildsCIsSeaweedFS(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	ci, err := os.ReadFile("../../.ci/run")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^seaweedfs_version=(\S+)$`).FindSubmatch(ci)
	require.NotNil(t, m, ".ci/run names the SeaweedFS version it builds")
	assert.Contains(t, string(readme), "github.com/seaweedfs/seaweedfs/weed@"+string(m[1]))
	assert.Contains(t, string(ci), "github.com/tyler-smith/go-bip39 => github.com/cosmos/go-bip39 v1.0.0")
	assert.Contains(t, string(readme), "-replace github.com/tyler-smith/go-bip39=github.com/cosmos/go-bip39@v1.0.0", "the same replacement as .ci/run")
}
