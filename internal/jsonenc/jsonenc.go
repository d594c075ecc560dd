// Package jsonenc encodes JSON as this module's reports are written.
package jsonenc

import (
	"bytes"
	"encoding/json"
)

// Marshal is json.Marshal without escaping <, > and &, which session ids
// may hold and a report shows as they are (as Python's json.dumps does).
// Escaping is for whoever embeds the JSON in HTML.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
