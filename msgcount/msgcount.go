// Package msgcount validates a JSON document in one streaming pass and counts
// the elements of its top-level "messages" array: the number of messages in a
// chat session.
//
// The answer is exactly what CPython 3.11's json.loads gives for the bytes
// decoded as strict UTF-8: a document is a session when it is valid JSON in
// that dialect (which also accepts NaN, Infinity and -Infinity, refuses a
// byte order mark, and refuses integer literals of more than 4300 digits),
// its top-level value is an object, and the value of its last "messages" key
// (compared after unescaping) is an array. Anything else is NotSession. The
// one deliberate difference is that nesting depth is unlimited, where Python
// gives up at about 1000 levels.
//
// Memory does not grow with the size of the document: reading goes through
// a fixed buffer, and the only thing that grows is the nesting stack, at one
// bit per level. Nothing recurses.
//
// There are two counters with the same answers. On amd64 CPUs with AVX2,
// Count and CountBytes use a structural counter: stage 1, in assembly,
// classifies 64 bytes at a time into a mask of the positions that matter
// and validates strings, escapes and UTF-8 by blocks; stage 2 walks only
// those positions. Everywhere else, and when built with the purego tag,
// they read a byte at a time; that counter is also the oracle the
// structural one is fuzzed against (FuzzStructural).
package msgcount

import (
	"encoding/binary"
	"io"
	"math/bits"
	"sync"
)

// NotSession is the count of a document that is not a session: invalid
// JSON, a top-level value that is not an object, or an object whose
// "messages" member is missing or is not an array.
const NotSession = -1

// bufSize is the size of a Counter's read buffer.
const bufSize = 64 << 10

// chunkSize is how many bytes the structural counter's stage 1 classifies
// at a time.
const chunkSize = 64

// maxPooledStack is the largest nesting stack, in words, that Count keeps in
// its pool; one very deep document should not pin its stack for ever.
const maxPooledStack = 1 << 10

// maxEmptyReads is how many successive (0, nil) reads are taken as a reader
// that will never make progress, as bufio does.
const maxEmptyReads = 100

// maxIntDigits is CPython's default int_max_str_digits: json.loads refuses
// an integer literal with more digits than this (the sign not counted).
const maxIntDigits = 4300

var pool = sync.Pool{New: func() any { return new(Counter) }}

// Count reads the document from r and returns the number of elements of its
// top-level "messages" array, or NotSession.
//
// Count stops reading soon after the answer is known to be NotSession, so r
// may be left unread past that point: when the first byte other than
// whitespace is not '{', at once; at a later syntax error, at once when
// reading a byte at a time, and at the end of the 64-byte chunk holding it
// with the structural counter (which reads, and waits for, whole chunks
// before it judges them). Otherwise it reads r until io.EOF. So when r fails
// or stalls within a chunk of a syntax error, whether err is reported can
// differ between the two counters; the count cannot.
//
// err is non-nil only when reading r fails (any error from r other than
// io.EOF, including io.ErrUnexpectedEOF), in which case the count must not
// be used.
func Count(r io.Reader) (int, error) {
	c := pool.Get().(*Counter)
	defer putCounter(c)
	return c.Count(r)
}

// CountBytes is Count over a document held in memory; it never fails. b is
// neither modified nor retained.
func CountBytes(b []byte) int {
	c := pool.Get().(*Counter)
	defer putCounter(c)
	return c.CountBytes(b)
}

func putCounter(c *Counter) {
	if len(c.stack) > maxPooledStack {
		c.stack = nil
	}
	pool.Put(c)
}

// Counter counts the messages of many documents one after another, reusing
// its read buffer and nesting stack so that counting allocates nothing once
// they are grown. The zero value is ready to use. A Counter is not safe for
// concurrent use.
type Counter struct {
	own   []byte    // the read buffer, allocated on first use of Count
	buf   []byte    // the bytes being parsed: own, or CountBytes's argument
	pos   int       // next unparsed byte in buf
	end   int       // end of the valid bytes in buf
	r     io.Reader // the document being read; nil in CountBytes
	eof   bool      // no more bytes will come: r said io.EOF, or there is no r
	err   error     // the read error that ended the document, if any
	stack []uint64  // bit i set: nesting level i is an object, not an array

	st structuralState // the structural counter's, where there is one
}

