//go:build !amd64 || purego

package msgcount

// There is no structural counter here: Count reads a byte at a time.
const useStructural = false

type structuralState struct{}

func (c *Counter) runStructural() int { return c.run() }
