package bucketsim

import (
	"slices"
	"sort"
	"sync"
)

// overlay holds what clients wrote over the synthetic objects: objects
// put or copied, and keys deleted (nil objects).
type overlay struct {
	mu   sync.RWMutex
	objs map[string]*object
	keys []string // the keys of objs, sorted
}

// get returns the overlay's entry for key: written says whether there is
// one, obj is nil for a deleted key.
func (o *overlay) get(key string) (obj *object, written bool) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	obj, written = o.objs[key]
	return obj, written
}

// set makes obj (nil: deleted) the entry for key.
func (o *overlay) set(key string, obj *object) {
	if _, ok := o.objs[key]; !ok {
		i, _ := slices.BinarySearch(o.keys, key)
		o.keys = slices.Insert(o.keys, i, key)
	}
	o.objs[key] = obj
}

// after returns the first overlay key at or after lo, with its entry.
func (o *overlay) after(lo string) (key string, obj *object, ok bool) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	i := sort.SearchStrings(o.keys, lo)
	if i == len(o.keys) {
		return "", nil, false
	}
	key = o.keys[i]
	return key, o.objs[key], true
}

// written returns a copy of the objects written and not deleted.
func (o *overlay) written() map[string][]byte {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make(map[string][]byte, len(o.objs))
	for k, obj := range o.objs {
		if obj != nil {
			out[k] = slices.Clone(obj.body)
		}
	}
	return out
}
