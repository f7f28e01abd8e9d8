#!/usr/bin/env bash
# Proves that check.sh's two gates catch a breaking schema change to a field the dashboard uses.
# Each case breaks a scratch copy of the repo (schema, operations, client sources; the committed
# files are never touched) and must be rejected for the expected reason:
#   rename             the schema renames the field: codegen refuses the operations that ask for it;
#   rename-everywhere  the operations follow the rename: codegen passes, tsc refuses the client code;
#   retype             the field changes type: codegen passes, tsc refuses the client code.
# Exits 0 only when every case is rejected and the unbroken copy still passes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
field=cacheHitRate
renamed=cacheHitRatio

[ -d "$here/node_modules" ] || (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# The same layout as the repo, so codegen.ts and tsconfig.json resolve their relative paths.
mirror() {
    local dir="$scratch/$1"
    mkdir -p "$dir/client"
    cp "$root/schema.graphql" "$dir/"
    cp -r "$root/operations" "$dir/"
    cp "$here/codegen.ts" "$here/tsconfig.json" "$dir/client/"
    cp -r "$here/src" "$dir/client/"
    ln -s "$here/node_modules" "$dir/client/node_modules"
    echo "$dir"
}

# Runs both gates in a mirror; prints which one failed ("codegen", "tsc" or "none").
gates() {
    local dir=$1 log=$2
    cd "$dir/client"
    if ! ./node_modules/.bin/graphql-codegen --config codegen.ts >"$log" 2>&1; then
        echo codegen
    elif ! ./node_modules/.bin/tsc --noEmit -p . >>"$log" 2>&1; then
        echo tsc
    else
        echo none
    fi
}

# sed that must change something: a case that breaks nothing proves nothing.
must_edit() {
    local expr=$1
    shift
    local before
    before=$(cat "$@" | cksum)
    sed -i -E "$expr" "$@"
    if [ "$(cat "$@" | cksum)" = "$before" ]; then
        echo "prove-break: '$expr' changed nothing in $*; pick a field the operations use" >&2
        exit 1
    fi
}

failures=0
expect() {
    local name=$1 want=$2 pattern=$3 dir=$4
    local log="$scratch/$name.log" got
    got=$(gates "$dir" "$log")
    echo "== $name: expected $want to fail, $got failed"
    grep -E 'error|Error|✖|Cannot query' "$log" | head -n 8 | sed 's/^/   | /' || true
    if [ "$got" != "$want" ] || ! grep -qE "$pattern" "$log"; then
        echo "   NOT REJECTED as expected" >&2
        failures=$((failures + 1))
    fi
}

control=$(mirror control)
got=$(gates "$control" "$scratch/control.log")
if [ "$got" != none ]; then
    cat "$scratch/control.log" >&2
    echo "prove-break: the unbroken copy already fails at $got; fix that first (bash client/check.sh)" >&2
    exit 1
fi
echo "== control: unbroken schema passes codegen and tsc"

dir=$(mirror rename)
must_edit "s/^(  )$field:/\1$renamed:/" "$dir/schema.graphql"
expect rename codegen "Cannot query field \"$field\"" "$dir"

dir=$(mirror rename-everywhere)
must_edit "s/^(  )$field:/\1$renamed:/" "$dir/schema.graphql"
must_edit "s/\b$field\b/$renamed/" "$dir"/operations/*.graphql
expect rename-everywhere tsc "src/dashboard\.ts.*error TS" "$dir"

dir=$(mirror retype)
must_edit "s/^(  $field: )Float!/\1String!/" "$dir/schema.graphql"
expect retype tsc "src/dashboard\.ts.*error TS" "$dir"

if [ "$failures" -gt 0 ]; then
    echo "prove-break: $failures breaking change(s) got through the client check" >&2
    exit 1
fi
echo "prove-break: every breaking change to '$field' is rejected"
