// Helpers over the wasmtime C API in the libwasmtime.a that wasmtime-go ships (see wasmtime_capi.go).
#ifndef BENCH_WASMTIME_CAPI_H
#define BENCH_WASMTIME_CAPI_H

#include <stdint.h>
#include <stdlib.h>
#include <wasmtime.h>

typedef struct {
  wasmtime_store_t *store;
  wasmtime_instance_t inst;
} bench_inst_t;

// bench_engine makes an engine with the pooling allocator (room for total instances, memories and
// tables) and copy-on-write memory images.
wasm_engine_t *bench_engine(uint32_t total);
// The functions returning char* return NULL on success, else a malloc'd message.
char *bench_compile(wasm_engine_t *e, const uint8_t *wasm, size_t len, wasmtime_module_t **out);
char *bench_serialize(wasmtime_module_t *m, uint8_t **out, size_t *len);
char *bench_deserialize(wasm_engine_t *e, const uint8_t *b, size_t len, wasmtime_module_t **out);
// bench_define defines a host stub (zeros its results), or with roundtrip the host function that
// calls back the export "empty" through Go.
char *bench_define(wasmtime_linker_t *l, const char *mod, size_t modlen, const char *name, size_t namelen,
                   const uint8_t *params, size_t np, const uint8_t *results, size_t nr, int roundtrip);
char *bench_pre(wasmtime_linker_t *l, wasmtime_module_t *m, wasmtime_instance_pre_t **out);
// bench_instantiate makes a store, instantiates pre in it and, with write, writes 4 bytes to the
// exported memory.
char *bench_instantiate(wasm_engine_t *e, wasmtime_instance_pre_t *pre, int write, bench_inst_t *out);
char *bench_get_func(bench_inst_t *i, const char *name, wasmtime_func_t *out);
char *bench_call(bench_inst_t *i, const wasmtime_func_t *f);
wasm_trap_t *bench_call_empty_from_caller(wasmtime_caller_t *caller);
// WASI (bench/wasi.go): bench_engine_keep is bench_engine with linear_memory_keep_resident and
// table_keep_resident set to keep bytes (to match Spry's pooling setting); bench_define_wasi
// defines wasi_snapshot_preview1 in the linker; bench_instantiate_wasi is bench_instantiate (no
// write) after giving the new store a WASI state: a wasi_config_t made for it (the store takes it
// over) with args "prog" "x", env K=V and stdout to a byte-counting sink, the shared bench_sink or,
// with own_stdout, one allocated for the store (freed with it).
wasm_engine_t *bench_engine_keep(uint32_t total, size_t keep);
char *bench_define_wasi(wasmtime_linker_t *l);
char *bench_instantiate_wasi(wasm_engine_t *e, wasmtime_instance_pre_t *pre, int own_stdout, bench_inst_t *out);
// bench_call_i32 calls the export name of the instance with one i32 argument (its results, at most
// one, are dropped).
char *bench_call_i32(bench_inst_t *i, const char *name, int32_t arg);

// bench_malloc_trim returns the C heap's free memory to the kernel (glibc keeps what the earlier
// loops freed, which the live instances would otherwise reuse without growing the resident set).
void bench_malloc_trim(void);

#endif
