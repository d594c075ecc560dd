//go:build !purego

package msgcount

import "golang.org/x/sys/cpu"

// Stage 1 reads the document 64 bytes (a chunk) at a time, with AVX2, and
// gives stage 2 one bitmask per chunk: bit i is set when byte i of the chunk
// is a quote that opens or closes a string, one of {}[]:, outside strings
// (or 0x0C or 0x1A, which look like them to the classifier and which stage
// 2 refuses), or the first byte of a run of other bytes outside strings (a
// number or a word: stage 2 reads the run). Whitespace and string bodies
// are never looked at again.
//
// Along the way it finds, without a branch per byte, which quotes are
// escaped (the byte after a run of backslashes of odd length), which bytes
// are in strings (a carry-less multiplication of the quotes by all ones),
// and it checks what the structure cannot: no control byte in a string,
// only "\/bfnrtu after a backslash and four hex digits after \u, and the
// whole document valid UTF-8 (the lookup method of Keiser and Lemire, 2020:
// three table lookups judge each byte by the bytes before it). It reports
// bad when any of these fail, anywhere in the chunks given; any of them
// makes the document NotSession, wherever it is.
//
// What one chunk leaves to the next is in stage1State, so a document may
// be given in any number of calls, a chunk at least at a time.

// stage1State carries stage 1 from one chunk to the next; stage1_amd64.s
// knows its layout, and is all that reads and writes its fields.
//
//lint:ignore U1000 the fields are stage1_amd64.s's
type stage1State struct {
	inString uint64   // all ones when the last chunk ended inside a string
	escaped  uint64   // 1 when the next chunk's first byte is escaped
	scalar   uint64   // 1 when the last chunk ended inside a number or word
	uEscapes uint64   // the \u escapes of the last chunk
	prev     [32]byte // the last chunk's last 32 bytes
}

// stage1 classifies chunks chunks of 64 bytes from p, writing one mask for
// each to out, and reports whether it found the document invalid.
//
//go:noescape
func stage1(p *byte, chunks int, st *stage1State, out *uint64) (bad bool)

// haveStage1 reports whether this CPU can run stage1.
var haveStage1 = cpu.X86.HasAVX2 && cpu.X86.HasBMI1 && cpu.X86.HasPCLMULQDQ
