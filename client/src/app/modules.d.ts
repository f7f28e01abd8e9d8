// The build's virtual module (build.mjs): every operations/*.graphql file, sorted by name.
declare module 'statsgraph:operations' {
  const operations: ReadonlyArray<{ name: string; document: string }>;
  export default operations;
}
