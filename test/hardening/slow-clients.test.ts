/** Slow and greedy clients: a body trickled byte by byte is timed out; one address cannot hold every connection. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer } from '../e2e/server-process.js';
import { tempDir } from '../helpers/cleanup.js';

function openSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

function closed(socket: net.Socket): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => socket.once('close', () => resolve(Date.now() - started)));
}

test('a body sent one byte at a time is cut off after REQUEST_TIMEOUT_SECONDS; a header block too', async (ctx) => {
  const server = await startServer({ DATA_DIR: tempDir(ctx, 'calbridge-slow-'), SYNC_ENGINE: 'off', REQUEST_TIMEOUT_SECONDS: '2' });
  ctx.after(() => server.stop());
  const port = Number(new URL(server.url).port);
  const body = await openSocket(port);
  body.write('POST /api/spaces/coworkers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
  const trickle = setInterval(() => body.writable && body.write(' '), 500);
  const headers = await openSocket(port);
  headers.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  const headerTrickle = setInterval(() => headers.writable && headers.write('X-Slow: 1\r\n'), 500);
  ctx.after(() => {
    clearInterval(trickle);
    clearInterval(headerTrickle);
    body.destroy();
    headers.destroy();
  });
  const [bodyMs, headerMs] = await Promise.all([closed(body), closed(headers)]);
  assert.ok(bodyMs < 6000, `the trickled body held its connection ${bodyMs} ms`);
  assert.ok(headerMs < 6000, `the trickled headers held their connection ${headerMs} ms`);
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'the server still answers');
});

test('connections beyond MAX_CONNECTIONS_PER_IP from one address are closed at once', async (ctx) => {
  const server = await startServer({ DATA_DIR: tempDir(ctx, 'calbridge-slow-'), SYNC_ENGINE: 'off', MAX_CONNECTIONS_PER_IP: '5' });
  ctx.after(() => server.stop());
  const port = Number(new URL(server.url).port);
  const sockets = await Promise.all(Array.from({ length: 5 }, () => openSocket(port)));
  ctx.after(() => sockets.forEach((s) => s.destroy()));
  const extra = await openSocket(port);
  assert.ok((await closed(extra)) < 2000, 'the sixth connection is closed');
  sockets[0]!.destroy();
  // Once the server has seen that close, the slot is usable again (poll: the close travels asynchronously).
  let reply = '';
  for (let attempt = 0; attempt < 50 && !reply.startsWith('HTTP/1.1 200'); attempt++) {
    const again = await openSocket(port);
    again.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    reply = await new Promise<string>((resolve) => { let d = ''; again.on('data', (c) => (d += c)); again.once('close', () => resolve(d)); });
  }
  assert.match(reply, /^HTTP\/1.1 200/, 'a freed slot is usable');
});

test('a valid request followed by garbage on the same connection gets the answer to the request that ran (no phantom 400)', async (ctx) => {
  const server = await startServer({ DATA_DIR: tempDir(ctx, 'calbridge-slow-'), SYNC_ENGINE: 'off', ADMIN_PASSWORD: 'admin-password-1' });
  ctx.after(() => server.stop());
  const port = Number(new URL(server.url).port);
  const auth = `Basic ${Buffer.from('admin@calbridge.local:admin-password-1').toString('base64')}`;
  for (let i = 0; i < 5; i++) {
    const body = JSON.stringify({ FullName: `Piped ${i}`, Email: `piped${i}@mail.test` });
    const socket = await openSocket(port);
    socket.write(`POST /api/spaces/coworkers HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}\u0000\u0001garbage that is not HTTP\r\n\r\n`);
    const reply = await new Promise<string>((resolve) => { let d = ''; socket.on('data', (c) => (d += c)); socket.once('close', () => resolve(d)); });
    assert.match(reply, /^HTTP\/1.1 200 /, `the first answer is the create's: ${reply.slice(0, 200)}`);
    assert.match(reply, /"WasSuccessful":true/);
  }
  const list = await fetch(`${server.url}/api/spaces/coworkers?Coworker_FullName=Piped`, { headers: { authorization: auth } });
  assert.equal(((await list.json()) as { TotalItems: number }).TotalItems, 5, 'each ran once, and the client knows it');
});
