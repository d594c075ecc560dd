//go:build amd64 && !purego

package msgcount

import "math/bits"

// useStructural: Count and CountBytes use the structural counter on CPUs
// that can run its stage 1.
var useStructural = haveStage1

// The structural counter is in two stages, in the manner of simdjson
// (Langdale and Lemire, 2019). Stage 1 (stage1_amd64.go) classifies the
// document a chunk at a time and validates what can be validated by
// classes of bytes; stage 2 (runStructural) walks only the positions stage
// 1 marks, with the same state machine as run, reading the bytes of
// numbers, words and top-level keys, which stage 1 does not judge.
//
// The document goes to stage 1 in windows of whole chunks, the last padded
// with spaces. Stage 2 follows the windows: a number or word that goes on
// past the end of one is finished in the next (token), and the bytes of a
// top-level key that does are kept (structuralState.key).

// structuralState is what the structural counter keeps in a Counter.
type structuralState struct {
	s1    stage1State
	masks []uint64                 // stage 1's masks of the window
	tail  [chunkSize]byte          // the last chunk of a document in memory, padded
	key   [maxMessagesKey + 1]byte // a top-level key read across windows
	keyN  int                      // bytes in key; more than maxMessagesKey: too long to be "messages"
	tok   token                    // the number or word being read
}

// maxMessagesKey is the longest a key decoding to "messages" can be written:
// eight \u escapes.
const maxMessagesKey = 8 * 6

// window returns the next bytes for stage 1, a whole number of chunks, and
// whether they end the document (padded with at least one space). It
// returns nil when reading failed.
func (c *Counter) window() (w []byte, last bool) {
	if c.r == nil {
		// A document in memory: read in place, all but the end.
		if rem := c.end - c.pos; rem >= chunkSize {
			k := min(rem&^(chunkSize-1), bufSize)
			w = c.buf[c.pos : c.pos+k]
			c.pos += k
			return w, false
		}
		t := c.st.tail[:]
		n := copy(t, c.buf[c.pos:c.end])
		pad(t[n:])
		c.pos = c.end
		return t, true
	}
	for c.end-c.pos < chunkSize && c.fill() {
	}
	if c.err != nil {
		return nil, false
	}
	avail := c.end - c.pos
	if !c.eof {
		k := avail &^ (chunkSize - 1)
		w = c.buf[c.pos : c.pos+k]
		c.pos += k
		return w, false
	}
	// The end: own has a chunk of room after buf for the padding.
	k := (avail + chunkSize) &^ (chunkSize - 1)
	w = c.own[c.pos : c.pos+k]
	pad(w[avail:])
	c.pos = c.end
	return w, true
}

func pad(p []byte) {
	for i := range p {
		p[i] = ' '
	}
}

// cursor walks the positions marked in a window's masks.
type cursor struct {
	masks []uint64
	i     int    // the chunk of m
	m     uint64 // the marks of chunk i not yet walked
}

// next returns the next marked position, or -1 at the end of the window.
func (c *cursor) next() int {
	for c.m == 0 {
		c.i++
		if c.i >= len(c.masks) {
			return -1
		}
		c.m = c.masks[c.i]
	}
	p := c.i*chunkSize + bits.TrailingZeros64(c.m)
	c.m &= c.m - 1
	return p
}

// Where stage 2 resumes in a new window, besides run's states.
const (
	resumeValueString = iota + stAfter + 1 // before the closing quote of a value
	resumeKeyString                        // before the closing quote of a key
)

