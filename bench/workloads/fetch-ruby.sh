#!/usr/bin/env bash
# Fetches workload (d), ruby/ruby.wasm: dist/ruby.wasm of the npm package
# @ruby/3.4-wasm-wasi@2.10.1, checked against its sha256. The file is ignored by git (17 MB).
set -euo pipefail
cd "$(dirname "$0")"
want=e64fa4c82cbbb62044648b0a15b96f3486ff3ecbab7bb7a3df11b4ee3e907ddc
mkdir -p ruby
if [ -e ruby/ruby.wasm ] && [ "$(sha256sum ruby/ruby.wasm | cut -d' ' -f1)" = "$want" ]; then
  echo "ruby/ruby.wasm is up to date"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @ruby/3.4-wasm-wasi@2.10.1 >/dev/null)
tar -xzf "$tmp"/ruby-3.4-wasm-wasi-2.10.1.tgz -C "$tmp" package/dist/ruby.wasm
got="$(sha256sum "$tmp/package/dist/ruby.wasm" | cut -d' ' -f1)"
if [ "$got" != "$want" ]; then
  echo "sha256 mismatch for dist/ruby.wasm: got $got, want $want" >&2
  exit 1
fi
mv "$tmp/package/dist/ruby.wasm" ruby/ruby.wasm
echo "fetched $(pwd)/ruby/ruby.wasm"
