package main

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goldenDetail is one session of a report, as both the Python module and
// this command write it. Error messages differ between the two; whether
// there was one must not.
type goldenDetail struct {
	SessionID    string `json:"session_id"`
	LiveMessages int    `json:"live_messages"`
	BakMessages  int    `json:"bak_messages"`
	Recommend    string `json:"recommend"`
	Restored     bool   `json:"restored"`
	Error        string `json:"error"`
}

type goldenReport struct {
	Scanned  int            `json:"scanned"`
	Restored int            `json:"restored"`
	Details  []goldenDetail `json:"details"`
}

func (r *goldenReport) normalise() {
	for i := range r.Details {
		if r.Details[i].Error != "" {
			r.Details[i].Error = "an error"
		}
	}
	slices.SortFunc(r.Details, func(a, b goldenDetail) int {
		return cmp.Or(strings.Compare(a.SessionID, b.SessionID), cmp.Compare(a.LiveMessages, b.LiveMessages), cmp.Compare(a.BakMessages, b.BakMessages))
	})
}

// TestMatchesReference runs `recover --json --count-all` on every golden
// store and checks that it answers what the Python module answered, and
// leaves the same live and backup bytes; the only extra files are the
// preserved copies of what it replaced.
func TestMatchesReference(t *testing.T) {
	stores, err := filepath.Glob("../../testdata/golden/stores/*")
	require.NoError(t, err)
	require.NotEmpty(t, stores)
	for _, golden := range stores {
		t.Run(filepath.Base(golden), func(t *testing.T) {
			var expected struct {
				Report goldenReport      `json:"report"`
				After  map[string]string `json:"after"`
			}
			raw, err := os.ReadFile(filepath.Join(golden, "expected.json"))
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(raw, &expected))

			dir := t.TempDir()
			require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join(golden, "input"))))
			before := snapshot(t, dir)

			code, out, errOut := cli(t, "recover", "--json", "--count-all", dir)
			wantCode := exitOK
			for _, d := range expected.Report.Details {
				if d.Error != "" {
					wantCode = exitErrors
				}
			}
			assert.Equal(t, wantCode, code, errOut)

			var got goldenReport
			require.NoError(t, json.Unmarshal([]byte(out), &got), out)
			got.normalise()
			expected.Report.normalise()
			assert.Equal(t, expected.Report, got)

			after := map[string]string{}
			for name, body := range snapshot(t, dir) {
				if _, existed := before[name]; !existed && isPreservedCopy(name) {
					live := name[:strings.Index(name, ".replaced")]
					assert.Equal(t, before[live], body, "%s holds the bytes %s had before the restore", name, live)
					continue
				}
				sum := sha256.Sum256([]byte(body))
				after[name] = hex.EncodeToString(sum[:])
			}
			assert.Equal(t, expected.After, after)
		})
	}
}

func isPreservedCopy(name string) bool {
	return strings.HasSuffix(name, ".replaced") || strings.Contains(name, ".replaced.")
}
