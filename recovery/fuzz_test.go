package recovery_test

import (
	"context"
	"errors"
	"testing"

	"github.com/spf13/afero"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/msgcount"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
)

// FuzzInspect runs the whole single-session path on an in-memory store with
// any id and any live and backup bytes: it never panics, refuses bad ids,
// reports the counts the counter gives, recommends a restore exactly when
// the backup has more messages, and changes nothing.
func FuzzInspect(f *testing.F) {
	f.Add("chat", []byte(`{"messages":[]}`), []byte(`{"messages":[1,2]}`))
	f.Add("../x", []byte(`{}`), []byte(`{}`))
	f.Add("_index", []byte(`[]`), []byte(`{"messages":[1]}`))
	f.Add(".json", []byte(`{"messages":[NaN]}`), []byte("\xef\xbb\xbf{\"messages\":[1,2]}"))
	f.Add("a b", []byte(`{"messages":[1],"messages":{}}`), []byte(`{"messag\u0065s":[1]}`))
	f.Fuzz(func(t *testing.T, id string, live, bak []byte) {
		fsys := afero.NewMemMapFs()
		s := aferofs.New(fsys, "/")
		validID := recovery.ValidateID(id) == nil
		if validID {
			for key, body := range map[string][]byte{id + ".json": live, id + ".json.bak": bak} {
				if err := afero.WriteFile(fsys, "/"+key, body, 0o644); err != nil {
					t.Skip("the file system refuses this name")
				}
			}
		}
		st, err := recovery.Inspect(context.Background(), s, id)
		if !validID {
			if !errors.Is(err, recovery.ErrInvalidID) {
				t.Fatalf("id %q: got %v, want ErrInvalidID", id, err)
			}
			return
		}
		if err != nil || st.Err != nil {
			t.Fatalf("id %q: %v / %v", id, err, st.Err)
		}
		wantLive, wantBak := recovery.Count(msgcount.CountBytes(live)), recovery.Count(msgcount.CountBytes(bak))
		if st.LiveMessages != wantLive || st.BakMessages != wantBak {
			t.Fatalf("counts %d/%d, want %d/%d", st.LiveMessages, st.BakMessages, wantLive, wantBak)
		}
		if (st.Recommend == recovery.Restore) != (wantBak > wantLive) {
			t.Fatalf("recommend %s for live %d, backup %d", st.Recommend, wantLive, wantBak)
		}
		for key, body := range map[string][]byte{id + ".json": live, id + ".json.bak": bak} {
			got, err := afero.ReadFile(fsys, "/"+key)
			if err != nil || string(got) != string(body) {
				t.Fatalf("%q changed: %v", key, err)
			}
		}
		var _ store.Store = s
	})
}
