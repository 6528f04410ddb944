// Compute kernels for the fuel figure (bench/fuel.go): no imports, no libc (-nostdlib), each an
// export taking a size and returning a checksum so that nothing is dead code.
#include <stdint.h>

// fib: recursive calls (a fuel check at every function entry).
__attribute__((export_name("fib"))) int32_t fib(int32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static uint8_t sieve_buf[1 << 20];

// sieve: the sieve of Eratosthenes up to n (at most 1 Mi): short inner loops.
__attribute__((export_name("sieve"))) int32_t sieve(int32_t n) {
  if (n > (int32_t)sizeof sieve_buf)
    n = sizeof sieve_buf;
  for (int32_t i = 0; i < n; i++)
    sieve_buf[i] = 1;
  int32_t count = 0;
  for (int32_t i = 2; i < n; i++) {
    if (!sieve_buf[i])
      continue;
    count++;
    for (int32_t j = i + i; j < n; j += i)
      sieve_buf[j] = 0;
  }
  return count;
}

#define M 128
static double ma[M * M], mb[M * M], mc[M * M];

// matmul: an n×n double matrix product (n at most 128): a loop nest with floating-point bodies.
__attribute__((export_name("matmul"))) double matmul(int32_t n) {
  if (n > M)
    n = M;
  for (int32_t i = 0; i < n * n; i++) {
    ma[i] = (double)(i % 7) + 0.5;
    mb[i] = (double)(i % 5) - 1.25;
  }
  for (int32_t i = 0; i < n; i++)
    for (int32_t j = 0; j < n; j++) {
      double s = 0;
      for (int32_t k = 0; k < n; k++)
        s += ma[i * n + k] * mb[k * n + j];
      mc[i * n + j] = s;
    }
  double t = 0;
  for (int32_t i = 0; i < n * n; i++)
    t += mc[i];
  return t;
}

static uint32_t sort_buf[1 << 16];

// sort: fills n (at most 64 Ki) words by xorshift and sorts them with a heap sort: branches and
// memory traffic.
__attribute__((export_name("sort"))) uint32_t sort(int32_t n) {
  if (n > (int32_t)(sizeof sort_buf / sizeof sort_buf[0]))
    n = sizeof sort_buf / sizeof sort_buf[0];
  uint32_t x = 2463534242u;
  for (int32_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    sort_buf[i] = x;
  }
  uint32_t *a = sort_buf;
  for (int32_t start = n / 2 - 1, end = n;;) {
    int32_t root;
    if (start >= 0) {
      root = start--;
    } else {
      if (--end <= 0)
        break;
      uint32_t t = a[0];
      a[0] = a[end];
      a[end] = t;
      root = 0;
    }
    for (;;) {
      int32_t child = 2 * root + 1;
      if (child >= end)
        break;
      if (child + 1 < end && a[child + 1] > a[child])
        child++;
      if (a[root] >= a[child])
        break;
      uint32_t t = a[root];
      a[root] = a[child];
      a[child] = t;
      root = child;
    }
  }
  uint32_t h = 0;
  for (int32_t i = 0; i < n; i++)
    h = h * 31 + a[i];
  return h;
}

// hash: an FNV-1a-style mix over n rounds of arithmetic on registers (no memory).
__attribute__((export_name("hash"))) uint32_t hash(int32_t n) {
  uint32_t h = 2166136261u, x = 12345;
  for (int32_t i = 0; i < n; i++) {
    x = x * 1103515245u + 12345u;
    h = (h ^ (x >> 16)) * 16777619u;
  }
  return h;
}
