package msgcount

import "io"

// BufSize is the size of a Counter's read buffer, for tests that place
// tokens across its end.
const BufSize = bufSize

// Structural reports whether Count and CountBytes use the structural
// counter here.
var Structural = useStructural

// CountBytesByte is CountBytes by the byte-at-a-time counter, the oracle.
func CountBytesByte(b []byte) int {
	var c Counter
	return c.countBytes(b, false)
}

// CountByte is Count by the byte-at-a-time counter.
func CountByte(r io.Reader) (int, error) {
	var c Counter
	return c.count(r, false)
}

// CountBytesByte is CountBytes by the byte-at-a-time counter, reusing c.
func (c *Counter) CountBytesByte(b []byte) int { return c.countBytes(b, false) }
