#!/usr/bin/env bash
# Layer check (issue 15): compile/ and vm/ never import each other, neither imports the embedding
# API, and environ/ imports none of them. Matches `crate::X` / `super::super::X` paths in code and
# doc links alike (a doc link to another layer is a dependency too); plain `//` comments are skipped.
# There are no exceptions: vm/ reaches its module through vm::module_runtime::ModuleRuntime.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)/rust/spry/src"
api='store|func|instance|instance_pre|linker|engine|module|values|memory|global|table'
status=0
check() { # check DIR FORBIDDEN-REGEX WHAT
    local hits
    hits=$(grep -rnE --include='*.rs' "(crate|super::super)::(\{[^}]*\b)?($2)\b" "$src/$1" | grep -vE '^[^:]+:[0-9]+:\s*//([^/!]|$)' || true)
    if [ -n "$hits" ]; then
        echo "layer violation: $1/ imports $3:" >&2
        echo "$hits" >&2
        status=1
    fi
}
check compile "vm|$api" "vm/ or the embedding API"
check vm "compile|$api" "compile/ or the embedding API"
check environ "compile|vm|$api" "compile/, vm/ or the embedding API"
[ $status -eq 0 ] && echo "layers: ok"
exit $status
