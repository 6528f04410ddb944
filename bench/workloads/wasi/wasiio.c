// The WASI throughput reactor of bench/wasiio.go (-mexec-model=reactor: the host calls
// _initialize once, which makes wasi-libc find the preopened directory, then the exports).
//   write_file(path, chunks): creates path (truncating it) and writes chunks blocks of 4 KiB to it
//     through fd_write, one call per block; returns 0, or the errno of the failing call.
//   clock_loop(n): calls clock_time_get(MONOTONIC) n times; returns the xor of the readings' low
//     bits (so that the loop is not dead code) or -errno. bench/wasi.go also times a new instance's
//     clock_loop(1) against its clock_loop(0): the cost of a store's first WASI call.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>
#include <wasi/api.h>

static char block[4096];

__attribute__((export_name("path_buf"))) char *path_buf(void) {
  static char buf[256];
  return buf;
}

__attribute__((export_name("write_file"))) int write_file(const char *path, int chunks) {
  for (int i = 0; i < (int)sizeof block; i++)
    block[i] = (char)('a' + i % 26);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return errno;
  for (int i = 0; i < chunks; i++) {
    __wasi_ciovec_t iov = {(const uint8_t *)block, sizeof block};
    __wasi_size_t n = 0;
    __wasi_errno_t e = __wasi_fd_write(fd, &iov, 1, &n);
    if (e != 0) {
      close(fd);
      return e;
    }
    if (n != sizeof block) {
      close(fd);
      return EIO;
    }
  }
  return close(fd) == 0 ? 0 : errno;
}

__attribute__((export_name("clock_loop"))) int64_t clock_loop(int32_t n) {
  uint64_t acc = 0;
  // The result's slot is on the stack in linear memory: written before the loop, so that
  // clock_loop(0) touches the same memory as clock_loop(1) (a fresh instance's first write to a
  // page is a copy-on-write fault, which the first-call figure must not count).
  __wasi_timestamp_t t;
  *(volatile __wasi_timestamp_t *)&t = 0;
  for (int32_t i = 0; i < n; i++) {
    __wasi_errno_t e = __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t);
    if (e != 0)
      return -(int64_t)e;
    acc ^= t;
  }
  return (int64_t)(acc & 0x7fffffff);
}
