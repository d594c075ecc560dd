package store

import (
	"fmt"
	"strings"
)

// KeyError reports a key that breaks the key rules.
type KeyError struct {
	Key    string
	Reason string
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("invalid key %q: %s", e.Key, e.Reason)
}

// ValidateKey checks the key rules shared by every Store: a key is a
// non-empty, '/'-separated relative name whose segments are non-empty and
// are not "." or "..", and which holds no NUL byte. A backslash is an
// ordinary character, as it is in file names on unix and in object keys.
// It returns a *KeyError naming the key when a rule is broken.
func ValidateKey(key string) error {
	if err := validatePath(key); err != "" {
		return &KeyError{Key: key, Reason: err}
	}
	return nil
}

// ValidatePrefix checks a List prefix: the empty prefix is allowed, and so is
// a trailing '/'; otherwise the rules of ValidateKey apply.
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if err := validatePath(strings.TrimSuffix(prefix, "/")); err != "" {
		return &KeyError{Key: prefix, Reason: err}
	}
	return nil
}

func validatePath(key string) string {
	switch {
	case key == "":
		return "empty"
	case strings.HasPrefix(key, "/"):
		return "absolute (starts with '/')"
	case strings.ContainsRune(key, 0):
		return "contains a NUL byte"
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return "has an empty segment"
		case ".", "..":
			return fmt.Sprintf("has a %q segment", seg)
		}
	}
	return ""
}