// parse counts the document by the structural counter when structural is
// set (and there is one here), else a byte at a time.
func (c *Counter) parse(structural bool) int {
	if structural {
		return c.runStructural()
	}
	return c.run()
}

// Count is the package-level Count using c's buffers. c keeps no reference
// to r after it returns.
func (c *Counter) Count(r io.Reader) (int, error) {
	return c.count(r, useStructural)
}

// count is Count, by the structural counter when structural is set.
func (c *Counter) count(r io.Reader, structural bool) (int, error) {
	if c.own == nil {
		// Room after the read buffer for the padding of the last chunk.
		c.own = make([]byte, bufSize+chunkSize)
	}
	c.buf, c.pos, c.end, c.r, c.eof, c.err = c.own[:bufSize], 0, 0, r, false, nil
	n := c.parse(structural)
	err := c.err
	c.r, c.err = nil, nil
	if err != nil {
		return NotSession, err
	}
	return n, nil
}

// CountBytes is the package-level CountBytes using c's nesting stack. b is
// neither modified nor retained.
func (c *Counter) CountBytes(b []byte) int {
	return c.countBytes(b, useStructural)
}

// countBytes is CountBytes, by the structural counter when structural is
// set.
func (c *Counter) countBytes(b []byte, structural bool) int {
	// With eof set, fill never runs, so b is parsed in place and never written.
	c.buf, c.pos, c.end, c.r, c.eof, c.err = b, 0, len(b), nil, true, nil
	n := c.parse(structural)
	c.buf = nil
	return n
}

// fill keeps the unparsed bytes buf[pos:end], moving them to the front of
// the buffer, and reads after them. It reports whether at least one byte was
// added; when it was not, either eof or err is set.
//
// Callers keep at most a few bytes unparsed (a partial escape, literal or
// UTF-8 sequence), so there is always room to read into.
func (c *Counter) fill() bool {
	if c.eof || c.err != nil {
		return false
	}
	n := copy(c.buf, c.buf[c.pos:c.end])
	c.pos, c.end = 0, n
	for empty := 0; ; {
		m, err := c.r.Read(c.buf[c.end:])
		if m < 0 || m > len(c.buf)-c.end {
			c.err = errBadRead
			return false
		}
		c.end += m
		switch {
		case err == io.EOF:
			c.eof = true
			return m > 0
		case err != nil:
			c.err = err
			return false
		case m > 0:
			return true
		}
		if empty++; empty >= maxEmptyReads {
			c.err = io.ErrNoProgress
			return false
		}
	}
}

// ensure makes at least n unparsed bytes available at buf[pos:], reporting
// false when the document (or the reader) ends first.
func (c *Counter) ensure(n int) bool {
	for c.end-c.pos < n {
		if !c.fill() {
			return false
		}
	}
	return true
}

// errBadRead reports a reader returning an impossible byte count.
var errBadRead = badReadError{}

type badReadError struct{}

func (badReadError) Error() string { return "msgcount: reader returned an invalid count" }

// Parser states: what the next token may be.
const (
	stValue    = iota // a value
	stObjFirst        // just after '{': a key or '}'
	stArrFirst        // just after '[': a value or ']'
	stKey             // just after ',' in an object: a key
	stColon           // just after a key: ':'
	stAfter           // just after a value: ',' or the closing bracket, or the end
)

// object skips the whitespace before the document's first token and
// reports whether that token opens an object, leaving pos at its '{'. A
// document that is not an object is answered without reading further.
func (c *Counter) object() bool {
	for {
		if c.pos == c.end {
			if !c.fill() {
				return false
			}
			continue
		}
		if b := c.buf[c.pos]; !isSpace[b] {
			return b == '{'
		}
		c.pos++
	}
}

