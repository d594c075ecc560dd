package sessiongen

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// MinHugeBytes is the smallest size Huge accepts.
const MinHugeBytes = 4096

// hugeExtra is how many more messages the backup of a huge session has.
const hugeExtra = 16

// HugeID is the id of the session Huge writes.
const HugeID = "huge-session"

// HugeOwn is how many messages of its own, after those it shares with its
// backup, the live document of a huge session has: messages written after
// the backup was made, which a restore drops and a merge keeps.
const HugeOwn = 8

// Huge writes one session of about size bytes into dir, HugeID + ".json",
// and its backup, HugeID + ".json.bak", which has the same messages and a
// few more (hugeExtra), so that a recovery restores it; the live document
// ends with HugeOwn messages of its own. Both are written as they are
// generated, through small buffers: memory does not grow with size.
func Huge(dir string, size int64, seed uint64) (Stats, error) {
	if size < MinHugeBytes {
		return Stats{}, fmt.Errorf("sessiongen: huge session of %d bytes: want at least %d", size, MinHugeBytes)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Stats{}, fmt.Errorf("sessiongen: %w", err)
	}
	name := filepath.Join(dir, HugeID+".json")
	live, err := createDoc(name)
	if err != nil {
		return Stats{}, err
	}
	defer live.file.Close()
	bak, err := createDoc(name + ".bak")
	if err != nil {
		return Stats{}, err
	}
	defer bak.file.Close()

	rng := rand.New(rand.NewPCG(seed, 0x68756765))
	s := newSession(rng, []byte(HugeID))
	live.d.f, bak.d.f = s.f, s.f
	live.d.begin(s.head(s.created + 86400))
	bak.d.begin(s.head(s.created + 3600))
	// Stop when the closing members would bring the live document to size.
	end := size - int64(len(s.tail)) - 4
	for live.d.len < end && live.d.err == nil && bak.d.err == nil {
		m := s.message(2048, false)
		live.d.add(m)
		bak.d.add(m)
	}
	for range hugeExtra {
		bak.d.add(s.message(2048, false))
	}
	for range HugeOwn {
		live.d.add(s.message(2048, false))
	}
	messages := live.d.n
	live.d.end(s.tail)
	bak.d.end(s.tail)
	if err := live.close(); err != nil {
		return Stats{}, err
	}
	if err := bak.close(); err != nil {
		return Stats{}, err
	}
	return Stats{
		Files: 2, Bytes: live.d.len + bak.d.len,
		Sessions: 1, Backups: 1, Shrunk: 1,
		Messages: int64(messages),
	}, nil
}

// streamedDoc is a document written to a file as it is generated.
type streamedDoc struct {
	file *os.File
	buf  *bufio.Writer
	d    docWriter
}

func createDoc(name string) (*streamedDoc, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sessiongen: %w", err)
	}
	buf := bufio.NewWriterSize(f, 1<<20)
	return &streamedDoc{file: f, buf: buf, d: docWriter{w: buf}}, nil
}

func (s *streamedDoc) close() error {
	err := s.d.err
	if err == nil {
		err = s.buf.Flush()
	}
	if cerr := s.file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sessiongen: write %s: %w", s.file.Name(), err)
	}
	return nil
}
