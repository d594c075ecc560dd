package recovery_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/c0fe5641/sessionrecovery/msgcount"
	"github.com/c0fe5641/sessionrecovery/recovery"
)

// topLevelScalars adds multi-byte top-level scalars to the generated
// documents; off, so that the fuzz test looks past the known scanner bug
// (TestMergeOfASessionWithTopLevelScalars).
const topLevelScalars = false

// genMsg is one logical message, written in several equal ways.
type genMsg struct{ forms []string }

var genPool = func() []genMsg {
	long := func(n int, unit string) string { return strings.Repeat(unit, n/len(unit)+1)[:n/len(unit)*len(unit)] }
	return []genMsg{
		{[]string{`{"role":"user","content":"a"}`, `{ "content" : "a" ,"role":"user" }`, `{"role":"user","content":"\u0061"}`, "{\n\t\"role\": \"user\",\n\t\"content\": \"a\"\n}"}},
		{[]string{`{"role":"assistant","content":"b ] [ } { , \" \\ messages"}`, `{"content":"b ] [ } { , \" \\ m\u0065ssages","role":"assistant"}`}},
		{[]string{`1`, ` 1`}},
		{[]string{`"x"`, `"\u0078"`}},
		{[]string{`[[1,[2]],{"a":[]}]`, `[ [1, [2] ], {"a": [ ] } ]`}},
		{[]string{`{}`, `{ }`}},
		{[]string{`null`}},
		{[]string{`true`}},
		{[]string{`{"role":"user","content":"\"]","messages":[1,2]}`, `{"messages":[1, 2],"content":"\"]","role":"user"}`}},
		{[]string{`{"role":"user","content":"1.0"}`}},
		{[]string{`{"n":1.0}`}},
		{[]string{`{"n":1}`}},
		{[]string{`"\\\\\\\""`}},
		{[]string{`{"k":"caf\u00e9 🙂","k":"later"}`, `{"k":"later"}`}},
		// Long, with escaped quotes and backslashes everywhere, to cross
		// the scanner's and the copies' 64 KiB buffers.
		{[]string{`{"role":"tool","content":"` + long(70_000, `ab\"cd\\e`) + `"}`}},
		{[]string{`"` + long(66_000, `\\\"`) + `"`}},
	}
}()

type genDoc struct {
	doc                 []byte
	first, end          int      // the messages' bytes: doc[first:end]
	msgs                []string // raw
	sep0                string   // Layout.Sep: the comma and what follows it, between the first two
	prefixEnd, suffixAt int
}

func ws(rng *rand.Rand) string {
	switch rng.IntN(5) {
	case 0:
		return " "
	case 1:
		return "\n  "
	case 2:
		return "\r\n\t"
	}
	return ""
}

func genMember(rng *rand.Rand, big bool) string {
	keys := []string{`"title"`, `"mess\u0061ges_not"`, `"messages "`, `"m"`, `"k\"ey"`, `"\\"`}
	vals := []string{`"t ] [ \" \\"`, `{"messages":[1,2,3]}`, `[[[]],{"a":{"b":[{}]}}]`, `0`, `"messages"`, `{"x":"}"}`, `[]`}
	if topLevelScalars {
		vals = append(vals, `true`, `false`, `null`, `1712345678`, `-1.5e3`)
	}
	v := vals[rng.IntN(len(vals))]
	if big && rng.IntN(3) == 0 {
		v = `"` + strings.Repeat(`x\"y\\`, 14_000) + `"`
	}
	if rng.IntN(8) == 0 {
		v = strings.Repeat("[", 300) + strings.Repeat("]", 300)
	}
	return ws(rng) + keys[rng.IntN(len(keys))] + ws(rng) + ":" + ws(rng) + v + ws(rng)
}

func genDocument(rng *rand.Rand, picks []int, big bool) genDoc {
	var b strings.Builder
	var members []string
	for range rng.IntN(3) {
		members = append(members, genMember(rng, big))
	}
	if rng.IntN(3) == 0 { // an earlier "messages" member, which does not count
		members = append(members, ws(rng)+`"messages":[{"role":"decoy"},7]`)
	}
	b.WriteString("{")
	b.WriteString(strings.Join(members, ","))
	if len(members) > 0 {
		b.WriteString(",")
	}
	key := []string{`"messages"`, `"m\u0065ssages"`, `"\u006d\u0065\u0073\u0073\u0061\u0067\u0065\u0073"`}[rng.IntN(3)]
	b.WriteString(ws(rng) + key + ws(rng) + ":" + ws(rng) + "[" + ws(rng))
	g := genDoc{prefixEnd: b.Len()}
	g.first = b.Len()
	for i, p := range picks {
		forms := genPool[p].forms
		raw := strings.TrimLeft(forms[rng.IntN(len(forms))], " ")
		if i > 0 {
			w1, w2 := ws(rng), ws(rng)
			b.WriteString(w1 + "," + w2)
			if i == 1 {
				g.sep0 = "," + w2
			}
		}
		b.WriteString(raw)
		g.msgs = append(g.msgs, raw)
	}
	g.end = b.Len()
	g.suffixAt = g.end
	b.WriteString(ws(rng) + "]" + ws(rng))
	members = nil
	for range rng.IntN(3) {
		members = append(members, ","+genMember(rng, big))
	}
	b.WriteString(strings.Join(members, "") + "}" + ws(rng))
	g.doc = []byte(b.String())
	return g
}

