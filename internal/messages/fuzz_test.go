package messages

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/c0fe5641/sessionrecovery/msgcount"
)

// On every document msgcount counts as a session, Each gives as many
// messages, and, where encoding/json reads the document too, the same ones
// with the same offsets.
func FuzzEachAgreesWithTheCounter(f *testing.F) {
	for _, doc := range []string{
		`{"messages":[1,2]}`, `{"messages":[]}`, `{"a":"]","messages":[{"b":["}"]}, "\"", null]}`,
		`{"messages":[1],"messages":[2,3]}`, `{"m\u0065ssages":[[],{}]}`, `{"messages":[NaN, -Infinity]}`,
		"{\"messages\" :\n[ 1 ,\t2 ]\r}", `{"v":12,"ok":true,"messages":[-0.5e+3,false],"n":null}`,
	} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		n := msgcount.CountBytes(doc)
		var got [][]byte
		l, err := Each(bytes.NewReader(doc), func() { got = nil }, func(m Message) error {
			if !bytes.Equal(m.Raw, doc[m.Offset:m.Offset+int64(len(m.Raw))]) {
				t.Fatalf("message %d: Raw %q is not the bytes at its Offset %d", m.Index, m.Raw, m.Offset)
			}
			got = append(got, m.Raw)
			return nil
		})
		if n == msgcount.NotSession {
			return // Each need not refuse every document the counter refuses
		}
		if err != nil {
			t.Fatalf("Each: %v on a session of %d messages", err, n)
		}
		if len(got) != n || l.Count != n {
			t.Fatalf("Each gave %d messages (layout %d), the counter %d", len(got), l.Count, n)
		}
		if n > 0 && (!bytes.Equal(doc[l.First:l.First+int64(len(got[0]))], got[0]) || !bytes.HasSuffix(doc[:l.End], got[n-1])) {
			t.Fatalf("layout %+v does not frame the messages", l)
		}
		var top map[string]json.RawMessage
		var msgs []json.RawMessage
		if json.Unmarshal(doc, &top) != nil || json.Unmarshal(top["messages"], &msgs) != nil {
			return // NaN, or a lone surrogate in a key
		}
		for i := range msgs {
			var want bytes.Buffer
			if err := json.Compact(&want, msgs[i]); err != nil {
				t.Fatal(err)
			}
			var have bytes.Buffer
			if err := json.Compact(&have, got[i]); err != nil {
				t.Fatalf("message %d %q: %v", i, got[i], err)
			}
			if want.String() != have.String() {
				t.Fatalf("message %d: Each %q, encoding/json %q", i, have.String(), want.String())
			}
		}
	})
}

// Every document of the project's golden and counter corpora that the
// counter counts as a session, Each reads with as many messages.
func TestEachAgreesWithTheCounterOnTheCorpora(t *testing.T) {
	n := 0
	for _, root := range []string{"../../testdata", "../../msgcount/testdata", "../../recovery/testdata"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			want := msgcount.CountBytes(b)
			if want == msgcount.NotSession {
				return nil
			}
			n++
			l, err := Each(bytes.NewReader(b), func() {}, func(Message) error { return nil })
			if err != nil || l.Count != want {
				t.Errorf("%s: Each counted %d (%v), the counter %d", path, l.Count, err, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n < 50 {
		t.Fatalf("only %d sessions in the corpora: are they where this test looks?", n)
	}
}
