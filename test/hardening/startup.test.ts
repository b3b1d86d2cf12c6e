/** Start-up mistakes an operator makes get one line and exit code 2; nothing is created by a start that fails. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { runToExit, startServer, freePort } from '../e2e/server-process.js';
import { tempDir } from '../helpers/cleanup.js';
import { testDatabaseUrl } from '../helpers/database.js';

const oneLine = (output: string) => output.trim().split('\n').filter((l) => l.startsWith('calbridge failed to start:'));

test('port in use: one line, exit 2, and no administrator was created (its password never printed)', async (ctx) => {
  const port = await freePort();
  const blocker = net.createServer().listen(port, '0.0.0.0');
  await new Promise((r) => blocker.once('listening', r));
  ctx.after(() => blocker.close());
  const dir = tempDir(ctx, 'calbridge-start-');
  const { code, output } = await runToExit({ DATA_DIR: dir, PORT: String(port), SYNC_ENGINE: 'off' });
  assert.equal(code, 2, output);
  assert.match(oneLine(output)[0] ?? '', new RegExp(`port ${port} is already in use`));
  assert.doesNotMatch(output, /password:/, 'the "shown once" password is not spent on a failed start');
  assert.doesNotMatch(output, /\n\s+at /, 'no stack trace');
});

test('a HOST that is not this machine\'s: one line, exit 2', async (ctx) => {
  const { code, output } = await runToExit({ DATA_DIR: tempDir(ctx, 'calbridge-start-'), PORT: '0', HOST: '203.0.113.7', SYNC_ENGINE: 'off' });
  assert.equal(code, 2, output);
  assert.match(oneLine(output)[0] ?? '', /HOST "203.0.113.7" is not an address of this machine/);
});

test('DATA_DIR pointing at a file: one line, exit 2', { skip: Boolean(testDatabaseUrl) && 'SQLite only' }, async (ctx) => {
  const file = path.join(tempDir(ctx, 'calbridge-start-'), 'not-a-dir');
  fs.writeFileSync(file, 'x');
  const { code, output } = await runToExit({ DATA_DIR: file, PORT: '0', SYNC_ENGINE: 'off' });
  assert.equal(code, 2, output);
  assert.match(oneLine(output)[0] ?? '', /DATA_DIR .* is a file, not a directory/);
});

test('a second process on the same SQLite data directory is refused; a stale lock is taken over', { skip: Boolean(testDatabaseUrl) && 'SQLite only' }, async (ctx) => {
  const dir = tempDir(ctx, 'calbridge-start-');
  const first = await startServer({ DATA_DIR: dir, SYNC_ENGINE: 'off' });
  ctx.after(() => first.stop());
  const second = await runToExit({ DATA_DIR: dir, PORT: '0', SYNC_ENGINE: 'off' });
  assert.equal(second.code, 2, second.output);
  assert.match(oneLine(second.output)[0] ?? '', /another calbridge \(pid \d+\) already runs on/);
  const stat = fs.statSync(path.join(dir, 'calbridge.db'));
  assert.equal(stat.mode & 0o077, 0, 'the database file is readable by its owner only');
  assert.equal(await first.stop('SIGKILL'), null);
  const third = await startServer({ DATA_DIR: dir, SYNC_ENGINE: 'off' });
  assert.equal(await third.stop('SIGTERM'), 0, 'a lock left by a killed process is taken over');
});

test('an unreachable DATABASE_URL: one line, exit 2', async (ctx) => {
  const port = await freePort();
  const { code, output } = await runToExit({ DATA_DIR: tempDir(ctx, 'calbridge-start-'), PORT: '0', SYNC_ENGINE: 'off', DATABASE_URL: `postgres://nobody:secret@127.0.0.1:${port}/none` });
  assert.equal(code, 2, output);
  assert.match(oneLine(output)[0] ?? '', /cannot reach the PostgreSQL server of DATABASE_URL \(postgres:\/\/nobody:\*\*\*@/);
  assert.doesNotMatch(output, /secret/, 'the password is not printed');
});

test('SIGTERM to the PID of `npm start` stops the server cleanly (no orphan holding the port)', async (ctx) => {
  const { spawn } = await import('node:child_process');
  const dir = tempDir(ctx, 'calbridge-start-');
  const port = await freePort();
  const npm = spawn('npm', ['start'], { env: { ...process.env, DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1', SYNC_ENGINE: 'off', SCRYPT_COST: '1024', ...(testDatabaseUrl ? { DATABASE_URL: '' } : {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  npm.stdout!.on('data', (d) => (out += d));
  npm.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => npm.once('exit', (code) => r(code)));
  const up = async () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
  // npm start builds first (prestart): on a fresh clone that is a full tsc run.
  const deadline = Date.now() + 120_000;
  while (!(await up())) {
    assert.ok(Date.now() < deadline, `npm start did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  npm.kill('SIGTERM');
  await exited;
  const stopBy = Date.now() + 10_000;
  while (await up()) {
    assert.ok(Date.now() < stopBy, `the server outlived npm:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(out, /"msg":"stopped"/, 'it shut down gracefully');
});
