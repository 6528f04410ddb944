#include <malloc.h>
#include <string.h>
#include "wasmtime_capi.h"
#include "_cgo_export.h"

static char *msg_of(wasm_name_t *n) {
  char *s = malloc(n->size + 1);
  memcpy(s, n->data, n->size);
  s[n->size] = 0;
  wasm_byte_vec_delete(n);
  return s;
}

static char *err_msg(wasmtime_error_t *err) {
  wasm_name_t n;
  wasmtime_error_message(err, &n);
  wasmtime_error_delete(err);
  return msg_of(&n);
}

static char *trap_msg(wasm_trap_t *trap) {
  wasm_name_t n;
  wasm_trap_message(trap, &n);
  wasm_trap_delete(trap);
  return msg_of(&n);
}

// pooling_engine makes an engine with the pooling allocator and copy-on-write memory images; a
// keep of (size_t)-1 leaves the keep-resident sizes at wasmtime's defaults.
static wasm_engine_t *pooling_engine(uint32_t total, size_t keep) {
  wasm_config_t *c = wasm_config_new();
  wasmtime_pooling_allocation_config_t *p = wasmtime_pooling_allocation_config_new();
  wasmtime_pooling_allocation_config_total_core_instances_set(p, total);
  wasmtime_pooling_allocation_config_total_memories_set(p, total);
  wasmtime_pooling_allocation_config_total_tables_set(p, total);
  wasmtime_pooling_allocation_config_max_core_instance_size_set(p, 4 << 20);
  if (keep != (size_t)-1) {
    wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(p, keep);
    wasmtime_pooling_allocation_config_table_keep_resident_set(p, keep);
  }
  wasmtime_pooling_allocation_strategy_set(c, p);
  wasmtime_pooling_allocation_config_delete(p);
  wasmtime_config_memory_init_cow_set(c, true);
  return wasm_engine_new_with_config(c);
}

wasm_engine_t *bench_engine(uint32_t total) { return pooling_engine(total, (size_t)-1); }

char *bench_compile(wasm_engine_t *e, const uint8_t *wasm, size_t len, wasmtime_module_t **out) {
  wasmtime_error_t *err = wasmtime_module_new(e, wasm, len, out);
  return err ? err_msg(err) : NULL;
}

char *bench_serialize(wasmtime_module_t *m, uint8_t **out, size_t *len) {
  wasm_byte_vec_t v;
  wasmtime_error_t *err = wasmtime_module_serialize(m, &v);
  if (err)
    return err_msg(err);
  *out = malloc(v.size);
  memcpy(*out, v.data, v.size);
  *len = v.size;
  wasm_byte_vec_delete(&v);
  return NULL;
}

char *bench_deserialize(wasm_engine_t *e, const uint8_t *b, size_t len, wasmtime_module_t **out) {
  wasmtime_error_t *err = wasmtime_module_deserialize(e, b, len, out);
  return err ? err_msg(err) : NULL;
}

static wasm_valtype_t *valtype(uint8_t t) {
  switch (t) {
  case 0x7e: return wasm_valtype_new(WASM_I64);
  case 0x7d: return wasm_valtype_new(WASM_F32);
  case 0x7c: return wasm_valtype_new(WASM_F64);
  case 0x70: return wasm_valtype_new(WASM_FUNCREF);
  case 0x6f: return wasm_valtype_new(WASM_EXTERNREF);
  default: return wasm_valtype_new(WASM_I32);
  }
}

static wasm_trap_t *stub_cb(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *slots, size_t n) {
  memset(slots, 0, n * sizeof(wasmtime_val_raw_t));
  return NULL;
}

static wasm_trap_t *roundtrip_cb(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *slots, size_t n) {
  return (wasm_trap_t *)benchGoRoundTrip(caller);
}

char *bench_define(wasmtime_linker_t *l, const char *mod, size_t modlen, const char *name, size_t namelen,
                   const uint8_t *params, size_t np, const uint8_t *results, size_t nr, int roundtrip) {
  wasm_valtype_vec_t pv, rv;
  wasm_valtype_vec_new_uninitialized(&pv, np);
  for (size_t i = 0; i < np; i++)
    pv.data[i] = valtype(params[i]);
  wasm_valtype_vec_new_uninitialized(&rv, nr);
  for (size_t i = 0; i < nr; i++)
    rv.data[i] = valtype(results[i]);
  wasm_functype_t *ft = wasm_functype_new(&pv, &rv);
  wasmtime_error_t *err = wasmtime_linker_define_func_unchecked(l, mod, modlen, name, namelen, ft,
                                                                roundtrip ? roundtrip_cb : stub_cb, NULL, NULL);
  wasm_functype_delete(ft);
  return err ? err_msg(err) : NULL;
}

char *bench_pre(wasmtime_linker_t *l, wasmtime_module_t *m, wasmtime_instance_pre_t **out) {
  wasmtime_error_t *err = wasmtime_linker_instantiate_pre(l, m, out);
  return err ? err_msg(err) : NULL;
}

