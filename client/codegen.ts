import type { CodegenConfig } from '@graphql-codegen/cli';

// check.sh and prove-break.sh point these elsewhere to regenerate into a scratch file or
// against a deliberately broken schema without touching the committed output.
const schema = process.env.CODEGEN_SCHEMA ?? '../schema.graphql';
const documents = process.env.CODEGEN_DOCUMENTS ?? '../operations/*.graphql';
const output = process.env.CODEGEN_OUTPUT ?? 'src/generated/graphql.ts';

const config: CodegenConfig = {
  schema,
  documents,
  overwrite: true,
  generates: {
    [output]: {
      plugins: ['typescript', 'typescript-operations', 'typed-document-node'],
      config: {
        // The server sends BigInt as a JSON number and dates as ISO strings.
        scalars: { BigInt: 'number', Date: 'string', DateTime: 'string' },
        // A new scalar in the schema must get a mapping here rather than silently become `any`.
        strictScalars: true,
        // Only what the operations use, so unrelated schema edits do not make this file stale.
        onlyOperationTypes: true,
        enumsAsTypes: true,
        useTypeImports: true,
        avoidOptionals: true,
        // The operations never ask for __typename, so the server never sends it.
        skipTypename: true,
      },
    },
  },
};

export default config;