// run parses the document in buf[pos:end] and what fill brings after it, a
// byte at a time, and returns its count. It is the counter on every
// platform without the structural one, and the oracle the structural one is
// tested against.
func (c *Counter) run() int {
	if !c.object() {
		return NotSession
	}
	buf, pos, end := c.buf, c.pos, c.end

	var (
		result   = NotSession // the count as of the last top-level "messages" key
		isMsgKey bool         // the top-level key just read is "messages"
		inMsgs   bool         // inside the array of the latest top-level "messages"
		count    int          // elements of that array so far
		depth    int          // open containers
		inObj    bool         // the innermost open container is an object
		st       = stValue
	)
	for {
		// Skip whitespace before the next token.
		if pos == end {
			c.pos = pos
			if !c.fill() {
				if depth == 0 && st == stAfter && c.err == nil {
					return result
				}
				return NotSession
			}
			pos, end = c.pos, c.end
			continue
		}
		b := buf[pos]
		if isSpace[b] {
			// Indentation comes in runs.
			for pos++; pos < end && isSpace[buf[pos]]; pos++ {
			}
			continue
		}

		if b == '}' || b == ']' {
			// A container closes after a value, or right after it opens
			// (stObjFirst implies inObj, and stArrFirst implies !inObj).
			closer := byte(']')
			if inObj {
				closer = '}'
			}
			if b != closer || depth == 0 || st != stAfter && st != stObjFirst && st != stArrFirst {
				return NotSession
			}
			pos++
			depth--
			if depth > 0 {
				inObj = c.stack[(depth-1)>>6]>>((depth-1)&63)&1 != 0
			}
			if depth == 1 && inMsgs {
				result, inMsgs = count, false
			}
			st = stAfter
			continue
		}

		switch st {
		case stAfter:
			if b != ',' || depth == 0 {
				return NotSession
			}
			pos++
			if inObj {
				st = stKey
			} else {
				st = stValue
			}
			continue

		case stColon:
			if b != ':' {
				return NotSession
			}
			pos++
			st = stValue
			continue

		case stObjFirst, stKey:
			if b != '"' {
				return NotSession
			}
			c.pos = pos + 1
			var ok bool
			if depth == 1 {
				isMsgKey, ok = c.scanKey()
			} else {
				ok = c.skipString()
			}
			if !ok {
				return NotSession
			}
			pos, end = c.pos, c.end
			st = stColon
			continue
		}

		// A value starts at b.
		if inMsgs && depth == 2 {
			count++
		}
		if depth == 1 && isMsgKey {
			// The latest "messages" wins, whatever came before.
			if b == '[' {
				inMsgs, count = true, 0
			} else {
				result = NotSession
			}
		}
		switch b {
		case '{', '[':
			pos++
			if depth>>6 == len(c.stack) {
				c.stack = append(c.stack, 0)
			}
			inObj = b == '{'
			if inObj {
				c.stack[depth>>6] |= 1 << (depth & 63)
				st = stObjFirst
			} else {
				c.stack[depth>>6] &^= 1 << (depth & 63)
				st = stArrFirst
			}
			depth++
			continue
		case '"':
			c.pos = pos + 1
			if !c.skipString() {
				return NotSession
			}
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			c.pos = pos
			if !c.skipNumber() {
				return NotSession
			}
		case 't', 'f', 'n', 'N', 'I':
			c.pos = pos
			if !c.literal(literals[b]) {
				return NotSession
			}
		default:
			return NotSession
		}
		pos, end = c.pos, c.end
		st = stAfter
	}
}

// literals are the words a value can be, by first letter: Python reads NaN
// and Infinity too.
var literals = [256]string{'t': "true", 'f': "false", 'n': "null", 'N': "NaN", 'I': "Infinity"}

