#!/usr/bin/env bash
# The one command of the benchmark:  ./run.sh [-quick] [-o results.tsv] [other flags, see -h]
# It builds Spry's native library, makes or fetches the workloads (c) and (d) when missing (not
# for -quick), points cgo at the wasmtime C headers inside the wasmtime-go module (whose
# libwasmtime.a wasmtime-go itself links) and runs the side-by-side measurement.
set -euo pipefail
cd "$(dirname "$0")"
(cd .. && cargo build --release -p spry-capi >&2)
quick=0 extras=0 cli=0
for a in "$@"; do
  case "$a" in
    -quick|--quick) quick=1 ;;
    -wasi|--wasi|-fuel|--fuel) extras=1 ;;
    -cli|--cli) extras=1 cli=1 ;;
  esac
done
if [ $quick = 0 ] && [ $extras = 0 ]; then
  [ -e workloads/c/program.wasm ] || ./workloads/build-c.sh >&2
  [ -e workloads/ruby/ruby.wasm ] || ./workloads/fetch-ruby.sh >&2
  cli=1
fi
if [ $quick = 0 ] || [ $extras = 1 ]; then
  # The programs of the WASI, fuel and `spry run` figures (and (c), which the WASI figure uses).
  [ -e workloads/c/program.wasm ] || ./workloads/build-c.sh >&2
  for f in hello wasiio kernels; do
    [ -e workloads/wasi/$f.wasm ] || { ./workloads/build-wasi.sh >&2; break; }
  done
fi
if [ $cli = 1 ]; then
  # The `spry run` figure: the spry command of this checkout (as ../build.sh cli builds it, with
  # the library's hash in CGO_LDFLAGS) and wazero's command at the version of go.mod.
  (cd .. && CGO_LDFLAGS="${CGO_LDFLAGS:-} -Wl,--defsym=spry_native_$(sha1sum target/release/libspry_capi.a | cut -c1-16)=0" \
    go build -o bench/spry-cli ./cmd/spry)
  [ -x .bin/wazero ] || GOBIN="$PWD/.bin" go install github.com/tetratelabs/wazero/cmd/wazero@v1.12.0
fi
go mod download github.com/bytecodealliance/wasmtime-go/v39
WT="$(go list -m -f '{{.Dir}}' github.com/bytecodealliance/wasmtime-go/v39)"
export CGO_ENABLED=1
export CGO_CFLAGS="${CGO_CFLAGS:-} -I$WT/build/include"
# libspry_capi.a and libwasmtime.a are both Rust static libraries: each carries its own copy of
# rust_eh_personality (every other Rust std symbol has a per-build mangled name).
export CGO_LDFLAGS="${CGO_LDFLAGS:-} -Wl,--allow-multiple-definition"
# Go's build cache ignores the contents of libspry_capi.a: name its hash so that a rebuilt library
# relinks the binary (see ../build.sh).
CGO_LDFLAGS="$CGO_LDFLAGS -Wl,--defsym=spry_native_$(sha1sum ../target/release/libspry_capi.a | cut -c1-16)=0"
go build -o ./spry-bench .
exec ./spry-bench "$@"
