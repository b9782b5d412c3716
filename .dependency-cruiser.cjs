// The import graph's rules: layers import downward only, nothing imports in a
// circle (type-only imports included). `make test` runs this through
// test/architecture.test.ts; `npx depcruise -c .dependency-cruiser.cjs lib server deploy loadgen tools scenarios bench scripts test`
// prints the violations. docs/design/012-code-map.md draws the same layers.
//
// Bottom to top:
//   lib        helpers with no project imports (turn batcher, timeouts, /proc CPU, stats)
//   server     the system: common (protocol, config, ids, validation) < store, directory < chat, gateway, metrics
//   deploy     starts the system's processes (the local launcher, a Cassandra node)
//   loadgen    the load generator, itself layered (LOADGEN_LAYERS below)
//   scenarios  traffic models: only the load generator's model types
//   tools      capacity model, perf gate, profiler: use anything below
//   bench      benchmarks: anything but the tests
//   scripts, test: anything

/** The load generator's folders, bottom first: each may import only folders listed before it. */
const LOADGEN_LAYERS = ['model', 'metrics', 'executors', 'client', 'identity', 'drivers', 'world', 'workloads', 'workers', 'engine', 'outputs', 'commands'];

const layerRules = LOADGEN_LAYERS.slice(0, -1).map((layer, i) => ({
  name: `loadgen-${layer}-imports-downward`,
  comment: `loadgen/${layer} may import only loadgen/{${LOADGEN_LAYERS.slice(0, i).join(',') || 'nothing'}}`,
  severity: 'error',
  from: { path: `^loadgen/${layer}/` },
  to: { path: `^loadgen/(${LOADGEN_LAYERS.slice(i + 1).join('|')})/` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle (type-only imports count) means two modules are one; split them or move the shared part down.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'lib-imports-nothing-of-ours',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(server|deploy|loadgen|scenarios|tools|bench|scripts|test)/' },
    },
    {
      name: 'server-imports-only-server-and-lib',
      comment: 'The system never imports the load generator, its launchers or the tools.',
      severity: 'error',
      from: { path: '^server/' },
      to: { path: '^(deploy|loadgen|scenarios|tools|bench|scripts|test)/' },
    },
    {
      name: 'server-common-is-the-bottom',
      comment: 'server/common (protocol, config, ids, validation) is what every tier shares; it imports no tier.',
      severity: 'error',
      from: { path: '^server/common/' },
      to: { path: '^server/(chat|gateway|store|metrics|cluster|directory)/' },
    },
    {
      name: 'cluster-and-directory-below-the-tiers',
      comment: 'Partition ownership (etcd) and the route directory (Redis) serve both tiers: they import only common and lib.',
      severity: 'error',
      from: { path: '^server/(cluster|directory)/' },
      to: { path: '^server/(chat|gateway|store|metrics)/' },
    },
    {
      name: 'media-below-the-tiers',
      comment: 'The blob stores and media sessions (server/media) serve the gateway: they import only common and lib.',
      severity: 'error',
      from: { path: '^server/media/' },
      to: { path: '^server/(chat|gateway|store|metrics|cluster|directory)/' },
    },
    {
      name: 'store-below-chat-and-gateway',
      severity: 'error',
      from: { path: '^server/store/' },
      to: { path: '^server/(chat|gateway|metrics)/' },
    },
    {
      name: 'metrics-below-the-tiers',
      comment: 'Metrics read the tiers through small source interfaces passed in, never by importing them.',
      severity: 'error',
      from: { path: '^server/metrics/' },
      to: { path: '^server/(chat|gateway)/' },
    },
    {
      name: 'tiers-do-not-import-each-other',
      comment: 'The gateway and the chat service talk over gRPC only.',
      severity: 'error',
      from: { path: '^server/gateway/' },
      to: { path: '^server/(chat|store)/' },
    },
    {
      name: 'chat-does-not-import-the-gateway',
      severity: 'error',
      from: { path: '^server/chat/' },
      to: { path: '^server/gateway/' },
    },
    {
      name: 'deploy-below-loadgen-and-tools',
      severity: 'error',
      from: { path: '^deploy/' },
      to: { path: '^(loadgen|scenarios|tools|bench|scripts|test)/' },
    },
    {
      name: 'loadgen-never-imports-tools',
      comment: 'The load generator is a product of its own; the tools sit on top of it.',
      severity: 'error',
      from: { path: '^loadgen/' },
      to: { path: '^(tools|bench|scripts|test|scenarios)/' },
    },
    {
      name: 'loadgen-uses-only-the-shared-server-parts',
      comment: 'The generator speaks the protocol (server/common) and exposes metrics like the server (server/metrics); it never links the tiers themselves.',
      severity: 'error',
      from: { path: '^loadgen/' },
      to: { path: '^server/(chat|gateway|store)/' },
    },
    {
      name: 'scenarios-import-only-the-model',
      severity: 'error',
      from: { path: '^scenarios/' },
      to: { path: '^(server|deploy|tools|bench|scripts|test)/|^loadgen/(?!model/)' },
    },
    {
      name: 'tools-never-import-benches-or-tests',
      severity: 'error',
      from: { path: '^tools/' },
      to: { path: '^(bench|test)/' },
    },
    {
      name: 'bench-never-imports-tests',
      severity: 'error',
      from: { path: '^bench/' },
      to: { path: '^test/' },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    // Count `import type` too: a type-only cycle is still a cycle between two modules' meanings.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
