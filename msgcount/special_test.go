package msgcount

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// firstSpecial is special's contract, byte by byte: the index of the first
// byte of p that a string body cannot skip over, or len(p).
func firstSpecial(p []byte) int {
	for i, b := range p {
		if b == '"' || b == '\\' || b < 0x20 || b >= 0x80 {
			return i
		}
	}
	return len(p)
}

func specialIndex(p []byte) int {
	m := special(binary.LittleEndian.Uint64(p))
	if m == 0 {
		return 8
	}
	return bits.TrailingZeros64(m) >> 3
}

func TestSpecial(t *testing.T) {
	// Every byte value at every place in an otherwise plain word, after a
	// special byte and before one.
	for i := range 8 {
		for b := range 256 {
			for _, fill := range []byte{'a', 0x20, 0x7f, 0x21, 0x23, 0x5b, 0x5d} {
				p := []byte{fill, fill, fill, fill, fill, fill, fill, fill}
				p[i] = byte(b)
				require.Equal(t, firstSpecial(p), specialIndex(p), "%q", p)
				if i < 7 {
					p[i+1] = '"'
					require.Equal(t, firstSpecial(p), specialIndex(p), "%q", p)
					p[i+1] = 0
					require.Equal(t, firstSpecial(p), specialIndex(p), "%q", p)
				}
			}
		}
	}

	rng := rand.New(rand.NewPCG(1, 2))
	p := make([]byte, 8)
	for range 200_000 {
		for i := range p {
			// Mostly bytes near the special ones.
			p[i] = []byte{0, 0x1f, 0x20, 0x21, '"', 0x23, '\\', 0x5b, 0x5d, 0x7f, 0x80, 0xff, byte(rng.Uint32())}[rng.IntN(13)]
		}
		require.Equal(t, firstSpecial(p), specialIndex(p), "%q", p)
	}
}