// runStructural is run by way of stage 1's masks. Each state of run's
// machine is a label here, so that what follows a token is looked for
// where the token is read: the closing quote of a string, the colon after
// a key. A state is saved only at the end of a window.
func (c *Counter) runStructural() int {
	if !c.object() {
		return NotSession
	}
	s := &c.st
	if s.masks == nil {
		s.masks = make([]uint64, (bufSize+chunkSize)/chunkSize)
	}
	s.s1 = stage1State{}

	var (
		result     = NotSession // as in run
		isMsgKey   bool
		inMsgs     bool
		count      int
		depth      int
		inObj      bool
		resume     = stValue // where the next window starts
		keyFrom    = -1      // where the top-level key being read starts in the window, or -1
		keyCarried bool      // and its first bytes are in s.key
		inTok      bool      // s.tok goes on in the next window
		w          []byte
		last       bool
		cur        cursor
		p          int
		b          byte
	)

window:
	w, last = c.window()
	if w == nil {
		return NotSession
	}
	if stage1(&w[0], len(w)/chunkSize, &s.s1, &s.masks[0]) {
		return NotSession
	}
	cur = cursor{masks: s.masks[:len(w)/chunkSize], i: -1}
	if inTok {
		n, ended, ok := s.tok.feed(w)
		if !ok || ended && !endsToken[w[n]] {
			return NotSession
		}
		inTok = !ended
	}
	switch resume {
	case stValue:
		goto value
	case stArrFirst:
		goto arrFirst
	case stObjFirst:
		goto objFirst
	case stKey:
		goto key
	case resumeKeyString:
		goto keyString
	case stColon:
		goto colon
	case resumeValueString:
		goto valueString
	default:
		goto after
	}

value: // a value must come
	if p = cur.next(); p < 0 {
		resume = stValue
		goto end
	}
	b = w[p]
valueAt:
	if inMsgs && depth == 2 {
		count++
	}
	if depth == 1 && isMsgKey {
		if b == '[' {
			inMsgs, count = true, 0
		} else {
			result = NotSession
		}
	}
	switch b {
	case '"':
		goto valueString
	case '{', '[':
		if depth>>6 == len(c.stack) {
			c.stack = append(c.stack, 0)
		}
		inObj = b == '{'
		depth++
		if inObj {
			c.stack[(depth-1)>>6] |= 1 << ((depth - 1) & 63)
			goto objFirst
		}
		c.stack[(depth-1)>>6] &^= 1 << ((depth - 1) & 63)
		goto arrFirst
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 't', 'f', 'n', 'N', 'I':
		s.tok.start(b)
		n, ended, ok := s.tok.feed(w[p:])
		if !ok || ended && !endsToken[w[p+n]] {
			return NotSession
		}
		inTok = !ended
		goto after
	}
	return NotSession

valueString: // the closing quote: stage 1 marks nothing in a string
	if p = cur.next(); p < 0 {
		resume = resumeValueString
		goto end
	}

after: // a value has been read: ',', a closing bracket, or the end
	if p = cur.next(); p < 0 {
		resume = stAfter
		goto end
	}
	switch b = w[p]; b {
	case ',':
		if depth == 0 {
			return NotSession
		}
		if inObj {
			goto key
		}
		goto value
	case '}':
		if inObj && depth > 0 {
			goto pop
		}
	case ']':
		if !inObj && depth > 0 {
			goto pop
		}
	}
	return NotSession

pop: // the innermost container closes
	depth--
	if depth > 0 {
		inObj = c.stack[(depth-1)>>6]>>((depth-1)&63)&1 != 0
	}
	if depth == 1 && inMsgs {
		result, inMsgs = count, false
	}
	goto after

arrFirst: // just after '[': a value or ']'
	if p = cur.next(); p < 0 {
		resume = stArrFirst
		goto end
	}
	if b = w[p]; b == ']' {
		goto pop
	}
	goto valueAt

objFirst: // just after '{': a key or '}'
	if p = cur.next(); p < 0 {
		resume = stObjFirst
		goto end
	}
	if b = w[p]; b == '}' {
		goto pop
	}
	goto keyAt

key: // just after ',' in an object: a key
	if p = cur.next(); p < 0 {
		resume = stKey
		goto end
	}
	b = w[p]
keyAt:
	if b != '"' {
		return NotSession
	}
	if depth == 1 {
		keyFrom, keyCarried, s.keyN = p+1, false, 0
	}

keyString: // the key's closing quote
	if p = cur.next(); p < 0 {
		resume = resumeKeyString
		goto end
	}
	if keyFrom >= 0 {
		isMsgKey = s.isMessages(w[keyFrom:p], keyCarried)
		keyFrom = -1
	}

colon:
	if p = cur.next(); p < 0 {
		resume = stColon
		goto end
	}
	if w[p] != ':' {
		return NotSession
	}
	goto value

end:
	if keyFrom >= 0 {
		// The key goes on in the next window.
		s.appendKey(w[keyFrom:])
		keyFrom, keyCarried = 0, true
	}
	if !last {
		goto window
	}
	if depth == 0 && resume == stAfter && !inTok {
		return result
	}
	return NotSession
}

// appendKey keeps b, more of a top-level key, unless the key is already
// too long to be "messages".
func (s *structuralState) appendKey(b []byte) {
	if s.keyN+len(b) > maxMessagesKey {
		s.keyN = maxMessagesKey + 1
		return
	}
	s.keyN += copy(s.key[s.keyN:], b)
}

