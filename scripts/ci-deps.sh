#!/usr/bin/env bash
# Installs, when missing, what the WASI test programs (testdata/wasi) are built with: clang, lld,
# wasi-libc and the wasm32 compiler-rt (Debian packages, as root), Node.js with npm, and the
# AssemblyScript packages pinned in testdata/wasi/as/package-lock.json (npm ci into
# target/wasi-as-deps, or $SPRY_AS_DEPS). Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v clang >/dev/null 2>&1 || missing+=(clang)
command -v wasm-ld >/dev/null 2>&1 || missing+=(lld)
[[ -f /usr/lib/wasm32-wasi/libc.a ]] || missing+=(wasi-libc)
if command -v clang >/dev/null 2>&1; then
  [[ -f "$(clang -print-resource-dir)/lib/wasi/libclang_rt.builtins-wasm32.a" ]] || missing+=(libclang-rt-dev-wasm32)
else
  missing+=(libclang-rt-dev-wasm32)
fi
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]})); then
  if [[ "$(id -u)" != 0 ]]; then
    echo "scripts/ci-deps.sh: missing ${missing[*]}; run as root to install them with apt-get" >&2
    exit 1
  fi
  echo "scripts/ci-deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# assemblyscript 0.28 asks for Node.js 20 or later (Debian 12's own nodejs is 18).
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if ((node_major < 20)); then
  echo "scripts/ci-deps.sh: warning: Node.js $(node --version); assemblyscript wants 20 or later" >&2
fi

# The AssemblyScript compiler and the WASI shim, at the versions of the committed lock file.
testdata/wasi/build.sh --deps
