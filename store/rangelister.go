package store

import "context"

// RangeLister is a Store that can start a listing part-way through its
// keys, as a bucket listing can start after a given key. It is optional:
// recovery uses it, on a Remote store, to list disjoint ranges of the top
// level at once and still see them in one key order.
type RangeLister interface {
	Store
	// ListAfter is List restricted to the keys strictly greater than after,
	// compared byte-wise: the same prefix rules, one level deep, the same
	// strictly increasing order, streaming, and fn's error returned
	// unchanged. after need not be a key, nor start with prefix; "" lists
	// from the start, as List does.
	//
	// A store that cannot start a listing part-way on this instance (its
	// driver, or the server it talks to, has no such request) returns an
	// error wrapping errors.ErrUnsupported, before calling fn at all, so
	// that the caller can make a plain List instead and lose nothing.
	ListAfter(ctx context.Context, prefix, after string, fn func(Object) error) error
}
