// Workload (c): a small C program for wasm32-wasi, built as a reactor (-mexec-model=reactor): in a
// command module wasm-ld wraps every export in a call of the constructors, and wasi-libc's preopen
// scan loops forever when fd_prestat_get is a stub that returns 0. The benchmark never runs
// _initialize or run (imports are host stubs); it instantiates the module, writes to its memory
// and calls the empty export.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((export_name("empty"))) void empty(void) {}

static int cmp(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

static uint32_t fnv1a(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 16777619u;
  }
  return h;
}

static const char *words[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"};

__attribute__((export_name("run"))) int run(const char *arg) {
  size_t n = arg ? strtoul(arg, NULL, 10) : 100000;
  uint32_t *v = malloc(n * sizeof *v);
  if (!v) {
    perror("malloc");
    return 1;
  }
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    v[i] = x;
  }
  qsort(v, n, sizeof *v, cmp);
  char buf[256];
  uint32_t h = 0;
  for (size_t i = 0; i < 1000; i++) {
    int len = snprintf(buf, sizeof buf, "%s-%zu-%u-%.3f", words[i % 8], i, v[i % n], (double)v[i % n] / 7.0);
    h ^= fnv1a(buf, (size_t)len);
  }
  FILE *f = fopen("/tmp/out.txt", "w");
  if (f) {
    fprintf(f, "%08x\n", h);
    fclose(f);
  }
  printf("min %u max %u hash %08x\n", v[0], v[n - 1], h);
  free(v);
  return 0;
}
