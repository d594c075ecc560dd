package aferofs_test

import (
	"context"
	"fmt"
	"io"
	"log"

	"github.com/spf13/afero"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/store"
)

func Example() {
	// Objects written by an application, under the names the store uses:
	// filepath.Join(root, key).
	fsys := afero.NewMemMapFs()
	_ = afero.WriteFile(fsys, "/sessions/s1.json", []byte(`{"messages":[]}`), 0o644)
	_ = afero.WriteFile(fsys, "/sessions/s1.json.bak", []byte(`{"messages":[{"role":"user"}]}`), 0o644)

	s := aferofs.New(fsys, "/")
	ctx := context.Background()
	err := s.List(ctx, "sessions/", func(o store.Object) error {
		fmt.Println(o.Key, o.Size)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}

	rc, err := s.Open(ctx, "sessions/s1.json.bak")
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(b))
	// Output:
	// sessions/s1.json 15
	// sessions/s1.json.bak 30
	// {"messages":[{"role":"user"}]}
}
