package msgcount_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/c0fe5641/sessionrecovery/msgcount"
)

// referenceCount counts with encoding/json. It agrees with Count on every
// input without NaN or Infinity (which encoding/json refuses) and without
// integers of more than 4300 digits (which encoding/json accepts).
func referenceCount(doc []byte) int {
	// encoding/json lets invalid UTF-8 through; Python's decoding does not.
	if !utf8.Valid(doc) || !json.Valid(doc) {
		return msgcount.NotSession
	}
	if trimmed := bytes.TrimLeft(doc, " \t\r\n"); trimmed[0] != '{' {
		return msgcount.NotSession
	}
	// Decoding into a map keeps the last of duplicate keys, as Python does.
	var session map[string]json.RawMessage
	if err := json.Unmarshal(doc, &session); err != nil {
		return msgcount.NotSession
	}
	raw, ok := session["messages"]
	if !ok || len(raw) == 0 || raw[0] != '[' {
		return msgcount.NotSession
	}
	var messages []json.RawMessage
	if err := json.Unmarshal(raw, &messages); err != nil {
		return msgcount.NotSession
	}
	return len(messages)
}

func FuzzCount(f *testing.F) {
	for _, seed := range []string{
		`{"messages":[]}`,
		`{"messages":[{"role":"user","content":"caf\u00e9 \ud83d\ude00"},2,[3]]}`,
		`{"messag\u0065s":[1],"messages":{}}`,
		`{"messages":{},"\u006dessages":[1,2]}`,
		` {"messages" : [ -1.5e+3 , 0 , true , false , null ] } `,
		"{\"messages\":[\"\xe2\x82\xac\xf0\x9f\x98\x80\"]}",
		"{\"messages\":[\"\xed\xa0\x80\"]}",
		"\xef\xbb\xbf{\"messages\":[]}",
		`{"messages":[1,]}`,
		`{"messages":[01]}`,
		`{"messages":[[[[{"messages":[1]}]]]]}`,
		`{"messages":["\u12"]}`,
		`[{"messages":[]}]`,
		"{\"messages\":[]}\f",
	} {
		f.Add([]byte(seed))
	}

	f.Fuzz(func(t *testing.T, doc []byte) {
		got := msgcount.CountBytes(doc)

		chunked, err := msgcount.Count(iotest.OneByteReader(bytes.NewReader(doc)))
		if err != nil {
			t.Fatalf("Count one byte at a time: %v", err)
		}
		if chunked != got {
			t.Fatalf("Count one byte at a time = %d, CountBytes = %d", chunked, got)
		}

		if len(doc) > 4000 || bytes.Contains(doc, []byte("NaN")) || bytes.Contains(doc, []byte("Infinity")) {
			return
		}
		if want := referenceCount(doc); got != want {
			t.Fatalf("CountBytes = %d, encoding/json says %d", got, want)
		}
	})
}
