package recovery

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	take := func(p *preserved) string {
		name, ok := p.take("a.json")
		require.True(t, ok)
		return name
	}
	var p preserved
	for _, key := range []string{"a.json.replaced.x", "a.json.replacedy", "a.json.replaced.-3", "a.json.replaced.+9", "a.json.replaced.07", "a.json.bak"} {
		p.note("a.json", key)
	}
	q := p
	assert.Equal(t, "a.json.replaced", take(&p), "names that are not ours do not count")
	assert.Equal(t, "a.json.replaced.2", take(&p), "a name taken is not given again")
	assert.Equal(t, "a.json.replaced.3", take(&p))
	q.note("a.json", "a.json.replaced")
	assert.Equal(t, "a.json.replaced.2", take(&q))
	q.note("a.json", "a.json.replaced.7")
	assert.Equal(t, "a.json.replaced.8", take(&q))

	var r preserved
	r.note("a.json", "a.json.replaced.3")
	assert.Equal(t, "a.json.replaced.4", take(&r), "a numbered copy alone is enough")
}

// A leftover name with a huge number neither overflows the numbering nor
// makes it give a taken name again.
func TestPreservedNamesNeverWrap(t *testing.T) {
	var p preserved
	for _, key := range []string{"a.json.replaced", "a.json.replaced.2", "a.json.replaced.9223372036854775807", "a.json.replaced.99999999999999999999"} {
		p.note("a.json", key)
	}
	name, ok := p.take("a.json")
	require.True(t, ok)
	assert.Equal(t, "a.json.replaced.3", name)

	var full preserved
	full.note("a.json", "a.json.replaced")
	full.note("a.json", fmt.Sprintf("a.json.replaced.%d", maxKeptN))
	_, ok = full.take("a.json")
	assert.False(t, ok, "used up: an error, never a name that exists")
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
