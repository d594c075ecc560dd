package store

// Remote is what a Store implements to say that it answers over a network:
// every call waits a round trip, so callers keep many calls in flight
// (recovery handles more sessions at once on such a store). A store that
// does not implement it is taken to be local.
type Remote interface {
	Store
	// Remote reports whether the store's calls go over a network.
	Remote() bool
}

// IsRemote tells whether s says it is a Remote store.
func IsRemote(s Store) bool {
	r, ok := s.(Remote)
	return ok && r.Remote()
}
