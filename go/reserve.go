//go:build cgo

package spry

// Running out of a resource that unreachable stores hold. Go's garbage collector knows nothing of
// the address space a linear memory reserves (6 GiB by default, against 128 TiB for the process)
// nor of pool slots, so a program that forgets Close on its stores can run out of either long
// before the collector runs their cleanups. The operations that need them (instantiation,
// NewMemory, NewTable) then collect, wait for the cleanups, and try once more.

/*
#include "spry.h"
*/
import "C"

import (
	"errors"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// errorOfKind is the Go error for a C error of the given kind with message msg.
func errorOfKind(kind C.spry_error_kind_t, msg string) error {
	switch kind {
	case C.SPRY_ERROR_RESOURCE_EXHAUSTED:
		return &exhaustedError{msg: msg}
	case C.SPRY_ERROR_POOL_EXHAUSTED:
		return &exhaustedError{msg: msg, pool: true}
	}
	return errors.New(msg)
}

// gcRetry serializes the collections of retryAfterGC; gen counts those done, so that goroutines
// that failed at the same time share one collection instead of running one each.
var gcRetry struct {
	mu  sync.Mutex
	gen atomic.Uint64
}

// cleanupWait bounds the wait for the cleanups a collection queued.
const cleanupWait = 2 * time.Second

// retryAfterGC runs op. If it fails with ErrResourceExhausted (address space or pool slots), it
// runs a garbage collection and waits for the cleanups it queued, which release the native
// objects of unreachable stores, then runs op once more and returns that result. op must have no
// effect when it fails that way.
func retryAfterGC(op func() error) error {
	gen := gcRetry.gen.Load()
	err := op()
	if err == nil || !errors.Is(err, ErrResourceExhausted) {
		return err
	}
	releaseUnreachable(gen)
	return op()
}

// releaseUnreachable collects twice (what a cleanup releases may make more objects unreachable),
// each time waiting for the cleanups the collection queued, unless another goroutine finished a
// collection since gen was read.
func releaseUnreachable(gen uint64) {
	gcRetry.mu.Lock()
	defer gcRetry.mu.Unlock()
	if gcRetry.gen.Load() != gen {
		return
	}
	for range 2 {
		runtime.GC()
		waitForCleanups(time.Now().Add(cleanupWait))
	}
	gcRetry.gen.Add(1)
}

// waitForCleanups waits until the cleanups queued so far have run, or until deadline. Where the
// runtime counts cleanups (Go 1.26+: /gc/cleanups/queued and /gc/cleanups/executed), it waits for
// the executed count to reach the queued one; otherwise it waits for a sentinel cleanup queued by
// one more collection, after those of the previous ones (cleanups run in order on one goroutine
// there).
func waitForCleanups(deadline time.Time) {
	s := []metrics.Sample{{Name: "/gc/cleanups/queued:cleanups"}, {Name: "/gc/cleanups/executed:cleanups"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 && s[1].Value.Kind() == metrics.KindUint64 {
		queued := s[0].Value.Uint64()
		for s[1].Value.Uint64() < queued && time.Now().Before(deadline) {
			runtime.Gosched()
			time.Sleep(50 * time.Microsecond)
			metrics.Read(s[1:])
		}
		return
	}
	done := make(chan struct{})
	queueSentinel(done)
	runtime.GC()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// queueSentinel makes an object, unreachable once this returns, whose cleanup closes done.
//
//go:noinline
func queueSentinel(done chan struct{}) {
	p := new([16]byte)
	runtime.AddCleanup(p, func(c chan struct{}) { close(c) }, done)
}
