package sessiongen

import (
	"bytes"
	"math/rand/v2"
	"strconv"
)

// The vocabulary of message contents: mostly plain English words, some
// words from other scripts and emoji, some pieces that need JSON escapes
// (quotes, backslashes, tabs), and code blocks.
var (
	commonWords = []string{
		"the", "a", "to", "of", "and", "in", "is", "it", "you", "that", "for", "on", "with",
		"as", "this", "be", "are", "can", "I", "we", "not", "or", "if", "but", "so", "what",
		"file", "session", "message", "error", "please", "check", "function", "return",
		"value", "should", "would", "could", "will", "run", "test", "output", "input", "data",
		"key", "object", "list", "replace", "backup", "restore", "path", "directory", "config",
		"option", "change", "update", "version", "here", "there", "when", "then", "because",
		"model", "request", "response", "server", "client", "query", "table", "column", "index",
		"user", "account", "password", "token", "limit", "page", "result", "results", "field",
		"number", "string", "array", "type", "class", "method", "module", "package", "import",
		"build", "deploy", "release", "branch", "commit", "merge", "review", "issue", "bug",
		"fix", "feature", "line", "code", "example", "question", "answer", "idea", "plan",
		"trip", "hotel", "flight", "recipe", "garden", "tax", "budget", "meeting", "email",
		"schedule", "summary", "draft", "note", "notes", "first", "second", "next", "last",
		"more", "less", "only", "also", "just", "still", "again", "already", "maybe", "sure",
		"thanks", "great", "good", "better", "best", "simple", "quick", "easy", "hard", "new",
		"old", "same", "different", "important", "possible", "likely", "usually", "instead",
	}
	unicodeWords = []string{
		"café", "naïve", "déjà vu", "über", "São Paulo", "Ångström", "façade", "crème brûlée",
		"Zürich", "jalapeño", "piñata", "résumé", "coöperate", "Øresund", "Łódź", "Straße",
		"日本語", "東京", "こんにちは", "テキスト", "中文", "你好世界", "한국어", "Привет", "спасибо",
		"Ελληνικά", "مرحبا", "שלום", "हिन्दी", "ไทย", "—", "…", "“quoted”", "‘single’", "€42",
		"£10", "±0.5", "°C", "→", "✓", "🙂", "🚀", "👍🏽", "🎉", "🤔", "👨‍👩‍👧", "🇫🇷", "∑", "π≈3.14",
	}
	escapedWords = []string{
		`"quoted"`, `"hello"`, `C:\Users\dev\project`, `\n`, `a\tb`, "tab\there",
		`regex \d+\.\d+`, `say "yes"`, `{"k": "v"}`, `<div class="x">`, "a && b", "x < y > z",
		`path\to\file.txt`, "line one\nline two", "\"nested \\\"quotes\\\"\"",
	}
	names = []string{
		"config", "session", "user", "items", "result", "data", "parser", "client", "cache",
		"handler", "store", "report", "backup", "index", "queue", "worker", "token", "retry",
	}
	toolNames = []string{
		"read_file", "write_file", "search", "run_shell", "get_weather", "list_directory",
		"query_database", "fetch_url", "calendar_create_event", "python",
	}
	models = []string{
		"gpt-4o-2024-08-06", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o3", "o4-mini",
		"gpt-3.5-turbo-0125",
	}
)

