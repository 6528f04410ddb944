package spry

import "fmt"

// UnknownImportError is the error that a function defined by DefineUnknownImportsAsTraps returns
// when it is called: the calling Wasm code stops with a *Trap that wraps it (errors.As finds it).
type UnknownImportError struct {
	Module, Name string // the import
}

// Error returns "unknown import module.name was called".
func (e *UnknownImportError) Error() string {
	return fmt.Sprintf("unknown import %s.%s was called", e.Module, e.Name)
}