// isMessages reports whether the top-level key ending in last (after the
// bytes kept in s.key, when carried) decodes to "messages".
func (s *structuralState) isMessages(last []byte, carried bool) bool {
	if !carried {
		return isMessagesKey(last)
	}
	s.appendKey(last)
	return s.keyN <= maxMessagesKey && isMessagesKey(s.key[:s.keyN])
}

// isMessagesKey reports whether raw, the body of a string stage 1 has
// validated, decodes to "messages".
func isMessagesKey(raw []byte) bool {
	const want = "messages"
	if len(raw) == len(want) {
		// Any escape would make it decode to fewer characters.
		return string(raw) == want
	}
	if len(raw) < len(want) || len(raw) > maxMessagesKey {
		return false
	}
	i := 0
	for j := 0; j < len(raw); i++ {
		ch := rune(raw[j])
		if ch == '\\' {
			// Of the escapes, only \u can be a letter of want.
			if j+6 > len(raw) || raw[j+1] != 'u' {
				return false
			}
			v, ok := hex4(raw[j+2 : j+6])
			if !ok {
				return false
			}
			ch, j = v, j+6
		} else {
			j++
		}
		if i == len(want) || ch != rune(want[i]) {
			return false
		}
	}
	return i == len(want)
}

// endsToken holds the bytes that may follow a number or a word: whitespace,
// punctuation and a quote (which stage 2 then judges).
var endsToken = [256]bool{
	' ': true, '\t': true, '\n': true, '\r': true,
	',': true, ':': true, '[': true, ']': true, '{': true, '}': true, '"': true,
}

// token reads a number or a word (true, false, null, NaN, Infinity or
// -Infinity) that may arrive in pieces, by the rules of skipNumber and
// literal.
type token struct {
	word   string // the word being matched, or "" for a number
	n      int    // bytes of word matched
	state  int    // the number's state, as skipNumber's
	digits int    // digits of the number's integer part
}

// start begins a token whose first byte is b.
func (t *token) start(b byte) {
	t.word, t.n, t.state, t.digits = literals[b], 0, nStart, 0
}

// feed reads the token's bytes from p. It returns how many were the
// token's and whether it ended before the end of p (p[n] being the first
// byte after it); ok is false when the bytes cannot be the token.
func (t *token) feed(p []byte) (n int, ended, ok bool) {
	if t.word != "" {
		for ; t.n < len(t.word); n, t.n = n+1, t.n+1 {
			if n == len(p) {
				return n, false, true
			}
			if p[n] != t.word[t.n] {
				return n, true, false
			}
		}
		return n, n < len(p), true
	}
	for n < len(p) {
		switch t.state {
		case nStart: // the caller saw '-' or a digit
			switch p[n] {
			case '-':
				t.state = nSign
			case '0':
				t.state, t.digits = nZero, 1
			default:
				t.state, t.digits = nInt, 1
			}
			n++
		case nSign:
			if p[n] == 'I' {
				t.word, t.n = "-Infinity", 2
				m, ended, ok := t.feed(p[n+1:])
				return n + 1 + m, ended, ok
			}
			if !isDigit(p[n]) {
				return n, true, false
			}
			t.state, t.digits = nInt, 1
			if p[n] == '0' {
				t.state = nZero
			}
			n++
		case nInt:
			j := n
			for j < len(p) && isDigit(p[j]) {
				j++
			}
			t.digits += j - n
			if n = j; n == len(p) {
				return n, false, true
			}
			fallthrough
		case nZero:
			switch p[n] {
			case '.':
				t.state = nDot
			case 'e', 'E':
				t.state = nE
			default:
				return n, true, t.digits <= maxIntDigits
			}
			n++
		case nDot:
			if !isDigit(p[n]) {
				return n, true, false
			}
			t.state = nFrac
			n++
		case nFrac:
			for n < len(p) && isDigit(p[n]) {
				n++
			}
			if n == len(p) {
				return n, false, true
			}
			if p[n] != 'e' && p[n] != 'E' {
				return n, true, true
			}
			t.state = nE
			n++
		case nE:
			if p[n] == '+' || p[n] == '-' {
				t.state = nESign
				n++
				continue
			}
			fallthrough
		case nESign:
			if !isDigit(p[n]) {
				return n, true, false
			}
			t.state = nExp
			n++
		case nExp:
			for n < len(p) && isDigit(p[n]) {
				n++
			}
			if n == len(p) {
				return n, false, true
			}
			return n, true, true
		}
	}
	return n, false, true
}

func isDigit(b byte) bool { return b-'0' < 10 }
