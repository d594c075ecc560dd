package saveguard_test

import (
	"context"
	"fmt"

	"github.com/spf13/afero"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/saveguard"
)

func Example() {
	ctx := context.Background()
	fsys := afero.NewMemMapFs()
	s := aferofs.New(fsys, "/")
	g := saveguard.New(s)

	_ = g.Save(ctx, "chat", []byte(`{"messages":[{"role":"user"},{"role":"assistant"}]}`))
	// A bug saves the session without its messages: Save keeps a backup.
	_ = g.Save(ctx, "chat", []byte(`{"messages":[]}`))
	// At the next start, recovery restores it.
	report, _ := recovery.RecoverAll(ctx, s, recovery.Options{})
	fmt.Println("restored after the bug:", report.Restored)

	// The user clears the session on purpose: recovery leaves it cleared.
	_ = g.Shrink(ctx, "chat", []byte(`{"messages":[]}`))
	report, _ = recovery.RecoverAll(ctx, s, recovery.Options{})
	fmt.Println("restored after the user's clear:", report.Restored)

	// The user deletes it: not even an orphan restore brings it back.
	_ = g.Delete(ctx, "chat")
	report, _ = recovery.RecoverAll(ctx, s, recovery.Options{RestoreOrphans: true})
	fmt.Println("sessions after the delete:", report.Scanned, "orphans:", len(report.Orphans))
	// Output:
	// restored after the bug: 1
	// restored after the user's clear: 0
	// sessions after the delete: 0 orphans: 0
}

func ExampleGuard_Save_notASession() {
	g := saveguard.New(aferofs.New(afero.NewMemMapFs(), "/"))
	err := g.Save(context.Background(), "chat", []byte(`{"msgs":[]}`))
	fmt.Println(err)
	// Output:
	// saveguard: save session "chat": document is not a session (a JSON object with a "messages" array)
}
