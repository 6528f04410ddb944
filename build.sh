#!/usr/bin/env bash
# The one entry point of the repository.
#   ./build.sh          build the native library (release) where cgo finds it, then run the main example
#   ./build.sh test     run every test: cargo test (engine, C surface, spec suite), go vet, go test -race
#   ./build.sh header   regenerate include/spry.h from rust/spry-capi with cbindgen
#   ./build.sh bench    run the engine benchmarks and the Go benchmarks
#   ./build.sh lint     rustfmt --check, clippy with warnings denied, gofmt
set -euo pipefail
cd "$(dirname "$0")"

# The Go package links target/release/libspry_capi.a (see the #cgo lines in go/native.go).
native() {
  cargo build --release -p spry-capi
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
    go vet ./...
    go test -race -count=1 ./...
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
    cargo clippy --release --workspace --all-targets -- -D warnings
    test -z "$(gofmt -l go examples)" || { gofmt -l go examples; exit 1; }
    ;;
  *)
    echo "usage: $0 [build|test|header|bench|lint]" >&2
    exit 2
    ;;
esac
