package backends_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
)

// Once a bug: a live document that is not a session is counted -1 as soon as
// the counter knows it, often before the end of the document: after the
// first 64 KiB chunk of a file, after the first few hundred bytes of an
// HTTP body. The "counted" size and CRC-32C are then those of that prefix,
// so every copy of the live document that must match them (the kept copy,
// on every store where no hard link is made) fails "more than the N bytes
// counted", and the session is never restored, on any run. A crash that
// leaves a big session zero-filled, or a bug that writes garbage, is the
// case recovery exists for.
func TestNonSessionLiveIsRestored(t *testing.T) {
	backup := []byte(`{"messages":[1,2,3]}`)
	for name, live := range map[string][]byte{
		"ZeroFilled200KiB": bytes.Repeat([]byte{0}, 200<<10),
		"Garbage4KiB":      append([]byte("<html>"), bytes.Repeat([]byte("x"), 4<<10)...),
	} {
		t.Run(name, func(t *testing.T) {
			for _, b := range everyBackend {
				t.Run(b.name, func(t *testing.T) {
					s := b.make(t, map[string][]byte{"s.json": live, "s.json.bak": backup})
					st, err := recovery.Recover(context.Background(), s, "s", recovery.Options{})
					require.NoError(t, err)
					assert.Equal(t, recovery.Count(-1), st.LiveMessages)
					assert.NoError(t, st.Err)
					assert.True(t, st.Restored, "a live document that is not a session is restored from its backup")
					assert.True(t, bytes.Equal(backup, get(t, s, "s.json")), "live holds the backup")
				})
			}
		})
	}
}

func get(t *testing.T, s store.Store, key string) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), key)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}
