// Command memory recovers sessions kept in an in-memory afero filesystem:
// the way to use recovery in an application's own tests.
//
//	go run ./examples/memory
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"

	"github.com/spf13/afero"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/recovery"
)

func main() {
	fsys := afero.NewMemMapFs()
	write := func(name, doc string) {
		if err := afero.WriteFile(fsys, "/sessions/"+name, []byte(doc), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	// A bug saved a stub over a session; the save path had kept a backup.
	write("chat.json", `{"title":"chat","messages":[]}`)
	write("chat.json.bak", `{"title":"chat","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}`)
	write("notes.json", `{"title":"notes","messages":[{"role":"user","content":"remember milk"}]}`)
	write("_index.json", `["chat","notes"]`)

	s := aferofs.New(fsys, "/sessions")
	report, err := recovery.RecoverAll(context.Background(), s, recovery.Options{CountAll: true})
	if err != nil {
		log.Fatal(err)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(report); err != nil {
		log.Fatal(err)
	}
	restored, err := afero.ReadFile(fsys, "/sessions/chat.json")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("chat.json now: %s\n", restored)
}
