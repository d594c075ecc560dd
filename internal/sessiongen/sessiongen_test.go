package sessiongen_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/internal/sessiongen"
	"github.com/c0fe5641/sessionrecovery/msgcount"
)

func smallShape(sessions int, seed uint64) sessiongen.Shape {
	sh := sessiongen.Default()
	sh.Sessions = sessions
	sh.MedianBytes = 4 << 10
	sh.Seed = seed
	return sh
}

// readStore returns every file of dir by name.
func readStore(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	files := make(map[string][]byte, len(ents))
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		files[e.Name()] = b
	}
	return files
}

func TestWriteIsDeterministic(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	sa, err := sessiongen.Write(a, smallShape(300, 7))
	require.NoError(t, err)
	// Another number of cores must not change a byte.
	procs := runtime.GOMAXPROCS(1)
	sb, err := sessiongen.Write(b, smallShape(300, 7))
	runtime.GOMAXPROCS(procs)
	require.NoError(t, err)
	_, err = sessiongen.Write(c, smallShape(300, 8))
	require.NoError(t, err)

	assert.Equal(t, sa, sb)
	fa, fb, fc := readStore(t, a), readStore(t, b), readStore(t, c)
	require.Equal(t, len(fa), len(fb))
	for name, data := range fa {
		require.Truef(t, bytes.Equal(data, fb[name]), "%s differs between two runs with the same seed", name)
	}
	assert.NotEqual(t, fa, fc, "another seed writes another store")
}

func TestDocumentIsDeterministic(t *testing.T) {
	d1 := sessiongen.Document(rand.New(rand.NewPCG(1, 2)), 10_000, 12)
	d2 := sessiongen.Document(rand.New(rand.NewPCG(1, 2)), 10_000, 12)
	d3 := sessiongen.Document(rand.New(rand.NewPCG(1, 3)), 10_000, 12)
	assert.Equal(t, d1, d2)
	assert.NotEqual(t, d1, d3)
}

