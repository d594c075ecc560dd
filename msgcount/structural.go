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

// runStructural is run by way of stage 1's masks.
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
		st         = stValue
		isKey      bool // the string being read (st == stString) is a key
		keyFrom    = -1 // where the top-level key being read starts in the window, or -1
		keyCarried bool // and its first bytes are in s.key
		inTok      bool // s.tok goes on in the next window
	)
	for {
		w, last := c.window()
		if w == nil {
			return NotSession
		}
		chunks := len(w) / chunkSize
		if stage1(&w[0], chunks, &s.s1, &s.masks[0]) {
			return NotSession
		}
		if inTok {
			n, ended, ok := s.tok.feed(w)
			if !ok || ended && !endsToken[w[n]] {
				return NotSession
			}
			inTok = !ended
		}

		for i, m := range s.masks[:chunks] {
			for ; m != 0; m &= m - 1 {
				p := i*chunkSize + bits.TrailingZeros64(m)
				b := w[p]

				if st == stString {
					// The closing quote: stage 1 marks nothing inside.
					if !isKey {
						st = stAfter
						continue
					}
					if keyFrom >= 0 {
						isMsgKey = s.isMessages(w[keyFrom:p], keyCarried)
						keyFrom = -1
					}
					st = stColon
					continue
				}

				if b == '}' || b == ']' {
					closer := byte(']')
					if inObj {
						closer = '}'
					}
					if b != closer || depth == 0 || st != stAfter && st != stObjFirst && st != stArrFirst {
						return NotSession
					}
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
					st = stValue
					continue
				case stObjFirst, stKey:
					if b != '"' {
						return NotSession
					}
					st, isKey = stString, true
					if depth == 1 {
						keyFrom, keyCarried, s.keyN = p+1, false, 0
					}
					continue
				}

				// A value starts at b.
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
				case '{', '[':
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
					st, isKey = stString, false
					continue
				case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 't', 'f', 'n', 'N', 'I':
					s.tok.start(b)
					n, ended, ok := s.tok.feed(w[p:])
					if !ok || ended && !endsToken[w[p+n]] {
						return NotSession
					}
					inTok = !ended
				default:
					return NotSession
				}
				st = stAfter
			}
		}

		if keyFrom >= 0 {
			// The key goes on in the next window.
			s.appendKey(w[keyFrom:])
			keyFrom, keyCarried = 0, true
		}
		if last {
			if depth == 0 && st == stAfter && !inTok {
				return result
			}
			return NotSession
		}
	}
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
	for ; n < len(p); n++ {
		b := p[n]
		isDigit := b >= '0' && b <= '9'
		switch t.state {
		case nStart: // the caller saw '-' or a digit
			switch b {
			case '-':
				t.state = nSign
			case '0':
				t.state, t.digits = nZero, 1
			default:
				t.state, t.digits = nInt, 1
			}
		case nSign:
			if b == 'I' {
				t.word, t.n = "-Infinity", 2
				m, ended, ok := t.feed(p[n+1:])
				return n + 1 + m, ended, ok
			}
			if !isDigit {
				return n, true, false
			}
			t.state, t.digits = nInt, 1
			if b == '0' {
				t.state = nZero
			}
		case nInt:
			if isDigit {
				t.digits++
				continue
			}
			fallthrough
		case nZero:
			switch b {
			case '.':
				t.state = nDot
			case 'e', 'E':
				t.state = nE
			default:
				return n, true, t.digits <= maxIntDigits
			}
		case nDot:
			if !isDigit {
				return n, true, false
			}
			t.state = nFrac
		case nFrac:
			switch {
			case isDigit:
			case b == 'e' || b == 'E':
				t.state = nE
			default:
				return n, true, true
			}
		case nE:
			if b == '+' || b == '-' {
				t.state = nESign
				continue
			}
			fallthrough
		case nESign:
			if !isDigit {
				return n, true, false
			}
			t.state = nExp
		case nExp:
			if !isDigit {
				return n, true, true
			}
		}
	}
	return n, false, true
}
