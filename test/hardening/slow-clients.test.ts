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
