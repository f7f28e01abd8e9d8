#!/usr/bin/env bash
# CI gate for the TypeScript client: the committed generated types must be exactly what codegen
# makes from schema.graphql and operations/*.graphql (codegen also validates every operation
# against the schema), and the client must type-check against them.
set -euo pipefail
cd "$(dirname "$0")"

# The CLI's remote-schema loaders (unused: the schema is a file) declare node >= 22; their
# engine warnings would bury real output on node 20.
npm ci --no-audit --no-fund --loglevel=error

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

echo "== codegen (validates operations/*.graphql against schema.graphql)"
CODEGEN_OUTPUT="$scratch/graphql.ts" ./node_modules/.bin/graphql-codegen --config codegen.ts

echo "== generated types up to date"
if ! cmp -s src/generated/graphql.ts "$scratch/graphql.ts"; then
    diff -u src/generated/graphql.ts "$scratch/graphql.ts" | head -n 60 || true
    echo "client/src/generated/graphql.ts is stale: run 'npm run codegen' in client/ and commit the result." >&2
    exit 1
fi
echo "ok"

echo "== tsc"
./node_modules/.bin/tsc --noEmit -p .
echo "ok"
