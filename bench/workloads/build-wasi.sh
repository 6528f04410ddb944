#!/usr/bin/env bash
# Builds the programs of the WASI, fuel and `spry run` figures from workloads/wasi/*.c into
# workloads/wasi/*.wasm with clang for wasm32-wasi (the same toolchain as build-c.sh, which installs
# it when it is missing):
#   hello.wasm    a command (_start) that prints one line             (figure `spry run`)
#   wasiio.wasm   a reactor: write_file (fd_write) and clock_loop       (figures fd_write, clock)
#   kernels.wasm  no imports, no libc: fib, sieve, matmul, sort, hash   (figure fuel)
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v clang >/dev/null || ! command -v wasm-ld >/dev/null || [ ! -e /usr/lib/wasm32-wasi/libc.a ]; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update
  $SUDO apt-get install -y clang lld wasi-libc libclang-rt-dev-wasm32
fi
cc=(clang --target=wasm32-wasi --sysroot=/usr -O2 -Wall -Wextra -Werror -Wl,--strip-debug)
"${cc[@]}" -o wasi/hello.wasm wasi/hello.c
"${cc[@]}" -mexec-model=reactor -o wasi/wasiio.wasm wasi/wasiio.c
"${cc[@]}" -nostdlib -fno-builtin -Wl,--no-entry -Wl,--initial-memory=4194304 -o wasi/kernels.wasm wasi/kernels.c
for f in hello wasiio kernels; do echo "built $(pwd)/wasi/$f.wasm ($(stat -c %s wasi/$f.wasm) bytes)"; done
