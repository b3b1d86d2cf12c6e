/**
 * Summarises V8 .cpuprofile files (from `npm run bench -- --cpu-prof <dir>` or `node --cpu-prof`):
 * self time by function and by origin (src/ file, node_modules package, Node internals, GC, native/idle).
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile | dir> [--top 40] [--from <ms>]
 *
 * --from skips the first milliseconds of the profile (server start-up and module loading).
 */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function origin(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node:internal';
  const src = url.indexOf('/src/');
  if (src >= 0) return url.slice(src + 1).replace(/^file:\/\//, '');
  return url.replace(/^file:\/\//, '');
}

function summarise(file: string, top: number, fromMs: number): void {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  let t = p.startTime;
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if ((t - p.startTime) / 1000 < fromMs) continue;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt);
    total += dt;
  }
  const fnTotals = new Map<string, number>();
  const originTotals = new Map<string, number>();
  // Inclusive time of a few interesting frames: whatever runs under them.
  const inclusive = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    const o = origin(url, functionName);
    const key = `${functionName || '(anonymous)'}  ${o}${url ? `:${lineNumber + 1}` : ''}`;
    fnTotals.set(key, (fnTotals.get(key) ?? 0) + us);
    originTotals.set(o, (originTotals.get(o) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      const o2 = origin(f.url, f.functionName);
      const k = `${f.functionName || '(anonymous)'}  ${o2}${f.url ? `:${f.lineNumber + 1}` : ''}`;
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  process.stdout.write(`\n=== ${path.basename(file)}: ${(total / 1e6).toFixed(2)} s sampled${fromMs ? ` (after the first ${fromMs} ms)` : ''}\n`);
  process.stdout.write('\n-- self time by origin\n');
  for (const [o, us] of [...originTotals].sort((a, b) => b[1] - a[1]).slice(0, 25)) process.stdout.write(`${pct(us)} ${ms(us)}  ${o}\n`);
  process.stdout.write(`\n-- self time by function (top ${top})\n`);
  for (const [k, us] of [...fnTotals].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(us)} ${ms(us)}  ${k}\n`);
  process.stdout.write(`\n-- inclusive time (top ${top}, frames from src/ and main packages)\n`);
  for (const [k, us] of [...inclusive].sort((a, b) => b[1] - a[1]).filter(([k]) => !k.startsWith('(')).slice(0, top)) {
    process.stdout.write(`${pct(us)} ${ms(us)}  ${k}\n`);
  }
}

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  return v;
};
const top = opt('top', 40);
const fromMs = opt('from', 0);
if (!args.length) {
  process.stderr.write('usage: npx tsx bench/profile-summary.ts <file.cpuprofile | dir> [--top 40] [--from <ms>]\n');
  process.exit(2);
}
for (const target of args) {
  const files = fs.statSync(target).isDirectory()
    ? fs.readdirSync(target).filter((f) => f.endsWith('.cpuprofile')).sort().map((f) => path.join(target, f))
    : [target];
  for (const f of files) summarise(f, top, fromMs);
}
