/* A C program against include/spry.h and libspry_capi.a: compile, link a host function, call,
 * trap, finalize. Usage: smoke MODULE.wasm (see tests/c_program.rs for the module). Prints "ok". */
#include <spry.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int finalized = 0;

#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                        \
    }                                                                 \
  } while (0)

static void ok(spry_error_t *err) {
  if (err) {
    size_t len;
    const char *msg = spry_error_message(err, &len);
    fprintf(stderr, "error: %.*s\n", (int)len, msg);
    exit(1);
  }
}

/* env::double (i32) -> i32: twice the argument; a trap for a negative one. */
static spry_trap_t *double_cb(uintptr_t env, spry_caller_t *caller, uint64_t *slots, size_t nargs,
                              size_t nresults) {
  (void)caller;
  CHECK(env == 42 && nargs == 1 && nresults == 1);
  int32_t x = (int32_t)(uint32_t)slots[0];
  if (x < 0) {
    const char *msg = "negative input";
    return spry_trap_new(msg, strlen(msg));
  }
  slots[0] = (uint32_t)(x * 2);
  return NULL;
}

static void finalize(uintptr_t env) {
  CHECK(env == 42);
  finalized++;
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  FILE *f = fopen(argv[1], "rb");
  CHECK(f);
  static uint8_t wasm[1 << 16];
  size_t len = fread(wasm, 1, sizeof wasm, f);
  fclose(f);

  spry_engine_t *engine = NULL;
  ok(spry_engine_new(NULL, &engine));
  spry_module_t *module = NULL;
  ok(spry_module_new(engine, wasm, len, &module));
  spry_store_t *store = spry_store_new(engine);
  CHECK(store);

  /* Without the import: an error naming it. */
  spry_linker_t *linker = spry_linker_new(engine);
  spry_instance_t instance;
  spry_trap_t *trap = NULL;
  spry_error_t *err = spry_linker_instantiate(linker, store, module, &instance, &trap);
  CHECK(err != NULL && trap == NULL);
  size_t mlen;
  const char *msg = spry_error_message(err, &mlen);
  CHECK(strstr(msg, "unknown import") != NULL);
  spry_error_delete(err);

  spry_valkind_t kinds[] = {SPRY_I32};
  ok(spry_linker_define_func(linker, "env", 3, "double", 6, kinds, 1, kinds, 1, double_cb, 42, finalize));
  ok(spry_linker_instantiate(linker, store, module, &instance, &trap));
  CHECK(trap == NULL);

  spry_extern_t item;
  CHECK(spry_instance_export_get(store, instance, "run", 3, &item));
  CHECK(item.kind == SPRY_EXTERN_FUNC);
  spry_func_t run = {item.store_id, item.index};

  spry_val_t args[1] = {{SPRY_I32, 20}};
  spry_val_t results[1];
  ok(spry_func_call(store, run, args, 1, results, 1, &trap));
  CHECK(trap == NULL && results[0].kind == SPRY_I32 && results[0].of == 41);

  uint64_t slots[1] = {5};
  ok(spry_func_call_unchecked(store, run, slots, 1, &trap));
  CHECK(trap == NULL && (uint32_t)slots[0] == 11);

  args[0].of = (uint32_t)-1;
  ok(spry_func_call(store, run, args, 1, results, 1, &trap));
  CHECK(trap != NULL);
  CHECK(spry_trap_code(trap) == SPRY_TRAP_HOST_ERROR);
  msg = spry_trap_message(trap, &mlen);
  CHECK(mlen == strlen("negative input") && memcmp(msg, "negative input", mlen) == 0);
  spry_trap_delete(trap);

  /* A wrong argument kind: an error, not a crash. */
  args[0].kind = SPRY_F64;
  err = spry_func_call(store, run, args, 1, results, 1, &trap);
  CHECK(err != NULL && trap == NULL);
  spry_error_delete(err);

  spry_linker_delete(linker);
  CHECK(finalized == 0);
  spry_store_delete(store);
  CHECK(finalized == 1);
  spry_module_delete(module);
  spry_engine_delete(engine);
  printf("ok\n");
  return 0;
}
