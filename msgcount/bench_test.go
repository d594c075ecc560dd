package msgcount_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/c0fe5641/sessionrecovery/msgcount"
)

// benchDocument returns a chat session of about size bytes, shaped like real
// ones: prose with some non-ASCII text and escapes, code, and tool calls
// whose arguments are JSON held in strings. One word in every rareEvery is
// non-ASCII or escaped. It is the same for the same arguments.
func benchDocument(size, rareEvery int) string {
	rng := rand.New(rand.NewPCG(uint64(size), uint64(rareEvery)))
	common := strings.Fields(`the a to of and in is it you that for on with as this be are
		can file session recovery message error please check function return value
		should would could will run test output input data store key object list
		replace backup restore path directory config option change update version`)
	rare := []string{
		"café", "naïve", "résumé", "日本語", "テキスト", "Привет", "مرحبا", "🙂", "🚀",
		"\"quoted\"", "back\\slash", "tab\there", "C:\\Users\\x", "<html>", "a&b",
		"```go\nfunc main() {\n\tfmt.Println(\"hi\")\n}\n```",
	}
	sentence := func(n int) string {
		var sb strings.Builder
		for i := range n {
			if i > 0 {
				if rng.IntN(12) == 0 {
					sb.WriteString(".\n")
				} else {
					sb.WriteByte(' ')
				}
			}
			if rng.IntN(rareEvery) == 0 {
				sb.WriteString(rare[rng.IntN(len(rare))])
			} else {
				sb.WriteString(common[rng.IntN(len(common))])
			}
		}
		return sb.String()
	}

	type function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	}
	type toolCall struct {
		ID       string   `json:"id"`
		Type     string   `json:"type"`
		Function function `json:"function"`
	}
	type message struct {
		Role      string     `json:"role"`
		Content   string     `json:"content"`
		Timestamp float64    `json:"timestamp"`
		ToolCalls []toolCall `json:"tool_calls,omitempty"`
		Metadata  any        `json:"metadata,omitempty"`
	}
	type session struct {
		ID       string    `json:"id"`
		Model    string    `json:"model"`
		Messages []message `json:"messages"`
		Usage    any       `json:"usage"`
	}

	s := session{ID: "sess-0001", Model: "chat-large", Usage: map[string]int{"input": 123456, "output": 7890}}
	total := 0
	for i := 0; total < size; i++ {
		m := message{
			Role:      []string{"user", "assistant", "tool"}[i%3],
			Content:   sentence(20 + rng.IntN(200)),
			Timestamp: 1.7e9 + float64(i)*1.25,
		}
		if m.Role == "assistant" && rng.IntN(2) == 0 {
			args, _ := json.Marshal(map[string]any{
				"path":    fmt.Sprintf("/srv/data/%d/notes.md", i),
				"query":   sentence(8),
				"options": map[string]any{"limit": 10, "recursive": true, "filters": []string{"a", "b"}},
			})
			m.ToolCalls = []toolCall{{ID: fmt.Sprintf("call_%d", i), Type: "function", Function: function{Name: "search", Arguments: string(args)}}}
			m.Metadata = map[string]any{"latency_ms": 123.5, "tokens": []int{1, 2, 3}, "nested": map[string]any{"ok": true, "v": nil}}
		}
		s.Messages = append(s.Messages, m)
		total += len(m.Content) + 64
		for _, tc := range m.ToolCalls {
			total += len(tc.Function.Arguments) + 160
		}
	}
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		panic(err)
	}
	return string(b)
}

// BenchmarkCount counts a 1 MB session through a reused Counter: one where
// one word in 20 is non-ASCII or escaped, and one where most are.
func BenchmarkCount(b *testing.B) {
	for _, bc := range []struct {
		name      string
		rareEvery int
	}{{"chat", 20}, {"unicode-heavy", 2}} {
		b.Run(bc.name, func(b *testing.B) {
			doc := []byte(benchDocument(1<<20, bc.rareEvery))
			var c msgcount.Counter
			r := bytes.NewReader(doc)
			if n, err := c.Count(r); err != nil || n <= 0 {
				b.Fatalf("Count = %d, %v", n, err)
			}
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(doc)
				if _, err := c.Count(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCountBytes counts the "chat" session of BenchmarkCount in memory.
func BenchmarkCountBytes(b *testing.B) {
	doc := []byte(benchDocument(1<<20, 20))
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		msgcount.CountBytes(doc)
	}
}
