// Command local recovers a copy of the sample session directory on disk.
//
//	go run ./examples/local [-dir examples/sessions]
//
// It copies the directory to a temporary one first, so the sample stays as
// shipped, then prints what recovery did and what the directory holds after.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/recovery"
)

func main() {
	dir := flag.String("dir", "examples/sessions", "the session directory to recover a copy of")
	flag.Parse()

	work, err := os.MkdirTemp("", "sessionrecovery-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	if err := os.CopyFS(work, os.DirFS(*dir)); err != nil {
		log.Fatalf("copy %s: %v", *dir, err)
	}

	s, err := local.New(work)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	report, err := recovery.RecoverAll(context.Background(), s, recovery.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("recovered a copy of %s: %d sessions scanned, %d restored\n", *dir, report.Scanned, report.Restored)
	for _, st := range report.Details {
		switch {
		case st.Err != nil:
			fmt.Printf("  %-24s error: %v\n", st.SessionID, st.Err)
		case st.Restored:
			fmt.Printf("  %-24s restored: %d -> %d messages; old bytes kept in %s\n", st.SessionID, st.LiveMessages, st.BakMessages, st.PreservedKey)
		default:
			fmt.Printf("  %-24s %s\n", st.SessionID, st.Recommend)
		}
	}
	names, err := filepath.Glob(filepath.Join(work, "*"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("the copy now holds:")
	for _, n := range names {
		fmt.Println("  " + filepath.Base(n))
	}
}