func canon(t *testing.T, raw []byte) string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", raw, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func refMessages(t *testing.T, doc []byte) []string {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	var msgs []json.RawMessage
	if err := json.Unmarshal(top["messages"], &msgs); err != nil {
		t.Fatalf("unmarshal messages: %v", err)
	}
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = canon(t, m)
	}
	return out
}

// minus is the elements of a beyond b's occurrences of them, in order.
func minus(a, b []string) (out []int) {
	have := map[string]int{}
	for _, m := range b {
		have[m]++
	}
	for i, m := range a {
		if have[m] > 0 {
			have[m]--
			continue
		}
		out = append(out, i)
	}
	return out
}

// FuzzMergeAgreesWithEncodingJSON merges generated sessions through
// recovery on an in-memory aferofs store and checks the result against a
// merge computed with encoding/json: the backup's messages then the live
// document's extras (as a multiset), the rest of the document byte for
// byte from the side kept, the backup untouched, the replaced bytes kept.
func FuzzMergeAgreesWithEncodingJSON(f *testing.F) {
	for i := range 40 {
		f.Add(uint64(i), uint8(i))
	}
	f.Fuzz(func(t *testing.T, seed uint64, shape uint8) {
		rng := rand.New(rand.NewPCG(seed, uint64(shape)))
		big := shape%8 == 0
		n := len(genPool)
		if !big {
			n -= 2
		}
		pick := func(k int) []int {
			out := make([]int, k)
			for i := range out {
				out[i] = rng.IntN(min(n, 3+int(shape%5)*3))
			}
			return out
		}
		shared := pick(rng.IntN(4))
		bakPicks := append(append([]int{}, shared...), pick(rng.IntN(5))...)
		livePicks := append(append([]int{}, shared...), pick(rng.IntN(5))...)
		bak, live := genDocument(rng, bakPicks, big), genDocument(rng, livePicks, big)
		for _, g := range []genDoc{bak, live} {
			if msgcount.CountBytes(g.doc) != len(g.msgs) {
				t.Fatalf("generator: %q counts %d, not %d", g.doc, msgcount.CountBytes(g.doc), len(g.msgs))
			}
		}
		B, L := refMessages(t, bak.doc), refMessages(t, live.doc)
		dropped := minus(L, B)
		returning := minus(B, L)

		s, fsys := memStore(t, map[string][]byte{"s.json": live.doc, "s.json.bak": bak.doc})
		r, err := recovery.RecoverAll(context.Background(), s, recovery.Options{Merge: true})
		if err != nil {
			t.Fatal(err)
		}
		st := r.Details[0]
		if testing.Verbose() {
			t.Logf("outcome %s merged=%v restored=%v big=%v", st.Recommend, st.Merged, st.Restored, big)
		}
		if st.Err != nil {
			t.Fatalf("%v\nlive %q\nbak %q", st.Err, live.doc, bak.doc)
		}
		got := readMem(t, fsys, "s.json")
		if !bytes.Equal(readMem(t, fsys, "s.json.bak"), bak.doc) {
			t.Fatal("the backup changed")
		}
		var want []byte
		var side genDoc
		sep := ""
		switch {
		case len(B) > len(L) && len(dropped) == 0:
			want = bak.doc
		case len(B) > len(L):
			side, sep = bak, cmp.Or(bak.sep0, live.sep0, ",")
		case len(returning) > 0:
			side, sep = live, cmp.Or(live.sep0, bak.sep0, ",")
		default:
			want = live.doc
		}
		if want == nil {
			var w bytes.Buffer
			w.Write(side.doc[:side.first])
			w.Write(bak.doc[bak.first:bak.end])
			for k, i := range dropped {
				if k > 0 || len(B) > 0 {
					w.WriteString(sep)
				}
				w.WriteString(live.msgs[i])
			}
			w.Write(side.doc[side.end:])
			want = w.Bytes()
			wantMsgs := append(append([]string{}, B...), func() (o []string) {
				for _, i := range dropped {
					o = append(o, L[i])
				}
				return
			}()...)
			if gotMsgs := refMessages(t, got); fmt.Sprint(gotMsgs) != fmt.Sprint(wantMsgs) {
				t.Fatalf("messages\n got %.2000q\nwant %.2000q", gotMsgs, wantMsgs)
			}
			if !st.Restored || (len(dropped) > 0) != st.Merged {
				t.Fatalf("Restored %v Merged %v with %d dropped", st.Restored, st.Merged, len(dropped))
			}
			if !bytes.Equal(readMem(t, fsys, st.PreservedKey), live.doc) {
				t.Fatal("the replaced bytes are not kept")
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("merge\n got %.3000q\nwant %.3000q\nlive %.2000q\nbak %.2000q", got, want, live.doc, bak.doc)
		}
		if msgcount.CountBytes(got) != len(B)+len(dropped) && want != nil && !bytes.Equal(want, live.doc) && !bytes.Equal(want, bak.doc) {
			t.Fatalf("count %d", msgcount.CountBytes(got))
		}
	})
}
