package messages

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// read returns the raw messages Each gives, as the consumer keeps them.
func read(t *testing.T, doc string) ([]string, error) {
	t.Helper()
	var got []string
	_, err := Each(strings.NewReader(doc), func() { got = nil }, func(m Message) error {
		assert.Equal(t, len(got), m.Index)
		assert.Equal(t, string(m.Raw), doc[m.Offset:m.Offset+int64(len(m.Raw))], "Offset")
		got = append(got, string(m.Raw))
		return nil
	})
	return got, err
}

func TestEachReadsTheMessagesArray(t *testing.T) {
	got, err := read(t, `{"title":{"deep":[1,{"a":[2,3]}]},"messages":[{"role":"user"}, 2 ,"x"],"after":[true]}`)
	require.NoError(t, err)
	assert.Equal(t, []string{`{"role":"user"}`, `2`, `"x"`}, got)

	got, err = read(t, `{"n":12,"t":true,"f":-1.5e3,"messages":[123,null],"z":null,"e":false}`)
	require.NoError(t, err)
	assert.Equal(t, []string{`123`, `null`}, got, "numbers and literals beside the messages")

	got, err = read(t, `{"messages":[]}`)
	require.NoError(t, err)
	assert.Empty(t, got)
}

// Of several "messages" members the last counts, as Python reads the
// document; a key is compared once unescaped.
func TestEachTakesTheLastMessagesMember(t *testing.T) {
	got, err := read(t, `{"messages":[1,2,3],"x":0,"m\u0065ssages":[4]}`)
	require.NoError(t, err)
	assert.Equal(t, []string{"4"}, got)

	_, err = read(t, `{"messages":[1,2],"messages":{"not":"an array"}}`)
	assert.ErrorIs(t, err, ErrNotSession, "the last messages is not an array")
}

func TestEachRefusesWhatIsNotASession(t *testing.T) {
	for _, doc := range []string{
		`[1,2]`, `"messages"`, `{"message":[1]}`, `{"messages":[1,]}`, `{"messages":[1]`,
		`{"messages":[1]} {}`, ``, `{"messages":[,1]}`, `{"messages":[1,,2]}`, `{"a" "messages":[1]}`,
		`{"messages":[1]}}`, `{"messages":[1],"a":1`, `{"messages":"[1]"}`, `{"messages":[1],"messages":2}`,
	} {
		_, err := read(t, doc)
		assert.Error(t, err, doc)
	}
}

func TestEachStopsOnTheConsumersError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	_, err := Each(strings.NewReader(`{"messages":[1,2,3]}`), func() {}, func(Message) error {
		n++
		return stop
	})
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, 1, n)
}

func messages(t *testing.T, doc string) []Message {
	t.Helper()
	var got []Message
	_, err := Each(strings.NewReader(doc), func() { got = nil }, func(m Message) error {
		got = append(got, m)
		return nil
	})
	require.NoError(t, err)
	return got
}

// Equal JSON values are the same message; anything else is not.
func TestIDIsTheJSONValue(t *testing.T) {
	same := [][2]string{
		{`{"a":1,"b":"x"}`, `{ "b" : "x", "a" : 1 }`},
		{`"\u00e9t\u00e9"`, `"été"`},
		{`{"a":1,"a":2}`, `{"a":2}`}, // the last of a repeated member
		{`[1,[2,{"c":null}]]`, `[ 1 , [ 2 , { "c" : null } ] ]`},
		{`"\/"`, `"/"`},
		{`{"a":NaN}`, `{ "a" : NaN }`}, {`"\ud800x"`, `"\uD800x"`},
	}
	for _, p := range same {
		ms := messages(t, `{"messages":[`+p[0]+`,`+p[1]+`]}`)
		assert.Equal(t, ms[0].ID(), ms[1].ID(), "%s and %s", p[0], p[1])
	}
	differ := [][2]string{
		{`1`, `1.0`}, {`1e2`, `100`}, {`"1"`, `1`}, {`[1,2]`, `[2,1]`},
		{`{"a":null}`, `{}`}, {`true`, `"true"`}, {`{"a":"x"}`, `{"a":"X"}`},
		// In doubt, different: encoding/json would read both as U+FFFD.
		{`"\ud800"`, `"\ufffd"`}, {`"\udc00"`, `"\ud800"`},
		{`[NaN]`, `[Infinity]`},
	}
	for _, p := range differ {
		ms := messages(t, `{"messages":[`+p[0]+`,`+p[1]+`]}`)
		assert.NotEqual(t, ms[0].ID(), ms[1].ID(), "%s and %s", p[0], p[1])
	}
}

