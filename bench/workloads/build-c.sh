#!/usr/bin/env bash
# Builds workload (c), c/program.wasm, from c/program.c with clang for wasm32-wasi, installing the
# Debian packages it needs (clang, lld, wasi-libc, libclang-rt-dev-wasm32) when they are missing.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v clang >/dev/null || ! command -v wasm-ld >/dev/null || [ ! -e /usr/lib/wasm32-wasi/libc.a ]; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update
  $SUDO apt-get install -y clang lld wasi-libc libclang-rt-dev-wasm32
fi
clang --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor -O2 -o c/program.wasm c/program.c
echo "built $(pwd)/c/program.wasm ($(stat -c %s c/program.wasm) bytes)"
