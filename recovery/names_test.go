package recovery

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSessionForKey(t *testing.T) {
	for key, want := range map[string]session{
		"a.json":      {id: "a", live: "a.json", backup: "a.json.bak"},
		"a.b.json":    {id: "a.b", live: "a.b.json", backup: "a.b.json.bak"},
		"x.json.json": {id: "x.json", live: "x.json.json", backup: "x.json.json.bak"},
		".json":       {id: ".json", live: ".json", backup: ".json.json.bak"},
		"..json":      {id: ".", live: "..json", backup: "..json.bak"},
		".h.json":     {id: ".h", live: ".h.json", backup: ".h.json.bak"},
	} {
		got, ok := sessionForKey(key)
		assert.True(t, ok, key)
		assert.Equal(t, want, got, key)
	}
	for _, key := range []string{"_index.json", "a.JSON", "a.json.bak", "dir/a.json", "a.json.replaced", "json"} {
		_, ok := sessionForKey(key)
		assert.False(t, ok, key)
	}
}

func TestOrphanForKey(t *testing.T) {
	s, ok := orphanForKey("a.json.bak")
	assert.True(t, ok)
	assert.Equal(t, "a.json", s.live)
	s, ok = orphanForKey(".json.json.bak")
	assert.True(t, ok)
	assert.Equal(t, ".json.json", s.live)
	for _, key := range []string{".json.bak", "_x.json.bak", "a.bak", "a.json", "d/a.json.bak"} {
		_, ok := orphanForKey(key)
		assert.False(t, ok, key)
	}
}

func TestPreservedNames(t *testing.T) {
	var p preserved
	assert.Equal(t, "a.json.replaced", p.next("a.json"))
	for _, key := range []string{"a.json.replaced.x", "a.json.replacedy", "a.json.replaced.-3", "a.json.bak"} {
		p.note("a.json", key)
	}
	assert.Equal(t, "a.json.replaced", p.next("a.json"), "names that are not ours do not count")
	p.note("a.json", "a.json.replaced")
	assert.Equal(t, "a.json.replaced.2", p.next("a.json"))
	p.note("a.json", "a.json.replaced.7")
	assert.Equal(t, "a.json.replaced.8", p.next("a.json"))

	var q preserved
	q.note("a.json", "a.json.replaced.3")
	assert.Equal(t, "a.json.replaced.4", q.next("a.json"), "a numbered copy alone is enough")
}

func TestValidateID(t *testing.T) {
	for _, id := range []string{"a", "20240601_x", "a.b", "..a", "with space", "会话", ".json"} {
		assert.NoError(t, ValidateID(id), id)
	}
	for _, id := range []string{"", ".", "..", "a/b", `a\b`, "a\x00", "_x", "../a"} {
		err := ValidateID(id)
		assert.ErrorIs(t, err, ErrInvalidID, id)
	}
}
