/**
 * Long fuzz campaigns against the real app (see fuzz.ts for what is sent and checked):
 *
 *   npm run fuzz -- --requests 20000 [--seed S] [--db sqlite|postgres] [--epoch 2000] [--no-minimize] [--json report.json]
 *
 * Prints the requests sent, the count by status class (and status), and every distinct 5xx or invariant violation
 * with the exact request (method, URL, headers, body cut short), a shrunk reproducer, the cause from the app's log,
 * and the seed. On PostgreSQL it uses TEST_DATABASE_URL (a superuser URL) when set, else a throwaway cluster
 * (scripts/pg-cluster.mjs). Exit code 1 when anything was found.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    seed: { type: 'string' },
    db: { type: 'string', default: 'sqlite' },
    epoch: { type: 'string', default: '2000' },
    'no-minimize': { type: 'boolean', default: false },
    'shrink-budget': { type: 'string', default: '150' },
    json: { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
  allowPositionals: false,
});

function whole(name: string, raw: string | undefined, min = 1): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) {
    console.error(`--${name} must be a whole number of at least ${min} (got ${raw})`);
    process.exit(2);
  }
  return n;
}

const requests = whole('requests', values.requests);
const epochSize = whole('epoch', values.epoch);
const seed = values.seed === undefined ? (Date.now() ^ (process.pid << 8)) | 0 : Number(values.seed);
if (!Number.isSafeInteger(seed)) {
  console.error(`--seed must be an integer (got ${values.seed})`);
  process.exit(2);
}
if (values.db !== 'sqlite' && values.db !== 'postgres') {
  console.error(`--db must be sqlite or postgres (got ${values.db})`);
  process.exit(2);
}

let stopCluster: (() => void) | undefined;
if (values.db === 'postgres') {
  if (!process.env.TEST_DATABASE_URL) {
    // @ts-expect-error: a plain .mjs script without type declarations
    const { startCluster } = (await import('../../scripts/pg-cluster.mjs')) as { startCluster(o: object): Promise<{ url: string; stop(): void }> };
    const cluster = await startCluster({ settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });
    stopCluster = () => cluster.stop();
    process.env.TEST_DATABASE_URL = cluster.url;
    console.log(`PostgreSQL: a throwaway cluster at ${cluster.url}`);
  } else {
    console.log(`PostgreSQL: ${process.env.TEST_DATABASE_URL.replace(/:[^:@/]*@/, ':***@')}`);
  }
} else {
  delete process.env.TEST_DATABASE_URL;
}
process.on('SIGINT', () => {
  stopCluster?.();
  process.exit(130);
});

// Imported only now: the test helpers read TEST_DATABASE_URL when they load.
const { formatReport, runCampaign } = await import('./fuzz.js');

let exitCode = 0;
try {
  console.log(`Fuzzing ${requests} requests on ${values.db}, seed ${seed}, a fresh app every ${epochSize} requests`);
  let lastPrint = 0;
  const report = await runCampaign({
    requests, seed, epochSize, minimize: !values['no-minimize'], shrinkBudget: whole('shrink-budget', values['shrink-budget'], 0),
    onProgress(p) {
      if (values.quiet || (Date.now() - lastPrint < 5000 && p.epoch >= 0)) return;
      lastPrint = Date.now();
      console.log(`  ${p.sent}/${p.total} sent; ${Object.entries(p.byClass).sort().map(([k, v]) => `${k} ${v}`).join(', ')}; ${p.violations} distinct violations`);
    },
  });
  console.log(`\n${formatReport(report)}\n`);
  console.log(`seed ${seed} (replay: npm run fuzz -- --requests ${requests} --seed ${seed} --db ${values.db} --epoch ${epochSize})`);
  if (values.json) {
    writeFileSync(values.json, JSON.stringify(report, (_k, v) => (typeof v === 'string' && v.length > 5000 ? `${v.slice(0, 5000)}… (${v.length} chars)` : v), 2));
    console.log(`report written to ${values.json}`);
  }
  exitCode = report.findings.length ? 1 : 0;
} catch (e) {
  console.error(e);
  exitCode = 2;
} finally {
  stopCluster?.();
}
process.exit(exitCode);