type message struct {
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	ToolCalls []struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

type sessionDoc struct {
	SessionID string    `json:"session_id"`
	Title     string    `json:"title"`
	Model     string    `json:"model"`
	Messages  []message `json:"messages"`
}

func decode(t *testing.T, name string, data []byte) sessionDoc {
	t.Helper()
	require.Truef(t, json.Valid(data), "%s is not valid JSON", name)
	var d sessionDoc
	require.NoErrorf(t, json.Unmarshal(data, &d), "%s", name)
	require.NotNilf(t, d.Messages, "%s has no messages array", name)
	assert.Equalf(t, len(d.Messages), msgcount.CountBytes(data), "%s: msgcount disagrees", name)
	return d
}

func TestStoreHoldsValidSessions(t *testing.T) {
	dir := t.TempDir()
	stats, err := sessiongen.Write(dir, smallShape(500, 3))
	require.NoError(t, err)
	files := readStore(t, dir)

	var (
		total                 int64
		sessions, backups     int
		shrunk, messages      int
		roles                 = map[string]int{}
		toolCalls             int
		asciiEscaped, rawUTF8 bool
		indented, htmlEscaped bool
	)
	for name, data := range files {
		total += int64(len(data))
		switch {
		case strings.HasSuffix(name, ".json.bak"):
			backups++
			decode(t, name, data)
			continue
		case strings.HasSuffix(name, ".json"):
		default:
			t.Fatalf("unexpected file %s", name)
		}
		sessions++
		live := decode(t, name, data)
		assert.Equal(t, strings.TrimSuffix(name, ".json"), live.SessionID)
		messages += len(live.Messages)
		if bak, ok := files[name+".bak"]; ok {
			b := decode(t, name+".bak", bak)
			if len(live.Messages) < len(b.Messages) {
				shrunk++
			}
		}
		for _, m := range live.Messages {
			roles[m.Role]++
			for _, c := range m.ToolCalls {
				toolCalls++
				assert.Equal(t, "function", c.Type)
				var args map[string]any
				assert.NoErrorf(t, json.Unmarshal([]byte(c.Function.Arguments), &args), "%s: tool call arguments are a JSON object", name)
			}
		}
		s := string(data)
		asciiEscaped = asciiEscaped || strings.Contains(s, `\u00e9`) || strings.Contains(s, `\ud83d`)
		rawUTF8 = rawUTF8 || strings.Contains(s, "é") || strings.Contains(s, "日本語")
		indented = indented || strings.Contains(s, "\n    {")
		htmlEscaped = htmlEscaped || strings.Contains(s, `\u003c`)
	}
	assert.Equal(t, sessiongen.Stats{
		Files: len(files), Bytes: total,
		Sessions: sessions, Backups: backups, Shrunk: shrunk,
		Messages: int64(messages),
	}, stats)
	for _, role := range []string{"system", "user", "assistant", "tool"} {
		assert.Positivef(t, roles[role], "no %s message", role)
	}
	assert.Positive(t, toolCalls, "no tool calls")
	assert.True(t, asciiEscaped, `no \uXXXX escapes`)
	assert.True(t, rawUTF8, "no raw UTF-8")
	assert.True(t, indented, "no indented document")
	assert.True(t, htmlEscaped, "no HTML-escaped document")
}

func TestBackupsOfHealthySessionsHaveNoMoreMessages(t *testing.T) {
	dir := t.TempDir()
	_, err := sessiongen.Write(dir, smallShape(400, 11))
	require.NoError(t, err)
	files := readStore(t, dir)
	shrunk, healthy, stubs := 0, 0, 0
	for name, bak := range files {
		liveName, ok := strings.CutSuffix(name, ".bak")
		if !ok {
			continue
		}
		live := decode(t, liveName, files[liveName])
		b := decode(t, name, bak)
		if len(live.Messages) < len(b.Messages) {
			shrunk++
			if len(live.Messages) == 0 {
				stubs++
			}
			continue
		}
		healthy++
		// A healthy session's backup is an older version: a prefix.
		assert.LessOrEqual(t, len(b.Messages), len(live.Messages))
		for i := range b.Messages {
			assert.Equal(t, b.Messages[i], live.Messages[i])
		}
	}
	assert.Equal(t, 36, shrunk) // 30% of 30% of 400
	assert.Equal(t, 84, healthy)
	assert.Positive(t, stubs, "no metadata-only stub among the shrunk sessions")
}

func TestShapeShares(t *testing.T) {
	dir := t.TempDir()
	sh := smallShape(4000, 5)
	sh.MedianBytes = 2048
	stats, err := sessiongen.Write(dir, sh)
	require.NoError(t, err)
	assert.Equal(t, 4000, stats.Sessions)
	assert.InDelta(t, 0.30, float64(stats.Backups)/float64(stats.Sessions), 0.005)
	assert.InDelta(t, 0.30, float64(stats.Shrunk)/float64(stats.Backups), 0.005)
	assert.Equal(t, stats.Sessions+stats.Backups, stats.Files)

	// The median size of the sessions without a backup (whole documents).
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	names := map[string]bool{}
	for _, e := range ents {
		names[e.Name()] = true
	}
	var sizes []int64
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".json") && !names[e.Name()+".bak"] {
			fi, err := e.Info()
			require.NoError(t, err)
			sizes = append(sizes, fi.Size())
		}
	}
	slices.Sort(sizes)
	assert.InEpsilon(t, 2048, sizes[len(sizes)/2], 0.15, "median size")
}

func TestDefaultStoreSize(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 350 MB")
	}
	stats, err := sessiongen.Write(t.TempDir(), sessiongen.Default())
	require.NoError(t, err)
	assert.Equal(t, 13_000, stats.Files)
	assert.Equal(t, 900, stats.Shrunk)
	assert.Greater(t, stats.Bytes, int64(300e6))
	assert.Less(t, stats.Bytes, int64(400e6))
}

