// Architecture rules checked by `npm run lint` (dependency-cruiser):
// no import cycles, no deep imports into another package, pure decision
// modules free of I/O, and the package layering of docs/architecture.md.
const PURE = [
  '^packages/master/src/allocator/',
  '^frameworks/marathon/src/model/',
  '^frameworks/marathon/src/constraints/',
  '^frameworks/marathon/src/scheduling/offer-matcher',
  '^frameworks/marathon/src/deployments/deployment-plan',
  '^frameworks/marathon/src/health/health-policy',
  '^frameworks/marathon/src/scheduling/instance-planner',
  '^frameworks/marathon/src/scheduling/unreachable-policy',
  '^frameworks/marathon/src/scheduling/offer-cycle',
  '^frameworks/marathon/src/scheduling/resident-',
  '^packages/agent/src/health/policy',
  '^packages/agent/src/checks/policy',
  '^packages/agent/src/isolation/cgroup-values',
];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make lifetimes and initialisation order fragile.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve (e.g. "@agora/x/src/y", which the exports map hides).',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-deep-imports',
      severity: 'error',
      comment: 'Each package has one public door: import "@agora/x", never "@agora/x/src/...".',
      from: { path: '^(packages|frameworks|test|bench)/([^/]+)/' },
      to: {
        path: '^(packages|frameworks)/[^/]+/src/',
        pathNot: ['^$1/$2/', '^(packages|frameworks)/[^/]+/src/index\\.ts$'],
      },
    },
    {
      name: 'pure-modules-do-no-io',
      severity: 'error',
      comment: 'Decision modules take state in and return decisions: no node builtins, sockets, ZooKeeper or Redis.',
      from: { path: PURE },
      to: { dependencyTypes: ['core', 'npm'], pathNot: '^node_modules/@agora/' },
    },
    {
      name: 'pure-modules-import-only-pure-or-types',
      severity: 'error',
      from: { path: PURE },
      to: { path: '^(packages|frameworks)/[^/]+/src/', pathNot: [...PURE, '^packages/(common|proto)/src/'] },
    },
    {
      name: 'layering-foundation',
      severity: 'error',
      comment: 'proto <- common <- transport/coordination <- master/agent/sdk <- frameworks <- cli.',
      from: { path: '^packages/(proto|common)/src/' },
      to: { path: '^(packages/(transport|coordination|master|agent|sdk|cli|testkit)|frameworks)/' },
    },
    {
      name: 'layering-daemons',
      severity: 'error',
      from: { path: '^packages/(master|agent|sdk)/src/' },
      to: { path: '^(packages/cli|frameworks)/' },
    },
    {
      name: 'no-test-code-in-src',
      severity: 'error',
      from: { path: '^(packages|frameworks)/[^/]+/src/', pathNot: '^packages/testkit/' },
      to: { path: '(^|/)test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    combinedDependencies: true,
    preserveSymlinks: false,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['development', 'import', 'types', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.d.ts'],
    },
    tsConfig: { fileName: 'tsconfig.base.json' },
  },
};