// codeBlock appends a fenced code block to dst.
func codeBlock(dst []byte, rng *rand.Rand) []byte {
	n1 := names[rng.IntN(len(names))]
	n2 := names[rng.IntN(len(names))]
	num := strconv.Itoa(rng.IntN(1000))
	switch rng.IntN(5) {
	case 0:
		dst = append(dst, "```python\nimport json\nfrom pathlib import Path\n\ndef load_"...)
		dst = append(dst, n1...)
		dst = append(dst, "(path: Path) -> dict:\n    \"\"\"Load the "...)
		dst = append(dst, n2...)
		dst = append(dst, " file.\"\"\"\n    with open(path, \"r\", encoding=\"utf-8\") as f:\n        data = json.load(f)\n    if len(data.get(\"messages\", [])) > "...)
		dst = append(dst, num...)
		dst = append(dst, ":\n        print(f\"too many: {path!r}\\n\")\n    return data\n```"...)
	case 1:
		dst = append(dst, "```go\nfunc "...)
		dst = append(dst, n1...)
		dst = append(dst, "(ctx context.Context, key string) error {\n\tif key == \"\" {\n\t\treturn errors.New(\"empty key\")\n\t}\n\tfmt.Printf(\"%s: %d\\n\", key, "...)
		dst = append(dst, num...)
		dst = append(dst, ")\n\treturn "...)
		dst = append(dst, n2...)
		dst = append(dst, ".Save(ctx, `C:\\tmp\\"...)
		dst = append(dst, n2...)
		dst = append(dst, "`)\n}\n```"...)
	case 2:
		dst = append(dst, "```javascript\nconst "...)
		dst = append(dst, n1...)
		dst = append(dst, " = await fetch(`/api/"...)
		dst = append(dst, n2...)
		dst = append(dst, "/${id}`, { method: 'POST', body: JSON.stringify({ limit: "...)
		dst = append(dst, num...)
		dst = append(dst, ", tags: [\"a\", \"b\"] }) });\nconsole.log(\"done\\t\", "...)
		dst = append(dst, n1...)
		dst = append(dst, ".status);\n```"...)
	case 3:
		dst = append(dst, "```bash\n$ grep -rn \"TODO\" src/ | wc -l\n"...)
		dst = append(dst, num...)
		dst = append(dst, "\n$ find . -name '*.json' -size +1M -exec ls -lh {} \\;\n$ echo \"$HOME/"...)
		dst = append(dst, n1...)
		dst = append(dst, "\" && cat ~/."...)
		dst = append(dst, n2...)
		dst = append(dst, "rc\n```"...)
	default:
		dst = append(dst, "```sql\nSELECT id, name, created_at\nFROM "...)
		dst = append(dst, n1...)
		dst = append(dst, "\nWHERE status = 'active' AND score > "...)
		dst = append(dst, num...)
		dst = append(dst, "\nORDER BY created_at DESC\nLIMIT 10;\n```"...)
	}
	return dst
}

// prose appends about n bytes of text to dst: sentences and paragraphs,
// with code blocks when code is set, and now and then a list.
func prose(dst []byte, rng *rand.Rand, n int, code bool) []byte {
	end := len(dst) + n
	sentences := 0
	for len(dst) < end {
		if rng.IntN(25) == 0 {
			dst = endParagraph(dst)
			for i := range 2 + rng.IntN(4) {
				dst = append(dst, "- "...)
				dst = append(dst, "**"...)
				dst = strconv.AppendInt(dst, int64(i+1), 10)
				dst = append(dst, "** "...)
				dst = sentence(dst, rng, 3+rng.IntN(6))
				dst = append(dst, '\n')
			}
			dst = append(dst, '\n')
			continue
		}
		if code && rng.IntN(10) == 0 {
			dst = endParagraph(dst)
			dst = codeBlock(dst, rng)
			dst = append(dst, "\n\n"...)
			continue
		}
		dst = sentence(dst, rng, 5+rng.IntN(16))
		switch rng.IntN(8) {
		case 0:
			dst = append(dst, '?')
		case 1:
			dst = append(dst, '!')
		default:
			dst = append(dst, '.')
		}
		sentences++
		if sentences%4 == 0 {
			dst = append(dst, "\n\n"...)
		} else {
			dst = append(dst, ' ')
		}
	}
	// Trailing separators look odd at the end of a message.
	for len(dst) > 0 && (dst[len(dst)-1] == ' ' || dst[len(dst)-1] == '\n') {
		dst = dst[:len(dst)-1]
	}
	return dst
}

// endParagraph ends the paragraph dst ends with, if any, with a blank line.
func endParagraph(dst []byte) []byte {
	for len(dst) > 0 && dst[len(dst)-1] == ' ' {
		dst = dst[:len(dst)-1]
	}
	if len(dst) == 0 || bytes.HasSuffix(dst, []byte("\n\n")) {
		return dst
	}
	if dst[len(dst)-1] == '\n' {
		return append(dst, '\n')
	}
	return append(dst, "\n\n"...)
}

// sentence appends n words, the first capitalised.
func sentence(dst []byte, rng *rand.Rand, n int) []byte {
	for i := range n {
		if i > 0 {
			if rng.IntN(15) == 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, ' ')
		}
		var w string
		switch r := rng.IntN(100); {
		case r < 4:
			w = unicodeWords[rng.IntN(len(unicodeWords))]
		case r < 6:
			w = escapedWords[rng.IntN(len(escapedWords))]
		case r < 7:
			dst = strconv.AppendInt(dst, int64(rng.IntN(100000)), 10)
			continue
		default:
			w = commonWords[rng.IntN(len(commonWords))]
		}
		start := len(dst)
		dst = append(dst, w...)
		if i == 0 && 'a' <= dst[start] && dst[start] <= 'z' {
			dst[start] -= 'a' - 'A'
		}
	}
	return dst
}

const idChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomID appends prefix and n random letters and digits to dst.
func randomID(dst []byte, rng *rand.Rand, prefix string, n int) []byte {
	dst = append(dst, prefix...)
	for range n {
		dst = append(dst, idChars[rng.IntN(len(idChars))])
	}
	return dst
}
