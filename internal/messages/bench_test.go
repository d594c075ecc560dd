package messages

import (
	"bytes"
	"fmt"
	"testing"
)

// session is a document of n messages of about 2 KB of text each, with
// the escapes and non-ASCII text chat sessions hold.
func session(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"title":"chat","created":1712345678,"messages":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",\n  ")
		}
		fmt.Fprintf(&b, `{"role":"user","content":"message %d: `, i)
		for range 40 {
			b.WriteString(`été \"quoted\" ünïcode 会话 plain words `)
		}
		fmt.Fprintf(&b, `","ts":%d,"meta":{"model":"m","tokens":[1,2,3]}}`, 1712345678+i)
	}
	b.WriteString(`],"model":"m"}`)
	return b.Bytes()
}

// BenchmarkEachAndID reads a session's messages and identifies each, as a
// preview's pass does.
func BenchmarkEachAndID(b *testing.B) {
	doc := session(500)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := Each(bytes.NewReader(doc), func() {}, func(m Message) error {
			m.ID()
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEach is the reading alone.
func BenchmarkEach(b *testing.B) {
	doc := session(500)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := Each(bytes.NewReader(doc), func() {}, func(Message) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
