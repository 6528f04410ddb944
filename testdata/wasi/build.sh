#!/usr/bin/env bash
# testdata/wasi/build.sh OUTDIR: builds every WASI test program from source into OUTDIR.
#   c/NAME.c  -> OUTDIR/c_NAME.wasm   clang --target=wasm32-wasi (wasi-libc, compiler-rt for wasm32)
#   go/       -> OUTDIR/go_wasiprog.wasm   GOOS=wasip1 GOARCH=wasm
#   as/*.ts   -> OUTDIR/as_NAME.wasm  AssemblyScript + @assemblyscript/wasi-shim, the versions pinned
#                                     in as/package-lock.json, installed with npm ci into
#                                     $SPRY_AS_DEPS (default: target/wasi-as-deps at the repo root)
# testdata/wasi/build.sh --deps: only install the AssemblyScript packages (scripts/ci-deps.sh).
# A missing toolchain is an error, never a skipped program. scripts/ci-deps.sh installs them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
deps="${SPRY_AS_DEPS:-$root/target/wasi-as-deps}"

die() { echo "testdata/wasi/build.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2 (scripts/ci-deps.sh installs it)"; }

# as_deps: npm ci of as/package-lock.json into $deps, unless the same lock is installed there.
as_deps() {
  need node "the AssemblyScript compiler runs on Node.js"
  need npm "npm installs the AssemblyScript compiler"
  if [[ -x "$deps/node_modules/.bin/asc" ]] && cmp -s "$here/as/package-lock.json" "$deps/package-lock.json"; then
    return
  fi
  mkdir -p "$deps"
  cp "$here/as/package.json" "$here/as/package-lock.json" "$deps/"
  (cd "$deps" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null) ||
    die "npm ci in $deps failed"
}

if [[ "${1:-}" == "--deps" ]]; then
  as_deps
  exit 0
fi
[[ $# -eq 1 ]] || die "usage: build.sh OUTDIR | build.sh --deps"
mkdir -p "$1"
out="$(cd "$1" && pwd)"

# C, with clang's wasm32-wasi target over Debian's wasi-libc (sysroot /usr) or $WASI_SYSROOT.
need clang "clang builds the C programs"
need wasm-ld "lld links the C programs"
sysroot="${WASI_SYSROOT:-/usr}"
[[ -f "$sysroot/lib/wasm32-wasi/libc.a" ]] || die "no wasi-libc under $sysroot (package wasi-libc)"
rt="$(clang -print-resource-dir)/lib/wasi/libclang_rt.builtins-wasm32.a"
[[ -f "$rt" ]] || die "no $rt (package libclang-rt-dev-wasm32)"

as_deps &   # npm ci (when needed) while the C and Go programs build
deps_pid=$!

for src in "$here"/c/*.c; do
  name="$(basename "$src" .c)"
  clang --target=wasm32-wasi --sysroot="$sysroot" -O2 -Wall -Wextra -Werror -Wl,--strip-debug \
    -o "$out/c_$name.wasm" "$src"
done

# Go, with the Go in PATH (wasip1 since Go 1.21).
need go "go builds the Go program"
(cd "$here/go" && GOOS=wasip1 GOARCH=wasm go build -buildvcs=false -trimpath -ldflags=-s \
  -o "$out/go_wasiprog.wasm" .)

wait "$deps_pid" || die "installing the AssemblyScript packages failed"
for src in "$here"/as/*.ts; do
  name="$(basename "$src" .ts)"
  # From $deps: asc finds the shim's library (its asconfig's "lib") relative to the working directory.
  (cd "$deps" && node_modules/.bin/asc "$src" \
    --config node_modules/@assemblyscript/wasi-shim/asconfig.json \
    -O2 --runtime incremental -o "$out/as_$name.wasm")
done

ls "$out"/*.wasm >/dev/null
