#!/usr/bin/env bash
# The one entry point of the repository.
#   ./build.sh          build the native library (release) where cgo finds it, then run the main example
#   ./build.sh test     run every test: cargo test (engine, C surface, spec suite; fuzz regressions also
#                       with debug assertions), go vet, go test (without and with -race)
#   ./build.sh cli      build the `spry` command (cmd/spry) into target/release/spry
#   ./build.sh header   regenerate include/spry.h from rust/spry-capi with cbindgen
#   ./build.sh bench    run the engine benchmarks and the Go benchmarks
#   ./build.sh lint     rustfmt --check, clippy with warnings denied, gofmt
set -euo pipefail
cd "$(dirname "$0")"

# The Go package links target/release/libspry_capi.a (see the #cgo lines in go/native.go). Go's
# build cache does not look at the contents of a library named in #cgo LDFLAGS, so a rebuilt library
# would not reach cached test binaries and programs: a linker flag naming the library's hash (a no-op
# symbol) makes every change to it a change to the build's inputs.
native() {
  cargo build --release -p spry-capi
  local stamp
  stamp="$(sha1sum target/release/libspry_capi.a | cut -c1-16)"
  export CGO_LDFLAGS="${CGO_LDFLAGS:-} -Wl,--defsym=spry_native_${stamp}=0"
}

cmd="${1:-build}"
case "$cmd" in
  build)
    native
    go run ./examples/hello
    ;;
  test)
    native
    cargo test --release --workspace
    # The fuzz regressions, the lazy-table and the boundary tests once more with debug assertions (Spry's and
    # Cranelift's), which release builds leave out.
    cargo test -p spry --test fuzz_regressions --test lazy_tables --test boundaries
    go vet ./...
    # Without -race: allocation counts (alloc_test.go), RSS and malloc bounds mean something only here.
    go test -count=1 ./...
    go test -race -count=1 ./...
    # The official WASI test suite through `spry run`, once more with its score line shown.
    go test -count=1 -v -run '^TestWASITestsuite$' ./cmd/spry/ | grep '^wasi-testsuite:'
    # WASI programs built from source (C, Go wasip1, AssemblyScript), run through wazero and Spry.
    (cd bench && go test -count=1 ./wasiprograms/)
    ;;
  cli)
    native
    go build -o target/release/spry ./cmd/spry
    echo "built target/release/spry"
    ;;
  header)
    cargo run -p spry-capi --features header --bin spry-header
    ;;
  bench)
    native
    cargo bench -p spry --bench engine
    go test -run '^$' -bench . -benchmem ./go/
    ;;
  lint)
    cargo fmt --all -- --check
    ./scripts/check-layers.sh
    cargo clippy --release --workspace --all-targets -- -D warnings
    test -z "$(gofmt -l go examples cmd internal bench)" || { gofmt -l go examples cmd internal bench; exit 1; }
    ;;
  *)
    echo "usage: $0 [build|test|cli|header|bench|lint]" >&2
    exit 2
    ;;
esac
