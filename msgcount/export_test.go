package msgcount

// BufSize is the size of a Counter's read buffer, for tests that place
// tokens across its end.
const BufSize = bufSize
