// Command app plays the whole protection loop on a temporary directory,
// as an application using package saveguard would live it:
//
//	go run ./examples/app
//
// The app saves a session as it grows to 1,000 messages; a bug saves a
// stub without messages over it (saveguard keeps a backup); the app
// restarts and recovery makes the session whole again. Then the user clears
// the session on purpose, and the next recovery leaves it cleared; the user
// deletes a session, and not even an orphan restore brings it back.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/msgcount"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/saveguard"
	"github.com/c0fe5641/sessionrecovery/store"
)

func main() {
	log.SetFlags(0)
	dir, err := os.MkdirTemp("", "sessionrecovery-app-")
	if err != nil {
		log.Fatal(err)
	}
	err = run(context.Background(), dir)
	os.RemoveAll(dir)
	if err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, dir string) error {
	s, err := local.New(dir)
	if err != nil {
		return err
	}
	defer s.Close()
	g := saveguard.New(s)

	fmt.Println("1. The app saves the session \"trip\" after every message, up to 1,000.")
	for n := 1; n <= 1000; n++ {
		if err := g.Save(ctx, "trip", session("trip", n)); err != nil {
			return err
		}
	}
	if err := show(ctx, s, "trip"); err != nil {
		return err
	}

	fmt.Println("2. A bug saves a metadata-only stub, with an empty \"messages\", over it.")
	if err := g.Save(ctx, "trip", session("trip", 0)); err != nil {
		return err
	}
	if err := show(ctx, s, "trip"); err != nil {
		return err
	}

	fmt.Println("3. The app restarts and runs recovery.")
	if err := recoverAll(ctx, s, recovery.Options{}); err != nil {
		return err
	}
	if err := show(ctx, s, "trip"); err != nil {
		return err
	}

	fmt.Println("4. The user clears the session on purpose (saveguard's Shrink).")
	if err := g.Shrink(ctx, "trip", session("trip", 0)); err != nil {
		return err
	}
	fmt.Println("   The app restarts and runs recovery.")
	if err := recoverAll(ctx, s, recovery.Options{}); err != nil {
		return err
	}
	if err := show(ctx, s, "trip"); err != nil {
		return err
	}

	fmt.Println("5. The user deletes the session \"taxes\", whose backup recovery would otherwise restore.")
	for _, n := range []int{8, 3} { // 8 messages, then 3: Save keeps a backup
		if err := g.Save(ctx, "taxes", session("taxes", n)); err != nil {
			return err
		}
	}
	if err := show(ctx, s, "taxes"); err != nil {
		return err
	}
	if err := g.Delete(ctx, "taxes"); err != nil {
		return err
	}
	fmt.Println("   The app restarts and runs recovery, restoring orphan backups too.")
	if err := recoverAll(ctx, s, recovery.Options{RestoreOrphans: true}); err != nil {
		return err
	}
	if err := show(ctx, s, "taxes"); err != nil {
		return err
	}
	fmt.Println("Done: the accident was repaired, and the user's clear and delete stood.")
	return nil
}

// session is the document an app keeps for a session of n messages.
func session(title string, n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"title":%q,"model":"m","messages":[`, title)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		fmt.Fprintf(&b, `{"role":%q,"content":"message %d"}`, role, i+1)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

func recoverAll(ctx context.Context, s *local.Store, opts recovery.Options) error {
	report, err := recovery.RecoverAll(ctx, s, opts)
	if err != nil {
		return err
	}
	restored := 0
	for _, st := range append(report.Details, report.Orphans...) {
		switch {
		case st.Err != nil:
			return fmt.Errorf("recovery: session %s: %w", st.SessionID, st.Err)
		case st.Restored:
			restored++
			fmt.Printf("   recovery restored %q: %d -> %d messages (the replaced bytes kept in %s)\n", st.SessionID, st.LiveMessages, st.BakMessages, st.PreservedKey)
		}
	}
	if restored == 0 {
		fmt.Printf("   recovery scanned %d session(s) and restored nothing.\n", report.Scanned)
	}
	return nil
}

// show prints what the store holds for session id.
func show(ctx context.Context, s *local.Store, id string) error {
	live, err := count(ctx, s, saveguard.Key(id))
	if err != nil {
		return err
	}
	bak, err := count(ctx, s, saveguard.BackupKey(id))
	if err != nil {
		return err
	}
	fmt.Printf("   %-6s live: %-14s backup: %s\n", id, live, bak)
	return nil
}

func count(ctx context.Context, s *local.Store, key string) (string, error) {
	rc, err := s.Open(ctx, key)
	if errors.Is(err, store.ErrNotExist) {
		return "none", nil
	}
	if err != nil {
		return "", err
	}
	defer rc.Close()
	n, err := msgcount.Count(rc)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d messages", n), nil
}
