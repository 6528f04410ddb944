//go:build !cgo

package spry

// Wat2Wasm returns ErrCgoRequired without cgo.
func Wat2Wasm(text string) ([]byte, error) { return nil, ErrCgoRequired }
