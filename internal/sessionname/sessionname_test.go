package sessionname

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestForKey(t *testing.T) {
	for key, want := range map[string]Names{
		"a.json":      {ID: "a", Live: "a.json", Backup: "a.json.bak"},
		"a.b.json":    {ID: "a.b", Live: "a.b.json", Backup: "a.b.json.bak"},
		"x.json.json": {ID: "x.json", Live: "x.json.json", Backup: "x.json.json.bak"},
		".json":       {ID: ".json", Live: ".json", Backup: ".json.json.bak"},
		"..json":      {ID: ".", Live: "..json", Backup: "..json.bak"},
		".h.json":     {ID: ".h", Live: ".h.json", Backup: ".h.json.bak"},
	} {
		got, ok := ForKey(key)
		assert.True(t, ok, key)
		assert.Equal(t, want, got, key)
	}
	for _, key := range []string{"_index.json", "a.JSON", "a.json.bak", "dir/a.json", "a.json.replaced", "json"} {
		_, ok := ForKey(key)
		assert.False(t, ok, key)
	}
}

func TestForBackup(t *testing.T) {
	s, ok := ForBackup("a.json.bak")
	assert.True(t, ok)
	assert.Equal(t, "a.json", s.Live)
	s, ok = ForBackup(".json.json.bak")
	assert.True(t, ok)
	assert.Equal(t, ".json.json", s.Live)
	for _, key := range []string{".json.bak", "_x.json.bak", "a.bak", "a.json", "d/a.json.bak"} {
		_, ok := ForBackup(key)
		assert.False(t, ok, key)
	}
}

func TestKeptNames(t *testing.T) {
	take := func(p *Kept) string {
		name, ok := p.Take("a.json")
		require.True(t, ok)
		return name
	}
	var p Kept
	for _, key := range []string{"a.json.replaced.x", "a.json.replacedy", "a.json.replaced.-3", "a.json.replaced.+9", "a.json.replaced.07", "a.json.bak"} {
		p.Note("a.json", key)
	}
	q := p
	assert.Equal(t, "a.json.replaced", take(&p), "names that are not ours do not count")
	assert.Equal(t, "a.json.replaced.2", take(&p), "a name taken is not given again")
	assert.Equal(t, "a.json.replaced.3", take(&p))
	q.Note("a.json", "a.json.replaced")
	assert.Equal(t, "a.json.replaced.2", take(&q))
	q.Note("a.json", "a.json.replaced.7")
	assert.Equal(t, "a.json.replaced.8", take(&q))

	var r Kept
	r.Note("a.json", "a.json.replaced.3")
	assert.Equal(t, "a.json.replaced.4", take(&r), "a numbered copy alone is enough")
}

// A leftover name with a huge number neither overflows the numbering nor
// makes it give a taken name again.
func TestKeptNamesNeverWrap(t *testing.T) {
	var p Kept
	for _, key := range []string{"a.json.replaced", "a.json.replaced.2", "a.json.replaced.9223372036854775807", "a.json.replaced.99999999999999999999"} {
		p.Note("a.json", key)
	}
	name, ok := p.Take("a.json")
	require.True(t, ok)
	assert.Equal(t, "a.json.replaced.3", name)

	var full Kept
	full.Note("a.json", "a.json.replaced")
	full.Note("a.json", fmt.Sprintf("a.json.replaced.%d", MaxKeptN))
	_, ok = full.Take("a.json")
	assert.False(t, ok, "used up: an error, never a name that exists")
}

func TestValidateID(t *testing.T) {
	for _, id := range []string{"a", "20240601_x", "a.b", "..a", "with space", "会话", ".json", `a\b`} {
		assert.NoError(t, ValidateID(id), id)
	}
	for _, id := range []string{"", ".", "..", "a/b", "a\x00", "_x", "../a"} {
		err := ValidateID(id)
		assert.ErrorIs(t, err, ErrInvalidID, id)
	}
}

func TestForKept(t *testing.T) {
	for key, live := range map[string]string{
		"a.json.replaced":               "a.json",
		"a.json.replaced.2":             "a.json",
		"a.json.replaced.2147483647":    "a.json",
		"x.json.replaced.json.replaced": "x.json.replaced.json",
	} {
		n, ok := ForKept(key)
		assert.True(t, ok, key)
		assert.Equal(t, live, n.Live, key)
	}
	for _, key := range []string{
		"a.json", "a.json.bak", "a.json.replaced.1", "a.json.replaced.02", "a.json.replaced.x",
		"a.json.replaced.2147483648", "_index.json.replaced", "d/a.json.replaced", "a.replaced", "a.json.replaced.",
	} {
		_, ok := ForKept(key)
		assert.False(t, ok, key)
	}
}

// Latest is the name Take gave last: the copy a restore kept most recently.
func TestKeptLatest(t *testing.T) {
	var k Kept
	_, ok := k.Latest("a.json")
	assert.False(t, ok, "nothing noted")
	var odd Kept
	odd.Note("a.json", "a.json.replaced.1") // not a name Take gives
	_, ok = odd.Latest("a.json")
	assert.False(t, ok)
	for _, want := range []string{"a.json.replaced", "a.json.replaced.2", "a.json.replaced.3"} {
		taken, ok := k.Take("a.json")
		require.True(t, ok)
		require.Equal(t, want, taken)
		latest, ok := k.Latest("a.json")
		assert.True(t, ok)
		assert.Equal(t, want, latest)
	}
	var listed Kept
	for _, key := range []string{"a.json.replaced", "a.json.replaced.10", "a.json.replaced.9", "a.json.replaced.010"} {
		listed.Note("a.json", key)
	}
	latest, _ := listed.Latest("a.json")
	assert.Equal(t, "a.json.replaced.10", latest, "numbers, not key order")
}
