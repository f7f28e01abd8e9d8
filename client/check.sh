#!/usr/bin/env bash
# CI gate for the TypeScript client: the committed generated types must be exactly what codegen
# makes from schema.graphql and operations/*.graphql (codegen also validates every operation
# against the schema), the client must type-check against them, and the dashboard and GraphiQL
# bundles that the package ships must be exactly what esbuild builds from the sources.
set -euo pipefail
cd "$(dirname "$0")"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# package.json holds the codegen CLI's remote-schema loaders (unused: the schema is a file) to
# versions that support Node 20 (`overrides`); an engine warning means a dependency moved past it.
npm ci --no-audit --no-fund 2>&1 | tee "$scratch/npm-ci.log"
if grep -q EBADENGINE "$scratch/npm-ci.log"; then
    echo "npm ci printed EBADENGINE warnings: pick dependency versions that support Node $(node --version)" >&2
    exit 1
fi

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

echo "== bundles in statsgraph/web/static/app/ up to date (esbuild)"
node build.mjs --check
