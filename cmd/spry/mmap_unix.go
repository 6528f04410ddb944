//go:build unix

package main

import (
	"os"
	"syscall"
)

// mapFile maps the size bytes of the file at path read-only and returns them with the function that
// unmaps them. The file must not be truncated while it is mapped (reading a page past its new end
// would fault): spry maps only the module it was asked to run, and only to compile or hash it.
func mapFile(path string, size int64) ([]byte, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return b, func() { syscall.Munmap(b) }, nil
}