func TestRoleAndStart(t *testing.T) {
	ms := messages(t, `{"messages":[
		{"role":"user","content":"  plan\n a   trip  "},
		{"role":7,"content":[{"type":"text","text":"hi"}]},
		{"text":"no content"},
		{"role":"assistant","content":"`+strings.Repeat("é", 70)+`"}
	]}`)
	assert.Equal(t, "user", ms[0].Role())
	assert.Equal(t, "plan a trip", ms[0].Start(60), "on one line")
	assert.Equal(t, "", ms[1].Role(), "a role that is not a string")
	assert.Equal(t, `[{"text":"hi","type":"text"}]`, ms[1].Start(60))
	assert.Equal(t, `{"text":"no content"}`, ms[2].Start(60))
	assert.Equal(t, strings.Repeat("é", 60)+"…", ms[3].Start(60))
}

// Python's NaN and Infinity and lone surrogates do not stop a preview: such
// a message is the same only as one with the same bytes.
func TestIDOfMessagesEncodingJSONCannotReadExactly(t *testing.T) {
	ms := messages(t, `{"messages":[{"a":NaN},{"a":NaN},"\ud800x","\ud800x",{"content":"\ud800"}]}`)
	assert.Equal(t, ms[0].ID(), ms[1].ID())
	assert.Equal(t, ms[2].ID(), ms[3].ID())
	assert.Equal(t, `{"a":NaN}`, ms[0].Start(60))
}

// Layout says where the array that counts lies, for a merge that writes
// the rest of the document byte for byte.
func TestLayout(t *testing.T) {
	for _, c := range []struct {
		doc        string
		count      int
		first, end string // the bytes before First, and from End on
		sep        string
	}{
		{`{"messages":[1,2]}`, 2, `{"messages":[`, `]}`, `,`},
		{"{\"messages\": [\n  {\"a\": 1},\n  \"x\" ,\n 3\n], \"t\": \"]\"}", 3, "{\"messages\": [\n  ", "\n], \"t\": \"]\"}", ",\n  "},
		{`{"messages":[ ]}`, 0, `{"messages":[`, ` ]}`, ``},
		{`{"messages":[ "only" ]}`, 1, `{"messages":[ `, ` ]}`, ``},
		{`{"messages":[1],"x":{"messages":[9]},"messages":[ 2 , 3]}`, 2, `{"messages":[1],"x":{"messages":[9]},"messages":[ `, `]}`, `, `},
	} {
		var n int
		l, err := Each(strings.NewReader(c.doc), func() { n = 0 }, func(Message) error { n++; return nil })
		require.NoError(t, err, c.doc)
		assert.Equal(t, c.count, l.Count, c.doc)
		assert.Equal(t, c.count, n, c.doc)
		assert.Equal(t, c.first, c.doc[:l.First], c.doc)
		assert.Equal(t, c.end, c.doc[l.End:], c.doc)
		assert.Equal(t, c.sep, string(l.Sep), c.doc)
	}
}

// The document is read a buffer at a time: every split gives the same.
func TestEachAcrossReads(t *testing.T) {
	doc := `{"t\u0069tle":"a \"q\" ]","messages":[{"role":"user","content":"x\\"}, "\"]" ,[[1]],2],"z":[]}`
	want, err := read(t, doc)
	require.NoError(t, err)
	require.Len(t, want, 4)
	for _, r := range []io.Reader{iotest.OneByteReader(strings.NewReader(doc)), iotest.DataErrReader(strings.NewReader(doc))} {
		var got []string
		_, err := Each(r, func() { got = nil }, func(m Message) error {
			got = append(got, string(m.Raw))
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
}
