package recovery_test

import (
	"context"
	"fmt"

	"github.com/spf13/afero"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/recovery"
)

func ExampleRecoverAll() {
	fsys := afero.NewMemMapFs()
	_ = afero.WriteFile(fsys, "/chat.json", []byte(`{"messages":[]}`), 0o644)
	_ = afero.WriteFile(fsys, "/chat.json.bak", []byte(`{"messages":[{"role":"user"},{"role":"assistant"}]}`), 0o644)
	_ = afero.WriteFile(fsys, "/notes.json", []byte(`{"messages":[{"role":"user"}]}`), 0o644)

	report, err := recovery.RecoverAll(context.Background(), aferofs.New(fsys, "/"), recovery.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, st := range report.Details {
		fmt.Printf("%s: live %d, backup %d, %s, restored %v\n", st.SessionID, st.LiveMessages, st.BakMessages, st.Recommend, st.Restored)
	}
	b, _ := afero.ReadFile(fsys, "/chat.json")
	fmt.Println(string(b))
	// Output:
	// chat: live 0, backup 2, restore, restored true
	// notes: live -2, backup -1, no_backup, restored false
	// {"messages":[{"role":"user"},{"role":"assistant"}]}
}

func ExampleInspect() {
	fsys := afero.NewMemMapFs()
	_ = afero.WriteFile(fsys, "/chat.json", []byte(`{"messages":[]}`), 0o644)
	_ = afero.WriteFile(fsys, "/chat.json.bak", []byte(`{"messages":[1,2,3]}`), 0o644)

	st, err := recovery.Inspect(context.Background(), aferofs.New(fsys, "/"), "chat")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.LiveMessages, st.BakMessages, st.Recommend)
	// Output:
	// 0 3 restore
}

// A session wiped by a bug, then written in again past its backup's
// count: the count rule advises nothing, the preview finds what was lost.
func ExamplePreview() {
	fsys := afero.NewMemMapFs()
	_ = afero.WriteFile(fsys, "/chat.json", []byte(`{"messages":[{"role":"user","content":"new 1"},{"role":"user","content":"new 2"}]}`), 0o644)
	_ = afero.WriteFile(fsys, "/chat.json.bak", []byte(`{"messages":[{"role":"user","content":"plan a trip"}]}`), 0o644)

	st, err := recovery.Preview(context.Background(), aferofs.New(fsys, "/"), "chat")
	if err != nil {
		fmt.Println(err)
		return
	}
	d := st.Diff
	fmt.Println(st.Recommend)
	fmt.Printf("a restore brings back %d (first: %q), drops %d\n", d.Returning.Count, d.Returning.First.Start, d.Dropped.Count)
	// Output:
	// merge
	// a restore brings back 1 (first: "plan a trip"), drops 2
}

// The same session, merged: the backup's messages, then those the user
// wrote since, each once; the replaced bytes are kept, as by any restore.
func ExampleOptions_merge() {
	fsys := afero.NewMemMapFs()
	_ = afero.WriteFile(fsys, "/chat.json", []byte(`{"messages":[{"role":"user","content":"new 1"},{"role":"user","content":"new 2"}]}`), 0o644)
	_ = afero.WriteFile(fsys, "/chat.json.bak", []byte(`{"messages":[{"role":"user","content":"plan a trip"}]}`), 0o644)

	st, err := recovery.Recover(context.Background(), aferofs.New(fsys, "/"), "chat", recovery.Options{Merge: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.Recommend, st.Merged, st.PreservedKey)
	b, _ := afero.ReadFile(fsys, "/chat.json")
	fmt.Println(string(b))
	// Output:
	// merge true chat.json.replaced
	// {"messages":[{"role":"user","content":"plan a trip"},{"role":"user","content":"new 1"},{"role":"user","content":"new 2"}]}
}

// A restore that should not have been made is undone: the bytes it
// replaced come back, and the restored version is kept in their place.
func ExampleUndo() {
	fsys := afero.NewMemMapFs()
	_ = afero.WriteFile(fsys, "/chat.json", []byte(`{"messages":[]}`), 0o644)
	_ = afero.WriteFile(fsys, "/chat.json.bak", []byte(`{"messages":[1,2,3]}`), 0o644)
	s := aferofs.New(fsys, "/")
	ctx := context.Background()
	if _, err := recovery.Recover(ctx, s, "chat", recovery.Options{}); err != nil {
		fmt.Println(err)
		return
	}

	st, err := recovery.Undo(ctx, s, "chat", recovery.UndoOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.Undone, st.KeptKey, st.PreservedKey)
	b, _ := afero.ReadFile(fsys, "/chat.json")
	fmt.Println(string(b))
	// Output:
	// true chat.json.replaced chat.json.replaced.2
	// {"messages":[]}
}
