package main

import (
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// --version (and the version command) say which build this is, on stdout,
// in one line: the module version, the Go release and the platform.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		code, out, errOut := cli(t, arg)
		assert.Equal(t, exitOK, code, errOut)
		assert.True(t, strings.HasPrefix(out, "sessionrecovery "), out)
		assert.Contains(t, out, runtime.Version())
		assert.Contains(t, out, runtime.GOOS+"/"+runtime.GOARCH)
		assert.Equal(t, 1, strings.Count(out, "\n"), out)
		assert.Empty(t, errOut)
	}
}
