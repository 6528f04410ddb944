//go:build !unix

package main

import "errors"

// mapFile is not available here: readWasm reads the file instead.
func mapFile(path string, size int64) ([]byte, func(), error) {
	return nil, nil, errors.New("mapping files is not supported on this system")
}
