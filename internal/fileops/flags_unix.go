//go:build unix

package fileops

import "syscall"

// OpenFlags are the flags, beyond O_RDONLY, with which the file-based
// backends open a key's file: a FIFO opens at once instead of waiting for
// a writer, and a terminal does not become the controlling one. Either is
// then refused by the fstat of the file opened.
const OpenFlags = syscall.O_NONBLOCK | syscall.O_NOCTTY
