package storefault_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/afero"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/store/storefault"
)

func Example() {
	fsys := afero.NewMemMapFs()
	_ = afero.WriteFile(fsys, "/chat.json", []byte(`{"messages":[]}`), 0o644)

	// Every Open, Replace and List fails; Write has other kinds of fault.
	s := storefault.New(aferofs.New(fsys, "/"), storefault.Config{
		Rate:  1,
		Seed:  1,
		Kinds: []storefault.Kind{storefault.Error},
	})
	_, err := s.Open(context.Background(), "chat.json")
	fmt.Println(err)
	fmt.Println(errors.Is(err, storefault.ErrInjected))

	stats, _ := storefault.StatsOf(s)
	fmt.Println(stats.Calls, stats.Faults, stats.ByKind)
	// Output:
	// storefault: open "chat.json": injected fault
	// true
	// 1 1 map[Error:1]
}