func TestDocument(t *testing.T) {
	for _, tc := range []struct {
		target, messages int
	}{
		{1000, 0}, {4096, 4}, {24 << 10, 27}, {24 << 10, 5}, {256 << 10, 300},
	} {
		for seed := range uint64(20) {
			doc := sessiongen.Document(rand.New(rand.NewPCG(seed, 1)), tc.target, tc.messages)
			d := decode(t, "document", doc)
			assert.Len(t, d.Messages, tc.messages)
			if tc.messages > 0 {
				assert.InEpsilonf(t, tc.target, len(doc), 0.6, "%d messages in %d bytes", tc.messages, tc.target)
			}
		}
	}
}

func TestWriteRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	_, err := sessiongen.Write(dir, smallShape(10, 1))
	require.NoError(t, err)
	_, err = sessiongen.Write(dir, smallShape(10, 1))
	require.ErrorIs(t, err, os.ErrExist)
}

func TestWriteRefusesBadShapes(t *testing.T) {
	for name, change := range map[string]func(*sessiongen.Shape){
		"negative sessions":  func(s *sessiongen.Shape) { s.Sessions = -1 },
		"backup share above": func(s *sessiongen.Shape) { s.BackupShare = 1.5 },
		"shrunk share below": func(s *sessiongen.Shape) { s.ShrunkShare = -0.1 },
		"zero median":        func(s *sessiongen.Shape) { s.MedianBytes = 0 },
		"negative sigma":     func(s *sessiongen.Shape) { s.Sigma = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			sh := smallShape(10, 1)
			change(&sh)
			_, err := sessiongen.Write(t.TempDir(), sh)
			require.Error(t, err)
		})
	}
}

func TestHugeStreams(t *testing.T) {
	const size = 48 << 20
	dir := t.TempDir()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	stats, err := sessiongen.Huge(dir, size, 1)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("Huge allocated %d bytes", allocated)
	assert.Less(t, allocated, uint64(8<<20), "Huge allocated %d bytes for two documents of %d: it must stream", allocated, size)

	live := filepath.Join(dir, sessiongen.HugeID+".json")
	fi, err := os.Stat(live)
	require.NoError(t, err)
	assert.InDelta(t, size, fi.Size(), 64<<10, "size of the live document")

	var counts []int
	for _, name := range []string{live, live + ".bak"} {
		data, err := os.ReadFile(name)
		require.NoError(t, err)
		require.Truef(t, json.Valid(data), "%s is not valid JSON", name)
		counts = append(counts, msgcount.CountBytes(data))
	}
	assert.Equal(t, stats.Messages, int64(counts[0]))
	assert.Greater(t, counts[1], counts[0], "the backup has more messages")
	assert.Equal(t, 2, stats.Files)
	assert.Equal(t, 1, stats.Shrunk)

	_, err = sessiongen.Huge(dir, size, 1)
	require.ErrorIs(t, err, os.ErrExist, "Huge does not overwrite")
	_, err = sessiongen.Huge(t.TempDir(), 100, 1)
	require.Error(t, err)
}

func TestSessionIsWhatWriteWrites(t *testing.T) {
	sh := sessiongen.Default()
	sh.Sessions = 200
	dir := t.TempDir()
	_, err := sessiongen.Write(dir, sh)
	require.NoError(t, err)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(id[:7])
		require.NoError(t, err)
		live, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		bak, err := os.ReadFile(filepath.Join(dir, e.Name()+".bak"))
		if errors.Is(err, fs.ErrNotExist) {
			bak = nil
		} else {
			require.NoError(t, err)
		}
		// Write's permutation chose the flags; one choice gives its bytes.
		match := ""
		for _, flags := range []struct {
			name              string
			hasBackup, shrunk bool
		}{{"none", false, false}, {"backup", true, false}, {"shrunk", true, true}} {
			gotID, gotLive, gotBak := sh.Session(i, flags.hasBackup, flags.shrunk)
			if gotID == id && bytes.Equal(gotLive, live) && bytes.Equal(gotBak, bak) {
				match = flags.name
			}
		}
		require.NotEmpty(t, match, "session %d (%s): Session gives other bytes than Write wrote", i, id)
		seen[match] = true
	}
	require.Len(t, seen, 3, "the store has sessions of every kind")
}
