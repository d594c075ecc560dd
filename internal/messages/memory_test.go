package messages

import (
	"io"
	"runtime"
	"testing"
)

// nested reads as {"x":[[[…]]],"messages":[1]}, depth levels deep, without
// holding the document.
type nested struct {
	depth, i int
}

func (g *nested) Read(p []byte) (int, error) {
	const pre, post = `{"x":`, `,"messages":[1]}`
	total := len(pre) + 2*g.depth + len(post)
	n := 0
	for ; n < len(p) && g.i < total; n, g.i = n+1, g.i+1 {
		switch i := g.i; {
		case i < len(pre):
			p[n] = pre[i]
		case i < len(pre)+g.depth:
			p[n] = '['
		case i < len(pre)+2*g.depth:
			p[n] = ']'
		default:
			p[n] = post[i-len(pre)-2*g.depth]
		}
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// Skipping a value beside "messages" must not take memory that grows with
// the document: msgcount counts a deeply nested document (one bit a
// level), so the preview reads it, and encoding/json's Token keeps a
// word a level (plus the growth of that stack). Here a 10 MB document
// takes hundreds of MB. Refusing it (a depth limit in skipRest, as Decode
// has for a message) would pass too.
func TestEachSkipsDeepValuesInBoundedMemory(t *testing.T) {
	const depth = 5_000_000 // a 10 MB document
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Each(&nested{depth: depth}, func() {}, func(Message) error { return nil })
	runtime.ReadMemStats(&after)
	if err != nil {
		return // refused: bounded
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Errorf("skipping a value %d levels deep (a %d MB document) allocated %d MB", depth, 2*depth>>20, alloc>>20)
	}
}
