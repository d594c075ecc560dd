package main

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Names come from the store, so the command never writes one raw to a
// terminal: a control character, an invalid byte or a bidi override in a
// file name could move the cursor, clear the screen or forge a row.

// printable reports whether s shows as itself: valid UTF-8 of printable
// runes (letters, marks, numbers, punctuation, symbols, the space).
func printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// shown is a store name as the table shows it: the name itself when it is
// printable, else Go-quoted ("a\x1b[2J"), so that it can be told from any
// other name.
func shown(name string) string {
	if printable(name) {
		return name
	}
	return strconv.Quote(name)
}

// shownText is a message as the table shows it: its printable runes as
// they are, anything else escaped as in a Go string (\x1b, \r, \u202e).
// Messages quote the names they hold already; this is for the names that
// reach them through the system's errors.
func shownText(s string) string {
	if printable(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsPrint(r):
			b.WriteString(s[i : i+n])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

// shellQuoted is s as a POSIX shell reads it back as one word: as it is
// when it holds only characters no shell treats specially, in single
// quotes when it is printable, and in bash's $'...' with escapes
// otherwise, so that a pasted command never carries a raw control
// character.
func shellQuoted(s string) string {
	switch {
	case s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,") == "":
		return s
	case printable(s):
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteString("'")
	return b.String()
}