// literal consumes lit, which must come next.
func (c *Counter) literal(lit string) bool {
	if !c.ensure(len(lit)) || string(c.buf[c.pos:c.pos+len(lit)]) != lit {
		return false
	}
	c.pos += len(lit)
	return true
}

// Number states, named by what has been read so far.
const (
	nStart = iota // nothing
	nSign         // '-'
	nZero         // the integer part "0"
	nInt          // an integer part not starting with 0
	nDot          // '.'
	nFrac         // fraction digits
	nE            // 'e' or 'E'
	nESign        // the exponent's sign
	nExp          // exponent digits
)

// skipNumber consumes a number (or -Infinity) starting at pos and stops at
// the first byte that cannot continue it, leaving that byte to the caller.
func (c *Counter) skipNumber() bool {
	if c.buf[c.pos] == '-' {
		if !c.ensure(2) {
			return false
		}
		if c.buf[c.pos+1] == 'I' {
			return c.literal("-Infinity")
		}
	}

	buf, pos, end := c.buf, c.pos, c.end
	st := nStart
	digits := 0 // of the integer part, for the int size limit
	for {
		if pos == end {
			c.pos = pos
			if !c.fill() {
				if c.err != nil {
					return false
				}
				break
			}
			pos, end = c.pos, c.end
		}
		b := buf[pos]
		isDigit := b >= '0' && b <= '9'
		switch st {
		case nStart:
			switch {
			case b == '-':
				st = nSign
			case b == '0':
				st, digits = nZero, 1
			default: // the caller saw '-' or a digit
				st, digits = nInt, 1
			}
			pos++
			continue
		case nSign:
			if !isDigit {
				return false
			}
			st, digits = nInt, 1
			if b == '0' {
				st = nZero
			}
			pos++
			continue
		case nInt:
			start := pos
			for pos < end && buf[pos] >= '0' && buf[pos] <= '9' {
				pos++
			}
			digits += pos - start
			if pos == end {
				continue
			}
			b = buf[pos]
			fallthrough
		case nZero:
			switch b {
			case '.':
				st = nDot
			case 'e', 'E':
				st = nE
			default:
				c.pos = pos
				return digits <= maxIntDigits
			}
			pos++
			continue
		case nDot:
			if !isDigit {
				return false
			}
			st = nFrac
			pos++
			continue
		case nFrac:
			for pos < end && buf[pos] >= '0' && buf[pos] <= '9' {
				pos++
			}
			if pos == end {
				continue
			}
			if b = buf[pos]; b == 'e' || b == 'E' {
				st = nE
				pos++
				continue
			}
			c.pos = pos
			return true
		case nE:
			if b == '+' || b == '-' {
				st = nESign
				pos++
				continue
			}
			fallthrough
		case nESign:
			if !isDigit {
				return false
			}
			st = nExp
			pos++
			continue
		case nExp:
			for pos < end && buf[pos] >= '0' && buf[pos] <= '9' {
				pos++
			}
			if pos == end {
				continue
			}
			c.pos = pos
			return true
		}
	}

	// The document ended inside the number.
	c.pos = pos
	switch st {
	case nZero, nInt:
		return digits <= maxIntDigits
	case nFrac, nExp:
		return true
	}
	return false
}

// SWAR constants: a byte repeated in every byte of a word.
const (
	ones   = 0x0101010101010101
	highs  = 0x8080808080808080
	quotes = '"' * ones
	bslash = '\\' * ones
	spaces = ' ' * ones
)

// special has the high bit set in the byte of w holding the first byte that
// needs a look in a string body: '"', '\\', a control byte or a non-ASCII
// byte. Bits above that one may be set spuriously (borrows), bits below it
// never are, and special is zero when there is no such byte.
//
// Subtracting 1 (or 0x20) sets a byte's high bit exactly when the byte was 0
// (or below 0x20), as long as no borrow comes from below and the byte had
// no high bit already: a byte with a high bit is special anyway, and a
// borrow only comes from a special byte below.
func special(w uint64) uint64 {
	return (((w ^ quotes) - ones) | ((w ^ bslash) - ones) | (w - spaces) | w) & highs
}

