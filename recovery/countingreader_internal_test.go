package recovery

import (
	"io"
	"strings"
	"testing"
	"time"
)

// gatedEOF gives its bytes, then holds the Read that returns io.EOF until
// gate is closed.
type gatedEOF struct {
	r       io.Reader
	gate    chan struct{}
	waiting chan struct{}
}

func (g *gatedEOF) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err == io.EOF {
		close(g.waiting)
		<-g.gate
	}
	return n, err
}

// A store's Write may return while a reader of its own is still in Read
// (net/http's Transport may read a request body after RoundTrip returns,
// as on an early 412 to a conditional PUT). When that Read has had io.EOF
// from the pipe and is descheduled before it receives on c.count, putMerge
// runs stop, which takes the count from the one-slot channel; the Read
// then blocks on <-c.count for ever: a leaked goroutine holding the
// counter. The gate makes that interleaving deterministic (in putMerge it
// needs the Read's EOF to land between writeMerge's pw.Close and
// pr.CloseWithError; TestMergeWriteFailuresLeakNothing shows the rest of
// the error paths hold).
func TestCountingReaderLateEOFDoesNotBlock(t *testing.T) {
	const doc = `{"messages":[1,2,3]}`
	src := &gatedEOF{r: strings.NewReader(doc), gate: make(chan struct{}), waiting: make(chan struct{})}
	c := newCountingReader(src, 3)
	buf := make([]byte, len(doc))
	if n, err := c.Read(buf); n != len(doc) || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	done := make(chan error, 1)
	go func() { // the store's own reader, on after Write returned
		_, err := c.Read(buf)
		done <- err
	}()
	<-src.waiting
	c.stop() // putMerge, once Write has returned
	close(src.gate)
	select {
	case <-done:
	case <-time.After(30 * time.Second): // a watchdog, not synchronisation
		t.Fatal("a Read that meets io.EOF after stop blocks for ever on <-c.count")
	}
}

// stop twice, or a Read at io.EOF twice, must not block either.
func TestCountingReaderRepeatedEOF(t *testing.T) {
	c := newCountingReader(strings.NewReader(`{"messages":[1]}`), 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.ReadAll(c)
		if _, err := c.Read(make([]byte, 8)); err != io.EOF {
			t.Errorf("second EOF read: %v", err)
		}
		c.stop()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second): // a watchdog, not synchronisation
		t.Fatal("blocked")
	}
}
