/**
 * Start-up problems an operator can fix, each said in one line (exit code 2) instead of a stack trace: the port in
 * use, a bad HOST, DATA_DIR that is a file, a second process on the same SQLite data, a database that can't be reached.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SecretBoxError } from './core/secret-box.js';

export class StartupError extends Error {}

/** One line for a failure while starting: known causes in words, anything else with its stack. */
export function describeStartupFailure(err: unknown, ctx: { port: number; host: string; databaseUrl?: string }): { line: string; code: number } {
  const e = err as NodeJS.ErrnoException & { address?: string };
  if (err instanceof StartupError || err instanceof SecretBoxError) return { line: err.message, code: 2 };
  switch (e?.code) {
    case 'EADDRINUSE':
      return { line: `port ${ctx.port} is already in use on ${ctx.host}: stop the other program or set PORT`, code: 2 };
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { line: `HOST "${ctx.host}" is not an address of this machine (try 0.0.0.0 or 127.0.0.1)`, code: 2 };
    case 'EACCES':
      return { line: `not allowed to listen on port ${ctx.port} (ports below 1024 need privileges): set PORT`, code: 2 };
    case 'ECONNREFUSED':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
      if (ctx.databaseUrl) return { line: `cannot reach the PostgreSQL server of DATABASE_URL (${redact(ctx.databaseUrl)}): ${e.code}`, code: 2 };
      break;
    case '28P01':
    case '3D000':
    case '28000':
      return { line: `PostgreSQL refused DATABASE_URL (${redact(ctx.databaseUrl ?? '')}): ${e.message}`, code: 2 };
  }
  if (ctx.databaseUrl && err instanceof TypeError && /url/i.test(err.message)) return { line: `DATABASE_URL is not a valid URL: ${err.message}`, code: 2 };
  return { line: err instanceof Error ? (err.stack ?? err.message) : String(err), code: 1 };
}

function redact(url: string): string {
  return url.replace(/:[^:@/]*@/, ':***@');
}

/** Binds and releases the address once, so a port in use or a foreign HOST is found before anything is created. */
export async function checkCanListen(port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** DATA_DIR must be a directory we can write (created when missing). */
export function checkDataDir(dir: string): void {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new StartupError(`DATA_DIR ${dir} is a file, not a directory`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new StartupError(`DATA_DIR ${dir} cannot be created or written`);
  }
}

/**
 * The embedded default is one process per SQLite data directory (several processes are the PostgreSQL deployment):
 * a second one would share the job queue but run its own emulator. A lock file holding the owner's pid says who runs;
 * a stale one (its process is gone) is taken over.
 */
export function lockDataDir(dir: string): () => void {
  const file = path.join(dir, 'calbridge.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => {
        try {
          if (fs.readFileSync(file, 'utf8') === String(process.pid)) fs.unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(fs.readFileSync(file, 'utf8'));
      if (owner && owner !== process.pid && alive(owner)) {
        throw new StartupError(`another calbridge (pid ${owner}) already runs on ${dir}; the embedded SQLite default is one process (use PostgreSQL with DATABASE_URL for several)`);
      }
      fs.rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new StartupError(`cannot lock ${dir}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