// skipString consumes a string body, pos being just after its opening quote,
// through its closing quote, validating escapes and UTF-8.
func (c *Counter) skipString() bool {
	buf, pos, end := c.buf, c.pos, c.end
	for {
		if end-pos >= 16 {
			m := special(binary.LittleEndian.Uint64(buf[pos:]))
			if m == 0 {
				m = special(binary.LittleEndian.Uint64(buf[pos+8:]))
				if m == 0 {
					pos += 16
					continue
				}
				pos += 8
			}
			pos += bits.TrailingZeros64(m) >> 3
		} else if end-pos >= 8 {
			m := special(binary.LittleEndian.Uint64(buf[pos:]))
			if m == 0 {
				pos += 8
				continue
			}
			pos += bits.TrailingZeros64(m) >> 3
		} else {
			for pos < end && buf[pos] >= 0x20 && buf[pos] < 0x80 && buf[pos] != '"' && buf[pos] != '\\' {
				pos++
			}
			if pos == end {
				c.pos = pos
				if !c.fill() {
					return false
				}
				pos, end = c.pos, c.end
				continue
			}
		}

		b := buf[pos]
		if b >= 0x80 {
			// Non-ASCII text comes in runs: validate the run here, by
			// the rules of validSeq, while a whole sequence surely fits.
			for end-pos >= 4 {
				b = buf[pos]
				if b < 0x80 {
					// A space or punctuation between words of non-ASCII
					// text is not worth a return to the word-wise loop.
					if buf[pos+1] >= 0x80 && b >= 0x20 && b != '"' && b != '\\' {
						pos++
						continue
					}
					break
				}
				c1 := buf[pos+1]
				if b < 0xE0 {
					if b < 0xC2 || c1&0xC0 != 0x80 {
						return false
					}
					pos += 2
					continue
				}
				c2 := buf[pos+2]
				if b < 0xF0 {
					if c1&0xC0 != 0x80 || c2&0xC0 != 0x80 || b == 0xE0 && c1 < 0xA0 || b == 0xED && c1 > 0x9F {
						return false
					}
					pos += 3
					continue
				}
				c3 := buf[pos+3]
				if b > 0xF4 || c1&0xC0 != 0x80 || c2&0xC0 != 0x80 || c3&0xC0 != 0x80 || b == 0xF0 && c1 < 0x90 || b == 0xF4 && c1 > 0x8F {
					return false
				}
				pos += 4
			}
			if end-pos >= 4 || pos == end || buf[pos] < 0x80 {
				continue
			}
			// A sequence that may run past the buffered bytes.
			n := seqLen(buf[pos])
			if n == 0 {
				return false
			}
			if end-pos < n {
				c.pos = pos
				if !c.ensure(n) {
					return false
				}
				pos, end = c.pos, c.end
			}
			if !validSeq(buf[pos : pos+n]) {
				return false
			}
			pos += n
			continue
		}

		switch b {
		case '"':
			c.pos = pos + 1
			return true
		case '\\':
			if end-pos < 6 {
				// Up to 6 bytes (\uXXXX) may be needed; a short document
				// is fine as long as the escape itself is complete.
				c.pos = pos
				c.ensure(6)
				if c.err != nil {
					return false
				}
				pos, end = c.pos, c.end
				if end-pos < 2 {
					return false
				}
			}
			if e := buf[pos+1]; shortEscape[e] {
				pos += 2
			} else if e == 'u' && end-pos >= 6 && isHex[buf[pos+2]] && isHex[buf[pos+3]] && isHex[buf[pos+4]] && isHex[buf[pos+5]] {
				pos += 6
			} else {
				return false
			}
		default: // a control byte
			return false
		}
	}
}

