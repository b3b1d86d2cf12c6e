/** Starts the real service (src/server.ts) as its own process on a free port, for end-to-end tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { processDatabaseEnv } from '../helpers/database.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * `givenEnv.PORT` fixes the port (e.g. to restart on the same URL, or when PUBLIC_URL must name it); otherwise a free
 * one is picked.
 */
export async function startServer(givenEnv: Record<string, string>, timeoutMs = 20_000): Promise<ServerProcess> {
  // A free port is free only until someone takes it: another test file's server may get it between freePort() and
  // this server's start. Then this one stops at once (the port is in use), and it runs again on another port.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(givenEnv, timeoutMs);
    } catch (err) {
      if (givenEnv.PORT || attempt >= 3 || !(err instanceof PortTaken)) throw err;
    }
  }
}

class PortTaken extends Error {}

async function startOnce(givenEnv: Record<string, string>, timeoutMs: number): Promise<ServerProcess> {
  const env = await processDatabaseEnv(givenEnv);
  const port = givenEnv.PORT ? Number(givenEnv.PORT) : await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, SCRYPT_COST: '1024', LOG_LEVEL: 'info', HOST: '127.0.0.1', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const announces = ['trace', 'debug', 'info'].includes(env.LOG_LEVEL ?? 'info');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      throw new (/already in use/.test(out) ? PortTaken : Error)(`server exited with ${child.exitCode}:\n${out}`);
    }
    try {
      // Answered, and by this process: at level info it says so once it listens (another process may hold the port).
      const res = await fetch(`${url}/api/openapi.json`);
      if (res.ok && (!announces || /calbridge is listening/.test(out))) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not start in time:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    url,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs the server expecting it to exit by itself (e.g. bad configuration). */
export function runToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
