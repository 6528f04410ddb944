#!/usr/bin/env bash
# The one entry point of the repository.
#   ./build.sh          build the engine in release mode and run the main example
#   ./build.sh test     run every test (the engine's unit, API and spec-suite tests, in release mode)
#   ./build.sh bench    run the engine benchmarks (compile throughput, call costs)
#   ./build.sh lint     rustfmt --check and clippy with warnings denied
set -euo pipefail
cd "$(dirname "$0")"

cmd="${1:-build}"
case "$cmd" in
  build)
    cargo build --release --workspace
    cargo run --release -p spry --example hello
    ;;
  test)
    cargo test --release --workspace
    ;;
  bench)
    cargo bench -p spry --bench engine
    ;;
  lint)
    cargo fmt --all -- --check
    cargo clippy --release --workspace --all-targets -- -D warnings
    ;;
  *)
    echo "usage: $0 [build|test|bench|lint]" >&2
    exit 2
    ;;
esac
