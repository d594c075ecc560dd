package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/c0fe5641/sessionrecovery/backends"
)

// emptyHint says where the sessions might be when a run found none at
// location, or "" when it has no guess. Sessions are read from the top of
// a store only: a directory whose sessions sit in a folder of it, or a
// bucket prefix= without its trailing '/', finds none.
func emptyHint(location string) string {
	if dir, ok, _ := backends.LocalDir(location); ok {
		return folderHint(dir)
	}
	u, err := url.Parse(location)
	if err != nil {
		return ""
	}
	if p := u.Query().Get("prefix"); p != "" && !strings.HasSuffix(p, "/") {
		return fmt.Sprintf("prefix=%s has no trailing '/', so only keys starting %q at the top of the bucket were read; for the sessions in the folder %s/, use prefix=%s/", p, p, p, p)
	}
	return ""
}

// folderHint names the folders of dir that hold .json files.
func folderHint(dir string) string {
	entries, err := readSome(dir)
	if err != nil {
		return ""
	}
	var found []string
	for _, e := range entries {
		if !e.IsDir() || len(found) == 3 {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		inner, err := readSome(sub)
		if err != nil {
			continue
		}
		for _, f := range inner {
			if !f.IsDir() && strings.HasSuffix(f.Name(), ".json") {
				found = append(found, sub)
				break
			}
		}
	}
	if len(found) == 0 {
		return ""
	}
	return fmt.Sprintf("no sessions directly in %s, which is read without its folders; did you mean %s?", dir, strings.Join(found, " or "))
}

// readSome reads at most the first 1,000 entries of dir: a guess need not
// read a large directory whole.
func readSome(dir string) ([]os.DirEntry, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(1000)
	if len(entries) > 0 {
		return entries, nil
	}
	return nil, err
}
