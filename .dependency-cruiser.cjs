// The architecture's one-way doors, checked by `npm run check:doors` (first step of `npm test`).
//
//   src/core       framework-free building blocks           -> nothing else of the project
//   src/storage    Kysely per dialect, migrations, UoW       -> core
//   src/jobs       the durable queue                         -> core, storage
//   src/modules/*  the domain                                -> core, storage, jobs, other modules
//   src/web        Fastify plugins and routes                -> core, jobs, modules (storage: types only)
//   src/cli, server.ts, composition-root.ts, config.ts      the top: may import anything of src
//   emulator/      the Graph emulator                        -> nothing of src
//
// Each rule names the importer's layer; rules are kept disjoint so that one bad import is reported once:
// the layer rules of core/storage/jobs/modules leave imports of src/web and of composition-root.ts to the
// two cross-cutting rules below them. Type-only imports are seen (tsPreCompilationDeps) and count everywhere,
// cycles included; the only exception is web's type-only use of storage.

/** Third-party frameworks core must stay free of (resolved paths, also when node_modules is a symlink). */
const FRAMEWORKS =
  '(^|/)node_modules/(@types/)?(fastify|@fastify/[^/]+|kysely|pg|pg-[^/]+|better-sqlite3|@azure/[^/]+|@microsoft/[^/]+|microsoft__[^/]+|azure__[^/]+)/';
const FASTIFY = '(^|/)node_modules/(fastify|@fastify/[^/]+)/';

// Covered by the cross-cutting rules 'web-only-from-server-and-root' and 'composition-root-only-from-entry-points'.
const CROSS_CUT = '^src/web/|^src/composition-root\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-only-core',
      comment: 'src/core is the bottom layer: it may import nothing of the project outside src/core.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: ['^src/core/', CROSS_CUT] },
    },
    {
      name: 'core-no-framework',
      comment: 'src/core is framework-free: no fastify, kysely, pg, better-sqlite3, @azure/*, @microsoft/*.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: FRAMEWORKS },
    },
    {
      name: 'storage-only-core',
      comment: 'src/storage may import only src/core (of the project).',
      severity: 'error',
      from: { path: '^src/storage/' },
      to: { path: '^src/', pathNot: ['^src/(core|storage)/', CROSS_CUT] },
    },
    {
      name: 'jobs-only-core-storage',
      comment: 'src/jobs (the durable queue) may import only src/core and src/storage.',
      severity: 'error',
      from: { path: '^src/jobs/' },
      to: { path: '^src/', pathNot: ['^src/(core|storage|jobs)/', CROSS_CUT] },
    },
    {
      name: 'modules-not-upward',
      comment:
        'src/modules may import core, storage, jobs and other modules; not cli, server.ts or config.ts ' +
        '(configuration reaches the domain through the composition root).',
      severity: 'error',
      from: { path: '^src/modules/' },
      to: { path: '^src/', pathNot: ['^src/(core|storage|jobs|modules)/', CROSS_CUT] },
    },
    {
      name: 'no-fastify-below-web',
      comment: 'Fastify belongs to src/web and the top; storage, jobs and the domain must not use it.',
      severity: 'error',
      from: { path: '^src/(storage|jobs|modules)/' },
      to: { path: FASTIFY },
    },
    {
      name: 'web-not-upward',
      comment: 'src/web must not import cli or server.ts (composition-root.ts: see composition-root-only-from-entry-points).',
      severity: 'error',
      from: { path: '^src/web/' },
      to: { path: '^src/(cli/|server\\.ts$)' },
    },
    {
      name: 'web-no-storage',
      comment:
        'src/web reaches storage through modules and jobs. Type-only imports (import type / import("…").T) ' +
        'of storage types are allowed; value imports are not.',
      severity: 'error',
      from: { path: '^src/web/' },
      to: { path: '^src/storage/', dependencyTypesNot: ['type-only', 'type-import'] },
    },
    {
      name: 'web-only-from-server-and-root',
      comment: 'Only src/server.ts and src/composition-root.ts may import src/web (tests are not checked).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(web/|server\\.ts$|composition-root\\.ts$)' },
      to: { path: '^src/web/' },
    },
    {
      name: 'composition-root-only-from-entry-points',
      comment: 'Only src/cli and src/server.ts may import src/composition-root.ts.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli/|server\\.ts$|composition-root\\.ts$)' },
      to: { path: '^src/composition-root\\.ts$' },
    },
    {
      name: 'emulator-not-to-src',
      comment: 'The Graph emulator stands alone: it must not import anything from src/.',
      severity: 'error',
      from: { path: '^emulator/' },
      to: { path: '^src/' },
    },
    {
      name: 'emulator-only-from-composition-root',
      comment: 'Only src/composition-root.ts may import the emulator (to start the embedded one).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/composition-root\\.ts$' },
      to: { path: '^emulator/' },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles between modules of src/ (type-only imports count).',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-circular-folders',
      comment: 'No import cycles between folders, e.g. src/modules/graph <-> src/modules/calendars (type-only imports count).',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: '(^|/)node_modules/' },
    // See type-only imports too (import type, import { type X }, import('…').T): they count for every rule.
    tsPreCompilationDeps: true,
    // NodeNext: './x.js' specifiers resolve to './x.ts'.
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
