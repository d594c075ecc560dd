package blobstore

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPlainStart(t *testing.T) {
	for tail, want := range map[string]string{
		"":                "",
		"k01049.json":     "k01049.json",
		"séance ✓.json":   "séance ✓.json",
		"a b+c=d&e.json":  "a b+c=d&e.json",
		"u_v.json":        "u_v.json",
		"u_":              "u_",
		"_u":              "_u",
		"u__v.json":       "u",
		"x__0x41__.json":  "x",
		"a\x01b":          "a",
		"a\nb":            "a",
		"a\x7fb":          "a",
		"dots../x":        "dots..",
		`back\slash`:      "back",
		"100%.json":       "100",
		"q?x":             "q",
		"h#x":             "h",
		`quote"x`:         "quote",
		"bad\xffutf8":     "bad",
		"cut\xe2\x9c":     "cut",
		"\x01from-start":  "",
		"__from-start":    "",
		"ok-then-\x00nul": "ok-then-",
	} {
		assert.Equal(t, want, plainStart(tail), "tail %q", tail)
	}
}