char *bench_instantiate(wasm_engine_t *e, wasmtime_instance_pre_t *pre, int write, bench_inst_t *out) {
  wasmtime_store_t *store = wasmtime_store_new(e, NULL, NULL);
  wasmtime_context_t *ctx = wasmtime_store_context(store);
  wasm_trap_t *trap = NULL;
  wasmtime_error_t *err = wasmtime_instance_pre_instantiate(pre, ctx, &out->inst, &trap);
  if (err || trap) {
    wasmtime_store_delete(store);
    return err ? err_msg(err) : trap_msg(trap);
  }
  if (write) {
    wasmtime_extern_t item;
    if (!wasmtime_instance_export_get(ctx, &out->inst, "memory", 6, &item) || item.kind != WASMTIME_EXTERN_MEMORY) {
      wasmtime_store_delete(store);
      return strdup("no exported memory");
    }
    uint8_t *data = wasmtime_memory_data(ctx, &item.of.memory);
    data[0] = 1, data[1] = 2, data[2] = 3, data[3] = 4;
  }
  out->store = store;
  return NULL;
}

char *bench_get_func(bench_inst_t *i, const char *name, wasmtime_func_t *out) {
  wasmtime_extern_t item;
  wasmtime_context_t *ctx = wasmtime_store_context(i->store);
  if (!wasmtime_instance_export_get(ctx, &i->inst, name, strlen(name), &item) || item.kind != WASMTIME_EXTERN_FUNC)
    return strdup("no such function export");
  *out = item.of.func;
  return NULL;
}

char *bench_call(bench_inst_t *i, const wasmtime_func_t *f) {
  wasm_trap_t *trap = NULL;
  wasmtime_error_t *err = wasmtime_func_call(wasmtime_store_context(i->store), f, NULL, 0, NULL, 0, &trap);
  if (err)
    return err_msg(err);
  return trap ? trap_msg(trap) : NULL;
}

wasm_trap_t *bench_call_empty_from_caller(wasmtime_caller_t *caller) {
  wasmtime_extern_t item;
  if (!wasmtime_caller_export_get(caller, "empty", 5, &item) || item.kind != WASMTIME_EXTERN_FUNC)
    return wasmtime_trap_new("no export empty", 15);
  wasm_trap_t *trap = NULL;
  wasmtime_error_t *err = wasmtime_func_call(wasmtime_caller_context(caller), &item.of.func, NULL, 0, NULL, 0, &trap);
  if (err) {
    wasmtime_error_delete(err);
    return wasmtime_trap_new("call failed", 11);
  }
  return trap;
}

wasm_engine_t *bench_engine_keep(uint32_t total, size_t keep) { return pooling_engine(total, keep); }

char *bench_define_wasi(wasmtime_linker_t *l) {
  wasmtime_error_t *err = wasmtime_linker_define_wasi(l);
  return err ? err_msg(err) : NULL;
}

// A stdout that counts the bytes written to it.
typedef struct {
  size_t n;
} bench_sink_t;

static bench_sink_t bench_sink;

static ptrdiff_t sink_write(void *data, const unsigned char *buf, size_t n) {
  (void)buf;
  ((bench_sink_t *)data)->n += n;
  return (ptrdiff_t)n;
}

char *bench_instantiate_wasi(wasm_engine_t *e, wasmtime_instance_pre_t *pre, int own_stdout, bench_inst_t *out) {
  static const char *argv[] = {"prog", "x"};
  static const char *env_names[] = {"K"};
  static const char *env_values[] = {"V"};
  wasmtime_store_t *store = wasmtime_store_new(e, NULL, NULL);
  wasmtime_context_t *ctx = wasmtime_store_context(store);
  wasi_config_t *wc = wasi_config_new();
  wasi_config_set_argv(wc, 2, argv);
  wasi_config_set_env(wc, 1, env_names, env_values);
  if (own_stdout)
    wasi_config_set_stdout_custom(wc, sink_write, calloc(1, sizeof(bench_sink_t)), free);
  else
    wasi_config_set_stdout_custom(wc, sink_write, &bench_sink, NULL);
  wasmtime_error_t *err = wasmtime_context_set_wasi(ctx, wc);
  if (err) {
    wasmtime_store_delete(store);
    return err_msg(err);
  }
  wasm_trap_t *trap = NULL;
  err = wasmtime_instance_pre_instantiate(pre, ctx, &out->inst, &trap);
  if (err || trap) {
    wasmtime_store_delete(store);
    return err ? err_msg(err) : trap_msg(trap);
  }
  out->store = store;
  return NULL;
}

char *bench_call_i32(bench_inst_t *i, const char *name, int32_t arg) {
  wasmtime_func_t f;
  char *msg = bench_get_func(i, name, &f);
  if (msg)
    return msg;
  wasmtime_val_t args[1], results[1];
  args[0].kind = WASMTIME_I32;
  args[0].of.i32 = arg;
  wasm_trap_t *trap = NULL;
  wasmtime_error_t *err = wasmtime_func_call(wasmtime_store_context(i->store), &f, args, 1, results, 1, &trap);
  if (err)
    return err_msg(err);
  return trap ? trap_msg(trap) : NULL;
}

void bench_malloc_trim(void) { malloc_trim(0); }