// scanKey consumes a top-level key like skipString and reports whether it
// decodes to "messages".
func (c *Counter) scanKey() (match, ok bool) {
	const want = "messages"
	mi := 0 // bytes of want matched so far; -1 once the key differs
	buf, pos, end := c.buf, c.pos, c.end
	for {
		if pos == end {
			c.pos = pos
			if !c.fill() {
				return false, false
			}
			pos, end = c.pos, c.end
		}
		ch := rune(-1) // the decoded character, or -1 for one not in want
		switch b := buf[pos]; {
		case b == '"':
			c.pos = pos + 1
			return mi == len(want), true
		case b == '\\':
			if end-pos < 6 {
				c.pos = pos
				c.ensure(6)
				if c.err != nil {
					return false, false
				}
				pos, end = c.pos, c.end
				if end-pos < 2 {
					return false, false
				}
			}
			switch buf[pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				pos += 2
			case 'u':
				if end-pos < 6 {
					return false, false
				}
				v, ok := hex4(buf[pos+2 : pos+6])
				if !ok {
					return false, false
				}
				ch = v
				pos += 6
			default:
				return false, false
			}
		case b < 0x20:
			return false, false
		case b < 0x80:
			ch = rune(b)
			pos++
		default:
			n := seqLen(b)
			if n == 0 {
				return false, false
			}
			if end-pos < n {
				c.pos = pos
				if !c.ensure(n) {
					return false, false
				}
				pos, end = c.pos, c.end
			}
			if !validSeq(buf[pos : pos+n]) {
				return false, false
			}
			pos += n
		}
		if mi >= 0 && mi < len(want) && ch == rune(want[mi]) {
			mi++
		} else {
			mi = -1
		}
	}
}

// isSpace holds the bytes JSON takes as whitespace.
var isSpace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// shortEscape holds the bytes that may follow a backslash to make a
// two-byte escape.
var shortEscape = [256]bool{'"': true, '\\': true, '/': true, 'b': true, 'f': true, 'n': true, 'r': true, 't': true}

// isHex holds the hex digits of either case.
var isHex = [256]bool{
	'0': true, '1': true, '2': true, '3': true, '4': true, '5': true, '6': true, '7': true, '8': true, '9': true,
	'a': true, 'b': true, 'c': true, 'd': true, 'e': true, 'f': true,
	'A': true, 'B': true, 'C': true, 'D': true, 'E': true, 'F': true,
}

// hex4 decodes the 4 hex digits of a \u escape.
func hex4(p []byte) (rune, bool) {
	var v rune
	for _, b := range p[:4] {
		switch {
		case b >= '0' && b <= '9':
			b -= '0'
		case b >= 'a' && b <= 'f':
			b -= 'a' - 10
		case b >= 'A' && b <= 'F':
			b -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | rune(b)
	}
	return v, true
}

// seqLen is the length of the UTF-8 sequence that lead byte b (>= 0x80)
// starts, or 0 when b cannot start one.
func seqLen(b byte) int {
	switch {
	case b < 0xC2: // continuation bytes, and the overlong leads C0 and C1
		return 0
	case b < 0xE0:
		return 2
	case b < 0xF0:
		return 3
	case b < 0xF5:
		return 4
	}
	return 0 // beyond U+10FFFF
}

// validSeq reports whether p, of length seqLen(p[0]), is a valid UTF-8
// sequence: not overlong, not a surrogate, not beyond U+10FFFF. These are
// the rules of unicode/utf8 and of Python's strict utf-8 codec alike.
func validSeq(p []byte) bool {
	lo, hi := byte(0x80), byte(0xBF) // the range of the second byte
	switch p[0] {
	case 0xE0:
		lo = 0xA0
	case 0xED:
		hi = 0x9F
	case 0xF0:
		lo = 0x90
	case 0xF4:
		hi = 0x8F
	}
	if p[1] < lo || p[1] > hi {
		return false
	}
	for _, b := range p[2:] {
		if b&0xC0 != 0x80 {
			return false
		}
	}
	return true
}
