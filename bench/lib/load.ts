/**
 * Load generators: wrk (one thread, Lua scripts in bench/wrk/; far less CPU than a Node client on a 2-core box) or,
 * when wrk is not installed, autocannon in this process. Both answer the same LoadResult.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import autocannon from 'autocannon';
import type { BenchCase, Flavor } from './cases.js';
import { CALBRIDGE } from './cases.js';
import { HOST } from './server.js';

export type LoadTool = 'wrk' | 'autocannon';

export interface LoadOptions {
  port: number;
  token: string;
  rows: number;
  connections: number;
  durationS: number;
  /** Directory of the Lua scripts. */
  wrkDir: string;
  /** Paths and parameter names of the server under load (default calbridge's). */
  flavor?: Flavor;
}

export interface LoadResult {
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Answers with a status outside 2xx (wrk counts status >= 400; calbridge sends no 1xx/3xx here). */
  non2xx: number;
  /** Connect/read/write errors and timeouts. */
  socketErrors: number;
  timeouts: number;
}

/** Children of this process that must be killed on SIGINT. */
export const liveLoaders = new Set<ChildProcess>();
let liveCannon: { stop(): void } | undefined;

export function stopLoaders(): void {
  for (const p of liveLoaders) p.kill('SIGKILL');
  liveCannon?.stop();
}

export function wrkVersion(): string | undefined {
  const r = spawnSync('wrk', ['-v'], { encoding: 'utf8', timeout: 5000 });
  if (r.error) return undefined;
  const m = `${r.stdout}${r.stderr}`.match(/wrk\s+(\S+)/);
  return m ? m[1]!.replace(/^debian\//, '') : 'unknown';
}

export function runLoad(tool: LoadTool, c: BenchCase, o: LoadOptions): Promise<LoadResult> {
  return tool === 'wrk' ? runWrk(c, o) : runAutocannon(c, o);
}

interface WrkJson {
  requests: number; duration_us: number; err_connect: number; err_read: number; err_write: number; err_status: number;
  err_timeout: number; lat_p50_us: number; lat_p90_us: number; lat_p99_us: number; lat_max_us: number;
}

function runWrk(c: BenchCase, o: LoadOptions): Promise<LoadResult> {
  const f = o.flavor ?? CALBRIDGE;
  const args = ['-t1', `-c${o.connections}`, `-d${o.durationS}s`, '--latency', '--timeout', '10s',
    '-s', path.join(o.wrkDir, c.script), `http://${HOST}:${o.port}${f.collection}`];
  const env = {
    ...process.env, BENCH_WRK_DIR: o.wrkDir, BENCH_TOKEN: o.token, BENCH_PATH: f.collection, BENCH_ROWS: String(o.rows),
    BENCH_RESOURCE_PARAM: f.resourceParam, BENCH_NAME_PARAM: f.nameParam,
  };
  return new Promise((resolve, reject) => {
    const p = spawn('wrk', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    liveLoaders.add(p);
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    // wrk stops by itself after the duration; this only bounds a wrk that hangs.
    const killer = setTimeout(() => p.kill('SIGKILL'), (o.durationS + 30) * 1000);
    p.on('error', (err) => { clearTimeout(killer); liveLoaders.delete(p); reject(err); });
    p.on('exit', (code, signal) => {
      clearTimeout(killer);
      liveLoaders.delete(p);
      const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON:'));
      if (code !== 0 || !line) return reject(new Error(`wrk ${code === null ? `killed (${signal})` : `exited ${code}`}:\n${out.slice(-2000)}`));
      const j = JSON.parse(line.slice('BENCH_JSON:'.length)) as WrkJson;
      const durationS = j.duration_us / 1e6;
      resolve({
        requests: j.requests,
        durationS,
        rps: j.requests / durationS,
        p50Ms: j.lat_p50_us / 1000,
        p90Ms: j.lat_p90_us / 1000,
        p99Ms: j.lat_p99_us / 1000,
        maxMs: j.lat_max_us / 1000,
        non2xx: j.err_status,
        socketErrors: j.err_connect + j.err_read + j.err_write + j.err_timeout,
        timeouts: j.err_timeout,
      });
    });
  });
}

async function runAutocannon(c: BenchCase, o: LoadOptions): Promise<LoadResult> {
  const instance = autocannon({
    url: `http://${HOST}:${o.port}`,
    connections: o.connections,
    duration: o.durationS,
    timeout: 10,
    headers: { authorization: `Bearer ${o.token}` },
    requests: [{
      setupRequest: (req) => {
        const r = c.next(o.rows, o.flavor);
        return {
          ...req,
          method: r.method,
          path: r.path,
          body: r.body,
          headers: r.body ? { ...req.headers, 'content-type': 'application/json' } : req.headers,
        };
      },
    }],
  });
  liveCannon = instance;
  const timer = setTimeout(() => instance.stop(), (o.durationS + 30) * 1000);
  try {
    const r = await instance;
    return {
      requests: r.requests.total,
      durationS: r.duration,
      rps: r.requests.total / r.duration,
      p50Ms: r.latency.p50,
      p90Ms: r.latency.p90,
      p99Ms: r.latency.p99,
      maxMs: r.latency.max,
      non2xx: r.non2xx,
      socketErrors: r.errors,
      timeouts: r.timeouts,
    };
  } finally {
    clearTimeout(timer);
    liveCannon = undefined;
  }
}
