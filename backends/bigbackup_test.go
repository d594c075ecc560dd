package backends_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
)

// onSecondOpen runs do before the second Open of key: what an application
// does between recovery's count and its restore.
type onSecondOpen struct {
	store.Writer
	key   string
	opens int
	do    func()
}

func (o *onSecondOpen) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if key == o.key {
		if o.opens++; o.opens == 2 {
			o.do()
		}
	}
	return o.Writer.Open(ctx, key)
}

func reviewBigDoc(c string, n int) []byte {
	msg := `"` + strings.Repeat(c, 1000) + `"`
	return []byte(`{"messages":[` + strings.TrimSuffix(strings.Repeat(msg+",", n), ",") + `]}`)
}

// Claim 3 on every backend: a backup over 1 MiB changed (same length)
// between its count and its restore is never written.
func TestBigBackupChangedIsNotWrittenOnEveryBackend(t *testing.T) {
	ctx := context.Background()
	a, b := reviewBigDoc("a", 1200), reviewBigDoc("b", 1200)
	short := []byte(`{"messages":[1]}`)
	for _, be := range everyBackend {
		t.Run(be.name, func(t *testing.T) {
			w := be.make(t, map[string][]byte{"s.json": short, "s.json.bak": a})
			s := &onSecondOpen{Writer: w, key: "s.json.bak", do: func() {
				require.NoError(t, w.Write(ctx, "s.json.bak", bytes.NewReader(b), store.WriteOptions{}))
			}}
			st, err := recovery.Recover(ctx, s, "s", recovery.Options{})
			require.NoError(t, err)
			assert.False(t, st.Restored)
			assert.ErrorIs(t, st.Err, store.ErrChanged)
			assert.True(t, bytes.Equal(short, get(t, w, "s.json")), "live left as it was")
		})
	}
}
