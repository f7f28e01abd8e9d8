// Builds the browser bundles that statsgraph serves, into statsgraph/web/static/app/:
//   dashboard.js  the dashboard at `/` (src/app/main.ts, the typed client, Chart.js)
//   graphiql.js   GraphiQL's start-up at `/graphql` (src/app/graphiql.ts and operations/*.graphql)
// `node build.mjs --check` builds into a scratch folder and fails when the committed bundles
// differ from what the sources give (CI runs it), so the shipped files never drift.
import { readFileSync, readdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const shipped = join(root, 'statsgraph', 'web', 'static', 'app');
const operationsDir = join(root, 'operations');
const check = process.argv.includes('--check');

// `import operations from 'statsgraph:operations'`: every operations/*.graphql file, sorted by
// name, as { name, document }; a new operation file reaches GraphiQL's tabs without an edit.
const operationsPlugin = {
  name: 'statsgraph-operations',
  setup(build) {
    build.onResolve({ filter: /^statsgraph:operations$/ }, () => ({ path: 'operations', namespace: 'statsgraph' }));
    build.onLoad({ filter: /.*/, namespace: 'statsgraph' }, () => {
      const files = readdirSync(operationsDir).filter((f) => f.endsWith('.graphql')).sort();
      const operations = files.map((f) => ({
        name: basename(f, '.graphql'),
        document: readFileSync(join(operationsDir, f), 'utf8'),
      }));
      return {
        contents: `export default ${JSON.stringify(operations)};`,
        loader: 'js',
        watchFiles: files.map((f) => join(operationsDir, f)),
      };
    });
  },
};

const outdir = check ? mkdtempSync(join(tmpdir(), 'statsgraph-build-')) : shipped;
try {
  await esbuild.build({
    entryPoints: { dashboard: join(here, 'src/app/main.ts'), graphiql: join(here, 'src/app/graphiql.ts') },
    outdir,
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020'],
    platform: 'browser',
    // Licence banners of the bundled libraries (Chart.js and its colour helper) stay in the file.
    legalComments: 'eof',
    charset: 'utf8',
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [operationsPlugin],
    logLevel: 'warning',
  });
  if (check) {
    const stale = ['dashboard.js', 'graphiql.js'].filter((f) => {
      const committed = join(shipped, f);
      return !existsSync(committed) || !readFileSync(committed).equals(readFileSync(join(outdir, f)));
    });
    if (stale.length) {
      console.error(`stale bundle(s) in statsgraph/web/static/app/: ${stale.join(', ')}; run 'npm run build' in client/ and commit`);
      process.exit(1);
    }
    console.log('bundles up to date');
  }
} finally {
  if (check) rmSync(outdir, { recursive: true, force: true });
}
