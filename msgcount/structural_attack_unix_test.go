//go:build unix

package msgcount_test

import (
	"runtime/debug"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/msgcount"
)

// guarded returns n bytes right before (atEnd) or right after a page the
// process may not read, so that CountBytes reading past either end of its
// argument faults.
func guarded(t *testing.T, n int, atEnd bool) []byte {
	t.Helper()
	page := syscall.Getpagesize()
	size := (n + page - 1) / page * page
	mem, err := syscall.Mmap(-1, 0, size+2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Munmap(mem) })
	require.NoError(t, syscall.Mprotect(mem[:page], syscall.PROT_NONE))
	require.NoError(t, syscall.Mprotect(mem[page+size:], syscall.PROT_NONE))
	if atEnd {
		return mem[page+size-n : page+size : page+size]
	}
	return mem[page : page+n : page+n]
}

// Holds: CountBytes reads nothing before or after its argument, whatever
// its length, and leaves garbage after len (within cap) alone.
func TestAttackCountBytesBounds(t *testing.T) {
	if !msgcount.Structural {
		t.Skip()
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	for _, n := range []int{0, 1, 2, 15, 16, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 4095, 4096, 4097,
		msgcount.BufSize - 1, msgcount.BufSize, msgcount.BufSize + 1, msgcount.BufSize + 64, 3*msgcount.BufSize + 17} {
		for _, atEnd := range []bool{true, false} {
			b := guarded(t, n, atEnd)
			src := []byte(`{"messages":[1,"\u00e9` + "\xc3\xa9")
			for i := range b {
				b[i] = ' '
			}
			copy(b, src)
			if n >= 4 {
				copy(b[n-4:], "\"]}\xc3")
			}
			sameAsOracle(t, b, "guarded")
			if n >= 3 {
				copy(b[n-3:], "]}\xc3")
				sameAsOracle(t, b, "guarded")
			}
		}
	}
	// Garbage within cap: a valid document followed by what would make it
	// invalid, and an invalid one followed by what would end it.
	for _, n := range []int{15, 63, 64, 65, msgcount.BufSize, msgcount.BufSize + 1} {
		doc := make([]byte, n, n+200)
		for i := range doc {
			doc[i] = ' '
		}
		copy(doc, `{"messages":[]}`)
		garbage := doc[n : n+200]
		for i := range garbage {
			garbage[i] = "\xff\"\\,]}"[i%6]
		}
		require.Equal(t, 0, msgcount.CountBytes(doc))
		copy(doc[n-1:], `"`)
		require.Equal(t, msgcount.CountBytesByte(doc), msgcount.CountBytes(doc))
	}
}
