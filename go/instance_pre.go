//go:build cgo

package spry

/*
#include "spry.h"
*/
import "C"

import (
	"context"
	"errors"
)

// InstancePre is a module whose imports a Linker has resolved and type-checked once, ready to be
// instantiated many times, in any store of its engine, without looking names up or checking types
// again. Every import must be a host function (Linker.DefineFunc, Linker.DefineRawFunc): items of a
// store (Linker.Define, Linker.DefineInstance) belong to one store and are an error in
// Linker.InstantiatePre.
//
// An InstancePre is safe for concurrent use: instantiations run in parallel (in different stores).
// It does not depend on the Linker or the Module it was made from, which may be closed.
type InstancePre struct {
	native shared[*C.spry_instance_pre_t]
}

// InstantiatePre resolves module's imports by name in the linker and type-checks them, once, for
// instantiating module many times with InstancePre.Instantiate. An import the linker does not
// define, defines with another type, or defines as an item of a store is an error.
func (l *Linker) InstantiatePre(module *Module) (*InstancePre, error) {
	p, err := l.acquire()
	if err != nil {
		return nil, err
	}
	defer l.release()
	m, err := module.acquire()
	if err != nil {
		return nil, err
	}
	defer module.release()
	l.mu.RLock()
	defer l.mu.RUnlock()
	var ptr *C.spry_instance_pre_t
	if err := takeError(C.spry_linker_instantiate_pre(p, m, &ptr)); err != nil {
		return nil, err
	}
	if ptr == nil {
		return nil, errors.New("spry: cannot create an instance pre")
	}
	pre := &InstancePre{}
	initShared(pre, &pre.native, ptr, "instance pre", "InstancePre", func(p *C.spry_instance_pre_t) {
		C.spry_instance_pre_delete(p)
	})
	return pre, nil
}

// acquire returns the native instance pre for one use, to be followed by release; it fails after Close.
func (p *InstancePre) acquire() (*C.spry_instance_pre_t, error) {
	if p == nil {
		return nil, closedError("instance pre")
	}
	return p.native.acquire()
}

func (p *InstancePre) release() { p.native.release() }

// Close releases the instance pre. Instances made from it are unaffected. Close is idempotent and
// always returns nil.
func (p *InstancePre) Close() error {
	if p != nil {
		p.native.close()
	}
	return nil
}

// Instantiate instantiates the module in store s with the resolved imports and runs its start
// function (whose trap is returned as a *Trap; ctx interrupts it as it does calls). A store of
// another engine is an error.
func (p *InstancePre) Instantiate(ctx context.Context, s *Store) (*Instance, error) {
	if s == nil {
		return nil, errStoreClosed
	}
	ptr, err := p.acquire()
	if err != nil {
		return nil, err
	}
	defer p.release()
	h, err := s.instantiatePre(ctx, ptr)
	if err != nil {
		return nil, err
	}
	return s.newInstance(h), nil
}
