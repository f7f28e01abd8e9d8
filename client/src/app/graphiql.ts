// GraphiQL's start-up, loaded from a file because the page's Content-Security-Policy forbids
// inline scripts. React, ReactDOM and GraphiQL are the vendored browser bundles the page loads
// before this one (statsgraph/web/static/vendor/).
import operations from 'statsgraph:operations';

import { storedToken, storeToken } from './session';

interface FetcherParams {
  query: string;
  operationName?: string | null;
  variables?: unknown;
}

interface FetcherOpts {
  headers?: Record<string, string>;
}

declare const React: { createElement(type: unknown, props: Record<string, unknown>): unknown };
declare const ReactDOM: { createRoot(el: Element): { render(node: unknown): void } };
declare const GraphiQL: unknown;

// Values for the operations' required variables, so every example tab runs as it opens.
const EXAMPLE_VARIABLES: Record<string, Record<string, unknown>> = {
  DailyChart: { days: 30 },
};

const tokenInput = document.getElementById('token') as HTMLInputElement;
tokenInput.value = storedToken();
tokenInput.addEventListener('input', () => storeToken(tokenInput.value.trim()));

async function fetcher(params: FetcherParams, opts?: FetcherOpts): Promise<unknown> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json' };
  const token = tokenInput.value.trim();
  if (token) headers.Authorization = `Bearer ${token}`;
  // A header typed into GraphiQL's Headers tab wins over the token field.
  Object.assign(headers, opts?.headers ?? {});
  const response = await fetch('/graphql', {
    method: 'POST',
    headers,
    body: JSON.stringify(params),
    credentials: 'same-origin',
  });
  return response.json();
}

const defaultTabs = operations.map((op) => ({
  query: op.document,
  variables: EXAMPLE_VARIABLES[op.name] ? JSON.stringify(EXAMPLE_VARIABLES[op.name], null, 2) : undefined,
}));

const root = document.getElementById('graphiql');
if (root) {
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultTabs,
      defaultEditorToolsVisibility: true,
      shouldPersistHeaders: false,
      isHeadersEditorEnabled: true,
    }),
  );
}
