//go:build !unix

package fileops

// OpenFlags is empty outside unix, where there is no O_NONBLOCK to ask for.
const OpenFlags = 0
