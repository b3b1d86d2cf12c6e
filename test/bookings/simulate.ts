/**
 * Longer simulations from the command line, with the same model and runner as test/bookings/simulation.test.ts:
 *
 *   npm run simulate -- --seed 7 --steps 40 --runs 20          # 20 runs of 40 steps from seed 7
 *   npm run simulate -- --seed 7 --steps 40 --path 3:1:0       # replay one counterexample fast-check printed
 *   npm run simulate -- ... --no-shrink                        # stop at the first failure
 *   npm run simulate -- ... --db postgres                      # a throwaway PostgreSQL cluster (or TEST_DATABASE_URL)
 *   npm run simulate -- ... --tolerate notes,stale-mark        # report these discrepancy kinds without failing
 *   npm run simulate -- ... --focus connection                 # fail (and shrink) on these kinds only
 *   npm run simulate -- ... --verbose                          # print every step as it runs
 *   npm run simulate -- ... --logs                             # also print the app's warnings and errors of a failure
 *
 * Prints one line per run; on failure, the seed, fast-check's counterexample and path (shrunk unless --no-shrink),
 * the discrepancies and the steps of the smallest failing run. Exit code 1 when a run failed.
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    steps: { type: 'string', default: '40' },
    runs: { type: 'string', default: '1' },
    path: { type: 'string' },
    'no-shrink': { type: 'boolean', default: false },
    db: { type: 'string', default: 'sqlite' },
    tolerate: { type: 'string', default: '' },
    focus: { type: 'string', default: '' },
    verbose: { type: 'boolean', default: false },
    logs: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('npm run simulate -- [--seed N] [--steps M] [--runs R] [--path P] [--no-shrink] [--db sqlite|postgres] [--tolerate kind,kind] [--focus kind,kind] [--verbose] [--logs]');
  process.exit(0);
}

const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const steps = Number(values.steps);
const runs = Number(values.runs);
if (!Number.isInteger(seed) || !Number.isInteger(steps) || steps < 1 || !Number.isInteger(runs) || runs < 1) {
  console.error('--seed, --steps and --runs take whole numbers (steps and runs at least 1)');
  process.exit(2);
}

// The database is chosen before the harness is loaded (it reads TEST_DATABASE_URL when imported).
let stopCluster: (() => void) | undefined;
if (values.db === 'postgres') {
  if (!process.env.TEST_DATABASE_URL) {
    const scripts = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'pg-cluster.mjs');
    const { startCluster } = (await import(pathToFileURL(scripts).href)) as { startCluster(o: object): Promise<{ url: string; stop(): void }> };
    const cluster = await startCluster({ settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });
    process.env.TEST_DATABASE_URL = cluster.url;
    stopCluster = () => cluster.stop();
  }
} else if (values.db === 'sqlite') {
  delete process.env.TEST_DATABASE_URL;
} else {
  console.error('--db is sqlite or postgres');
  process.exit(2);
}

const { default: fc } = await import('fast-check');
const model = await import('./simulation-model.js');

const kinds = (text: string) => new Set(text.split(',').map((s) => s.trim()).filter(Boolean));
const tolerate = kinds(values.tolerate);
const focus = kinds(values.focus);
let run = 0;
let failedRuns = 0;
let smallest: { result: import('./simulation-model.js').SimResult; actions: Array<import('./simulation-model.js').Action | null> } | undefined;
const started = Date.now();
console.log(`simulate: seed ${seed}, ${steps} steps, ${runs} run(s), ${values.db}${values.path ? `, path ${values.path}` : ''}${tolerate.size ? `, tolerating ${[...tolerate].join(', ')}` : ''}${focus.size ? `, failing only on ${[...focus].join(', ')}` : ''}`);

const property = model.simulationProperty(steps, {
  tolerate,
  focus,
  captureLogs: values.logs,
  onLog: values.verbose ? (line) => console.log(`    ${line}`) : undefined,
  onRun: (result, actions) => {
    run++;
    const kinds = [...new Set(result.discrepancies.map((d) => d.kind))];
    console.log(`run ${run}: ${result.discrepancies.length ? `FAILED (${kinds.join(', ')})` : 'ok'} — ${model.formatStats(result.stats)}${result.tolerated.length ? ` (+${result.tolerated.length} tolerated: ${[...new Set(result.tolerated.map((d) => d.kind))].join(', ')})` : ''}`);
    if (result.discrepancies.length) {
      failedRuns++;
      const size = actions.filter(Boolean).length;
      if (!smallest || size <= smallest.actions.filter(Boolean).length) smallest = { result, actions };
    }
  },
});

try {
  const details = await fc.check(property, { seed, numRuns: runs, endOnFailure: values['no-shrink'], ...(values.path ? { path: values.path } : {}) });
  const seconds = Math.round((Date.now() - started) / 1000);
  if (!details.failed) {
    console.log(`\nall ${details.numRuns} run(s) passed (seed ${seed}, ${steps} steps, ${seconds} s)`);
  } else {
    console.log(`\nFAILED after ${details.numRuns} run(s) and ${details.numShrinks} shrink(s) (${seconds} s, ${run} simulations in all, ${failedRuns} failing)`);
    console.log(`seed ${details.seed}, path ${details.counterexamplePath}`);
    console.log(`replay: npm run simulate -- --seed ${details.seed} --steps ${steps} --path ${details.counterexamplePath} --no-shrink${values.db === 'postgres' ? ' --db postgres' : ''}`);
    if (details.counterexample) console.log(`counterexample (${details.counterexample[0].filter(Boolean).length} steps that do something):\n${model.formatCounterexample(details.counterexample[0])}`);
    const last = details.errorInstance instanceof model.SimulationFailure ? details.errorInstance.result : smallest?.result;
    if (last) console.log(`\n${model.formatResult(last)}`);
    else console.log(String(details.errorInstance));
  }
  process.exitCode = details.failed ? 1 : 0;
} finally {
  stopCluster?.();
}
