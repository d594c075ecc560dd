package backends_test

import (
	"testing"

	"github.com/c0fe5641/sessionrecovery/recovery/recoverytest"
	"github.com/c0fe5641/sessionrecovery/recoveryhttp/recoveryhttptest"
	"github.com/c0fe5641/sessionrecovery/store"
)

// TestRecovery runs the recovery scenarios on every backend: the same
// sessions must be recovered the same way whatever holds them.
func TestRecovery(t *testing.T) {
	for _, b := range everyBackend {
		t.Run(b.name, func(t *testing.T) {
			recoverytest.Run(t, func(t *testing.T, objects map[string][]byte) store.Store {
				return b.make(t, objects)
			})
		})
	}
}

// TestHTTP runs the HTTP handler's routes, errors and limits over a real
// server on every backend.
func TestHTTP(t *testing.T) {
	for _, b := range everyBackend {
		t.Run(b.name, func(t *testing.T) {
			recoveryhttptest.Run(t, func(t *testing.T, objects map[string][]byte) store.Store {
				return b.make(t, objects)
			})
		})
	}
}
