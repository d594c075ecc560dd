package messages

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// read returns the raw messages Each gives, as the consumer keeps them.
func read(t *testing.T, doc string) ([]string, error) {
	t.Helper()
	var got []string
	err := Each(strings.NewReader(doc), func() { got = nil }, func(m Message) error {
		assert.Equal(t, len(got), m.Index)
		got = append(got, string(m.Raw))
		return nil
	})
	return got, err
}

func TestEachReadsTheMessagesArray(t *testing.T) {
	got, err := read(t, `{"title":{"deep":[1,{"a":[2,3]}]},"messages":[{"role":"user"}, 2 ,"x"],"after":[true]}`)
	require.NoError(t, err)
	assert.Equal(t, []string{`{"role":"user"}`, `2`, `"x"`}, got)

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
		`{"messages":[NaN]}`, `{"messages":[1]} {}`, ``,
	} {
		_, err := read(t, doc)
		assert.Error(t, err, doc)
	}
}

func TestEachStopsOnTheConsumersError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := Each(strings.NewReader(`{"messages":[1,2,3]}`), func() {}, func(Message) error {
		n++
		return stop
	})
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, 1, n)
}

func messages(t *testing.T, doc string) []Message {
	t.Helper()
	var got []Message
	require.NoError(t, Each(strings.NewReader(doc), func() { got = nil }, func(m Message) error {
		got = append(got, m)
		return nil
	}))
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
	}
	for _, p := range same {
		ms := messages(t, `{"messages":[`+p[0]+`,`+p[1]+`]}`)
		assert.Equal(t, ms[0].ID(), ms[1].ID(), "%s and %s", p[0], p[1])
	}
	differ := [][2]string{
		{`1`, `1.0`}, {`1e2`, `100`}, {`"1"`, `1`}, {`[1,2]`, `[2,1]`},
		{`{"a":null}`, `{}`}, {`true`, `"true"`}, {`{"a":"x"}`, `{"a":"X"}`},
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
