import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runToExit, startServer } from './server-process.js';
import { tempDir, type Scope } from '../helpers/cleanup.js';

const tmp = (ctx: Scope) => tempDir(ctx, 'calbridge-e2e-');

test('bad configuration stops the start with one clear line per problem', async (ctx) => {
  const { code, output } = await runToExit({ PORT: 'eighty', LOG_LEVEL: 'loud', ADMIN_PASSWORD: 'short', SPACE_TIME_ZONE: 'Mars/Olympus_Mons', DATA_DIR: tmp(ctx) });
  assert.equal(code, 2);
  assert.match(output, /SPACE_TIME_ZONE must be a time zone with a Windows name, as an IANA name \(Europe\/Berlin\) or a Windows one \(W\. Europe Standard Time\) \(got "Mars\/Olympus_Mons"\)/);
  assert.match(output, /PORT must be a whole number from 0 to 65535 \(got "eighty"\)/);
  assert.match(output, /LOG_LEVEL must be one of/);
  assert.match(output, /ADMIN_PASSWORD must be at least 10 characters/);
});

test('first start creates an administrator once; data and tokens survive a restart; SIGTERM stops cleanly; no secret is logged', async (ctx) => {
  const dir = tmp(ctx);
  const first = await startServer({ DATA_DIR: dir });
  const password = /password: (\S+)/.exec(first.output())?.[1];
  assert.ok(password, `the generated password is printed:\n${first.output()}`);

  const tokenRes = await fetch(`${first.url}/api/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', username: 'admin@calbridge.local', password: password! }),
  });
  assert.equal(tokenRes.status, 200);
  const token = (await tokenRes.json()) as { access_token: string; refresh_token: string };
  const auth = { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' };
  const resource = await (await fetch(`${first.url}/api/spaces/resources`, { method: 'POST', headers: auth, body: JSON.stringify({ Name: 'Loft' }) })).json() as any;
  const created = await fetch(`${first.url}/api/spaces/coworkermsofficecalendars`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ ResourceId: resource.Value.Id, Name: 'Kept', SubscriptionId: 's', CalendarId: 'c', SubscriptionExpireDate: '2031-05-01' }),
  });
  assert.equal(created.status, 200);
  const id = ((await created.json()) as any).Value.Id;

  assert.equal(await first.stop('SIGTERM'), 0, 'SIGTERM exits with 0');
  assert.match(first.output(), /shutting down/);

  const second = await startServer({ DATA_DIR: dir });
  try {
    assert.doesNotMatch(second.output(), /password:/, 'the password is printed on the first start only');
    const res = await fetch(`${second.url}/api/spaces/coworkermsofficecalendars/${id}`, { headers: auth });
    assert.equal(res.status, 200, 'the access token issued before the restart still works');
    assert.equal(((await res.json()) as any).Name, 'Kept');
  } finally {
    await second.stop();
  }
  const logs = second.output();
  for (const secret of [password!, token.access_token, token.refresh_token]) assert.ok(!logs.includes(secret), 'no secret in the log');
  assert.ok(!first.output().split('password:')[1]!.includes(token.access_token));
});

test('ADMIN_EMAIL and ADMIN_PASSWORD set the first administrator', async (ctx) => {
  const server = await startServer({ DATA_DIR: tmp(ctx), ADMIN_EMAIL: 'owner@space.test', ADMIN_PASSWORD: 'owner-password-1' });
  try {
    assert.doesNotMatch(server.output(), /owner-password-1/);
    const res = await fetch(`${server.url}/api/spaces/coworkermsofficecalendars`, {
      headers: { authorization: `Basic ${Buffer.from('owner@space.test:owner-password-1').toString('base64')}` },
    });
    assert.equal(res.status, 200);
  } finally {
    await server.stop();
  }
});

test('a token-encryption key that cannot open what the database sealed stops the start with a clear message', async (ctx) => {
  const dir = tmp(ctx);
  const keyA = Buffer.alloc(32, 1).toString('base64');
  const keyB = Buffer.alloc(32, 2).toString('base64');
  const first = await startServer({ DATA_DIR: dir, TOKEN_ENCRYPTION_KEY: keyA });
  assert.equal(await first.stop(), 0);
  const { processDatabaseEnv } = await import('../helpers/database.js');
  const wrong = await runToExit(await processDatabaseEnv({ DATA_DIR: dir, TOKEN_ENCRYPTION_KEY: keyB, PORT: '0', SCRYPT_COST: '1024' }));
  assert.equal(wrong.code, 2);
  assert.match(wrong.output, /TOKEN_ENCRYPTION_KEY is not the key this database was set up with/);
  const malformed = await runToExit({ DATA_DIR: dir, TOKEN_ENCRYPTION_KEY: 'too-short', PORT: '0' });
  assert.notEqual(malformed.code, 0);
  assert.match(malformed.output, /TOKEN_ENCRYPTION_KEY must be 32 bytes/);
  const incomplete = await runToExit({ DATA_DIR: dir, GRAPH_TENANT_ID: 't', PORT: '0' });
  assert.equal(incomplete.code, 2);
  assert.match(incomplete.output, /Microsoft credentials are incomplete/);
});

test('with Microsoft credentials PUBLIC_URL must be https (webhooks, redirect URIs); without them http stays allowed', async (ctx) => {
  const credentials = { GRAPH_TENANT_ID: 't', GRAPH_CLIENT_ID: 'c', GRAPH_CLIENT_SECRET: 's', TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64') };
  for (const PUBLIC_URL of ['http://calbridge.example.com', '']) {
    const { code, output } = await runToExit({ DATA_DIR: tmp(ctx), PORT: '0', PUBLIC_URL, ...credentials });
    assert.equal(code, 2, output);
    const lines = output.trim().split('\n').filter((l) => /PUBLIC_URL/.test(l));
    assert.equal(lines.length, 1, output);
    assert.match(lines[0]!, /PUBLIC_URL must be the service's public https:\/\/ address with Microsoft credentials/);
    assert.match(lines[0]!, PUBLIC_URL ? /got "http:\/\/calbridge\.example\.com"/ : /got "unset, so http:\/\/127\.0\.0\.1:0"/);
    assert.match(lines[0]!, /delivers webhooks only to HTTPS URLs/);
    assert.doesNotMatch(output, /\bs\b.*GRAPH_CLIENT_SECRET|"s"/, 'the secret is not echoed');
  }
  // https passes the check (and the start goes on: here it stops later, at the database check of PostgreSQL's URL).
  const https = await runToExit({ DATA_DIR: tmp(ctx), PORT: '0', PUBLIC_URL: 'https://calbridge.example.com', DATABASE_URL: 'mysql://x', ...credentials });
  assert.equal(https.code, 2);
  assert.doesNotMatch(https.output, /PUBLIC_URL/);
  assert.match(https.output, /DATABASE_URL must be a postgres/);
  // The embedded emulator (no credentials): plain http is fine.
  const server = await startServer({ DATA_DIR: tmp(ctx), PUBLIC_URL: 'http://127.0.0.1:9', GRAPH_EMULATOR_PORT: '0' });
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  assert.equal(await server.stop(), 0);
});
