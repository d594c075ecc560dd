package sessiongen

import (
	"bytes"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Document returns one chat session, a JSON object with exactly messages
// elements in its "messages" array, of about targetBytes bytes (never less
// than its metadata takes, about 600 bytes). The same rng state gives the
// same bytes.
func Document(rng *rand.Rand, targetBytes int, messages int) []byte {
	s := newSession(rng, nil)
	chunks := s.messages(targetBytes, messages)
	var buf bytes.Buffer
	s.write(&buf, chunks, s.updated)
	return buf.Bytes()
}

// session is one generated chat session: its metadata and the generator of
// its messages, which follow a conversation (system prompt, user turns,
// assistant answers, tool calls and their results).
type session struct {
	rng      *rand.Rand
	f        format
	id       string
	title    string
	model    string
	created  float64 // Unix seconds
	updated  float64 // Unix seconds of the last message so far
	pinned   bool
	tail     []byte // the members after "messages", and the closing brace
	last     string // role of the previous message
	pending  []call // tool calls whose results come next
	msg      jsonWriter
	args     jsonWriter
	text     []byte
	idBuf    []byte
	nMessage int
}

type call struct {
	id, name string
}

// epoch2024 is 2024-01-01T00:00:00Z: sessions are created during 2024.
const epoch2024 = 1704067200

// newSession draws a session's metadata from rng. id is its session_id, or
// a random one when nil.
func newSession(rng *rand.Rand, id []byte) *session {
	s := &session{rng: rng}
	total := 0
	for _, f := range formats {
		total += f.weight
	}
	pick := rng.IntN(total)
	for _, f := range formats {
		if pick < f.weight {
			s.f = f.f
			break
		}
		pick -= f.weight
	}
	s.created = epoch2024 + float64(rng.IntN(366*24*3600)) + float64(rng.IntN(1000))/1000
	s.updated = s.created
	if id == nil {
		id = randomID(nil, rng, "sess_", 20)
	}
	s.id = string(id)
	s.title = string(sentence(nil, rng, 2+rng.IntN(5)))
	s.model = models[rng.IntN(len(models))]
	s.pinned = rng.IntN(10) == 0

	w := &s.msg
	w.reset(s.f, 0)
	w.open('{') // counts the members before "messages", which head writes
	w.counts[0] = 6
	w.key("settings")
	w.open('{')
	w.key("temperature")
	w.float(float64(rng.IntN(11)) / 10)
	w.key("top_p")
	w.float(1)
	w.key("max_tokens")
	if rng.IntN(2) == 0 {
		w.null()
	} else {
		w.integer(int64(256 << rng.IntN(5)))
	}
	w.key("frequency_penalty")
	w.float(0)
	w.key("stream")
	w.boolean(rng.IntN(4) != 0)
	w.key("stop")
	w.open('[')
	w.close(']')
	w.key("logit_bias")
	w.open('{')
	w.close('}')
	w.close('}')
	w.key("usage")
	w.open('{')
	prompt := rng.IntN(200000)
	completion := rng.IntN(50000)
	w.tokenCounts(prompt, completion)
	w.key("cost_usd")
	w.float(math.Round(float64(prompt+completion)*0.0000025*1e6) / 1e6)
	w.close('}')
	w.key("tags")
	w.open('[')
	for range rng.IntN(4) {
		w.str(commonWords[rng.IntN(len(commonWords))])
	}
	w.close(']')
	w.key("archived")
	w.boolean(false)
	w.key("parent_id")
	w.null()
	w.key("version")
	w.integer(3)
	w.close('}')
	// The tail starts after the "messages" value: drop the '{'.
	s.tail = append([]byte(nil), w.b[1:]...)
	return s
}

// head returns the document up to the "messages" array: the members before
// it and its key. updated is the version's updated_at.
func (s *session) head(updated float64) []byte {
	w := &s.msg
	w.reset(s.f, 0)
	w.open('{')
	w.key("session_id")
	w.str(s.id)
	w.key("title")
	w.str(s.title)
	w.key("model")
	w.str(s.model)
	w.key("created_at")
	w.str(time.Unix(int64(s.created), 0).UTC().Format(time.RFC3339))
	w.key("updated_at")
	w.float(math.Round(updated*1000) / 1000)
	w.key("pinned")
	w.boolean(s.pinned)
	w.key("messages")
	return w.b
}

// write writes the document holding chunks as its messages to out.
func (s *session) write(out io.Writer, chunks [][]byte, updated float64) error {
	d := docWriter{w: out, f: s.f}
	d.begin(s.head(updated))
	for _, c := range chunks {
		d.add(c)
	}
	d.end(s.tail)
	return d.err
}

// docWriter writes a session document in parts, so that a document of any
// size can be written while holding one message.
type docWriter struct {
	w   io.Writer
	f   format
	n   int   // messages written
	len int64 // bytes written
	err error
}

func (d *docWriter) write(b []byte) {
	if d.err != nil {
		return
	}
	n, err := d.w.Write(b)
	d.len += int64(n)
	d.err = err
}

var indent4 = []byte("\n    ")

// begin writes head (everything up to the "messages" key) and opens the
// array.
func (d *docWriter) begin(head []byte) {
	d.write(head)
	d.write([]byte{'['})
}

// add writes one message, rendered at depth 2.
func (d *docWriter) add(msg []byte) {
	if d.n > 0 {
		if d.f.spaced && !d.f.indent {
			d.write([]byte(", "))
		} else {
			d.write([]byte{','})
		}
	}
	if d.f.indent {
		d.write(indent4)
	}
	d.write(msg)
	d.n++
}

// end closes the array and writes tail.
func (d *docWriter) end(tail []byte) {
	if d.n > 0 && d.f.indent {
		d.write([]byte("\n  "))
	}
	d.write([]byte{']'})
	d.write(tail)
}

// messages returns n messages whose document comes to about target bytes.
func (s *session) messages(target, n int) [][]byte {
	remaining := target - len(s.head(s.updated)) - len(s.tail) - 2
	chunks := make([][]byte, 0, n)
	for i := range n {
		chunk := s.message(remaining/(n-i), i == n-1)
		remaining -= len(chunk) + 4
		chunks = append(chunks, bytes.Clone(chunk))
	}
	return chunks
}

// Role weights: the share of a message's byte budget each role takes, in
// per cent; the budget of the later messages corrects for the difference.
var roleWeight = map[string]int{"system": 40, "user": 45, "assistant": 150, "tool": 120}

// message renders the next message of the conversation and returns it
// (valid until the next call). Its size is about budget bytes, times a
// factor for its role and a random one, unless exact is set.
func (s *session) message(budget int, exact bool) []byte {
	rng := s.rng
	role := s.nextRole()
	s.last = role
	s.nMessage++
	s.updated += float64(1+rng.IntN(120)) + float64(rng.IntN(1000))/1000
	// Jitter around the budget, log-normal so that a few messages are long.
	size := float64(budget*roleWeight[role]/100) * math.Exp(0.6*rng.NormFloat64()-0.18)
	overhead := 160
	if exact {
		size = float64(budget)
		if role == "assistant" {
			overhead = 300
		}
	}
	content := max(int(size)-overhead, 8)

	w := &s.msg
	w.reset(s.f, 2)
	w.open('{')
	if role != "tool" {
		w.key("id")
		s.idBuf = randomID(s.idBuf[:0], rng, "msg_", 16)
		w.strBytes(s.idBuf)
	}
	w.key("role")
	w.str(role)
	switch role {
	case "system":
		s.text = append(s.text[:0], "You are a helpful assistant. Answer concisely; use code blocks for code.\n"...)
		s.text = prose(s.text, rng, content, false)
		w.key("content")
		w.strBytes(s.text)
	case "user":
		s.text = prose(s.text[:0], rng, content, rng.IntN(6) == 0)
		w.key("content")
		if rng.IntN(12) == 0 {
			// OpenAI's content parts: text and an image.
			w.open('[')
			w.open('{')
			w.key("type")
			w.str("text")
			w.key("text")
			w.strBytes(s.text)
			w.close('}')
			w.open('{')
			w.key("type")
			w.str("image_url")
			w.key("image_url")
			w.open('{')
			w.key("url")
			s.idBuf = randomID(append(s.idBuf[:0], "https://files.example.com/img/"...), rng, "", 12)
			s.idBuf = append(s.idBuf, ".png"...)
			w.strBytes(s.idBuf)
			w.key("detail")
			w.str("auto")
			w.close('}')
			w.close('}')
			w.close(']')
		} else {
			w.strBytes(s.text)
		}
	case "assistant":
		calls := 0
		if rng.IntN(4) == 0 {
			calls = 1 + rng.IntN(3)
		}
		w.key("content")
		if calls > 0 && rng.IntN(2) == 0 {
			w.null()
		} else {
			s.text = prose(s.text[:0], rng, content, true)
			w.strBytes(s.text)
		}
		if calls > 0 {
			w.key("tool_calls")
			w.open('[')
			for range calls {
				s.toolCall()
			}
			w.close(']')
		}
		w.key("refusal")
		w.null()
		w.key("model")
		w.str(s.model)
		w.key("finish_reason")
		if calls > 0 {
			w.str("tool_calls")
		} else {
			w.str("stop")
		}
		w.key("usage")
		w.open('{')
		p, c := rng.IntN(100000), rng.IntN(4000)
		w.tokenCounts(p, c)
		w.close('}')
		w.key("logprobs")
		w.null()
	case "tool":
		c := s.pending[0]
		s.pending = s.pending[1:]
		w.key("tool_call_id")
		w.str(c.id)
		w.key("name")
		w.str(c.name)
		w.key("content")
		w.strBytes(s.toolOutput(content))
	}
	w.key("created_at")
	w.float(math.Round(s.updated*1000) / 1000)
	w.close('}')
	return w.b
}

func (s *session) nextRole() string {
	switch {
	case s.last == "" && s.rng.IntN(10) < 6:
		return "system"
	case len(s.pending) > 0:
		return "tool"
	case s.last == "user" || s.last == "tool":
		return "assistant"
	default:
		return "user"
	}
}

// toolCall writes one element of an assistant's tool_calls, its arguments
// a JSON document held in a string, and remembers it for the tool message
// that answers it.
func (s *session) toolCall() {
	rng, w := s.rng, &s.msg
	name := toolNames[rng.IntN(len(toolNames))]
	s.idBuf = randomID(s.idBuf[:0], rng, "call_", 24)
	id := string(s.idBuf)
	s.pending = append(s.pending, call{id: id, name: name})

	a := &s.args
	a.reset(format{}, 0)
	a.open('{')
	switch name {
	case "read_file", "write_file", "list_directory":
		a.key("path")
		a.str("/home/user/projects/" + names[rng.IntN(len(names))] + "/src/main.py")
		a.key("encoding")
		a.str("utf-8")
		if name == "write_file" {
			a.key("content")
			a.strBytes(codeBlock(s.text[:0], rng))
		}
	case "get_weather":
		a.key("location")
		a.str(unicodeWords[rng.IntN(len(unicodeWords))])
		a.key("unit")
		a.str("celsius")
		a.key("days")
		a.integer(int64(1 + rng.IntN(7)))
	default:
		a.key("query")
		a.strBytes(sentence(s.text[:0], rng, 3+rng.IntN(8)))
		a.key("limit")
		a.integer(int64(5 + rng.IntN(20)))
		a.key("options")
		a.open('{')
		a.key("recursive")
		a.boolean(rng.IntN(2) == 0)
		a.key("threshold")
		a.float(float64(rng.IntN(100)) / 100)
		a.key("filters")
		a.open('[')
		a.str("*.json")
		a.str(`name ~= "a\b"`)
		a.close(']')
		a.key("cursor")
		a.null()
		a.close('}')
	}
	a.close('}')

	w.open('{')
	w.key("id")
	w.str(id)
	w.key("type")
	w.str("function")
	w.key("function")
	w.open('{')
	w.key("name")
	w.str(name)
	w.key("arguments")
	w.strBytes(a.b)
	w.close('}')
	w.close('}')
}

// toolOutput returns about n bytes of a tool's output: a JSON document (to
// be held in a string), a file's text, or an error.
func (s *session) toolOutput(n int) []byte {
	rng := s.rng
	switch rng.IntN(3) {
	case 0:
		a := &s.args
		a.reset(format{spaced: rng.IntN(2) == 0}, 0)
		a.open('{')
		a.key("results")
		a.open('[')
		for i := 0; len(a.b) < n; i++ {
			a.open('{')
			a.key("rank")
			a.integer(int64(i + 1))
			a.key("title")
			a.strBytes(sentence(s.text[:0], rng, 3+rng.IntN(5)))
			a.key("url")
			a.strBytes(randomID(append(s.text[:0], "https://example.org/"...), rng, "", 10))
			a.key("score")
			a.float(math.Round(rng.Float64()*1e4) / 1e4)
			a.key("snippet")
			a.strBytes(prose(s.text[:0], rng, 80+rng.IntN(200), false))
			a.key("cached")
			a.boolean(rng.IntN(3) == 0)
			a.key("expires")
			a.null()
			a.close('}')
		}
		a.close(']')
		a.key("truncated")
		a.boolean(false)
		a.close('}')
		return a.b
	case 1:
		s.text = append(s.text[:0], "Exit code: 0\nstdout:\n"...)
		return prose(s.text, rng, n, true)
	default:
		s.text = append(s.text[:0], "Error: "...)
		s.text = sentence(s.text, rng, 6)
		s.text = append(s.text, "\nTraceback (most recent call last):\n  File \"/srv/app/main.py\", line "...)
		s.text = strconv.AppendInt(s.text, int64(rng.IntN(500)), 10)
		s.text = append(s.text, ", in <module>\n\tKeyError: 'messages'\n"...)
		return prose(s.text, rng, n, false)
	}
}
