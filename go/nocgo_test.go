//go:build !cgo

package spry_test

import (
	"context"
	"errors"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

func TestWithoutCgo(t *testing.T) {
	if _, err := spry.NewEngine(nil); !errors.Is(err, spry.ErrCgoRequired) {
		t.Errorf("NewEngine: %v, want ErrCgoRequired", err)
	}
	if _, err := spry.Compile(nil, nil); !errors.Is(err, spry.ErrCgoRequired) {
		t.Errorf("Compile: %v, want ErrCgoRequired", err)
	}
	if _, err := spry.NewStore(nil); !errors.Is(err, spry.ErrCgoRequired) {
		t.Errorf("NewStore: %v, want ErrCgoRequired", err)
	}
	if _, err := spry.NewLinker(nil); !errors.Is(err, spry.ErrCgoRequired) {
		t.Errorf("NewLinker: %v, want ErrCgoRequired", err)
	}
	var f *spry.Func
	if _, err := f.Call(context.Background()); !errors.Is(err, spry.ErrCgoRequired) {
		t.Errorf("Call: %v, want ErrCgoRequired", err)
	}
	if _, err := spry.Typed2R[int32, int32, int32](f); !errors.Is(err, spry.ErrCgoRequired) {
		t.Errorf("Typed2R: %v, want ErrCgoRequired", err)
	}
}
