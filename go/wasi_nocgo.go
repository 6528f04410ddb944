//go:build !cgo

package spry

// wasiBuild is empty without cgo: there is no native configuration.
type wasiBuild struct{}

// Close does nothing without cgo.
func (c *WASIConfig) Close() error { return nil }

// SetWASI returns ErrCgoRequired without cgo.
func (s *Store) SetWASI(cfg *WASIConfig) error { return ErrCgoRequired }

// DefineWASI returns ErrCgoRequired without cgo.
func (l *Linker) DefineWASI() error { return ErrCgoRequired }

// wasiFS is empty without cgo: no file tree is served.
type wasiFS struct{}
