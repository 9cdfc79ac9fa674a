/**
 * The folder layers of src/ (docs/architecture.md, "Folders"), checked by
 * test/unit/folder-layers.test.ts and by `npx depcruise src` (this file is its default config).
 *
 * Lowest layer first. A folder may import folders of lower layers only: not its siblings in
 * the same layer, not anything above. That keeps the folder graph acyclic by construction,
 * so a new cycle fails as a layer violation. Type-only imports count: an upward `import type`
 * couples the folders just the same. src/index.ts, the package entry, sits above every layer.
 */
const LAYERS = [
  // The error base every folder but spiffe throws from.
  ['errors'],
  // Nothing of toolgate but errors: the SPIFFE library, logs and metrics, Redis, an upstream's protos,
  // network addresses.
  ['spiffe', 'observability', 'state', 'protos', 'net'],
  // Who a caller is (and the Principal and Cedar values it yields); rate limits.
  ['identity', 'limits'],
  // Tasks, their tokens and stores, and the signing keys those tokens share with credentials; approval requests.
  ['tasks', 'approvals'],
  // The config file resolved into the types below; the per-call JWT and JWKS.
  ['config', 'credentials'],
  // Cedar decisions; one gRPC call between two HTTP/2 streams. Neither needs the other.
  ['policy', 'relay'],
  // One MCP (Streamable HTTP) call relayed: its own parsers, decided through policy.
  ['mcp'],
  // The gateway.
  ['server'],
  // The example tool, the demo that runs it, the commands.
  ['examples'],
  ['demo'],
  ['cli'],
];

/** The package entry, the CLI's, and each folder's entry (index.ts). */
const ENTRIES = '(^src/index\\.ts$|^src/cli/main\\.ts$|/index\\.ts$)';

const layerRules = LAYERS.flatMap((layer, rank) =>
  layer.map((folder) => {
    const notBelow = LAYERS.slice(rank)
      .flat()
      .filter((other) => other !== folder);
    return {
      name: `layer-${folder}`,
      comment: `src/${folder}/ may import only the folders of lower layers (.dependency-cruiser.cjs, docs/architecture.md)`,
      severity: 'error',
      from: { path: `^src/${folder}/` },
      to: { path: `^src/(${notBelow.join('|')})/` },
    };
  }),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'src-imports-no-tests',
      comment: 'What tests and benchmarks share (fakes, the throwaway redis-server) lives in test/ and is not shipped',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'src-only-what-ships',
      comment: 'Every module under src/ is reached from an entry (the package, the CLI) or is a folder entry (index.ts); ' + 'code only tests or benchmarks use belongs in test/',
      severity: 'error',
      from: { path: ENTRIES },
      to: { path: '^src/', pathNot: ENTRIES, reachable: false },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
  },
};
