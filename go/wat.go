//go:build cgo

package spry

/*
#include "spry.h"
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// Wat2Wasm translates a module in the WebAssembly text format (".wat") into its binary encoding,
// which Compile accepts. A syntax error is returned with its line and column. The result is not
// validated: Compile validates it.
func Wat2Wasm(text string) ([]byte, error) {
	p, n := cString(text)
	var b *C.uint8_t
	var bn C.size_t
	err := takeError(C.spry_wat2wasm(p, n, &b, &bn))
	runtime.KeepAlive(text)
	if err != nil {
		return nil, err
	}
	defer C.spry_bytes_delete(b, bn)
	out := make([]byte, int(bn))
	copy(out, unsafe.Slice((*byte)(unsafe.Pointer(b)), int(bn)))
	return out, nil
}
