/**
 * A TLS-terminating front for a calbridge that listens on plain HTTP, as a reverse proxy stands before it in
 * production (PUBLIC_URL is https with Microsoft credentials). It serves the emulator's test certificate (localhost,
 * 127.0.0.1, ::1), which the emulator's webhook deliveries trust, and forwards every request as it came.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const TLS_DIR = fileURLToPath(new URL('../../emulator/tls/', import.meta.url));

export interface HttpsFront {
  /** https://{host}:{port} */
  url: string;
  close(): Promise<void>;
}

/**
 * Forwards https://{host}:{port} (127.0.0.1, a free port by default) to `target` (http://host:port), with
 * X-Forwarded-Proto/For. On another loopback address (127.0.0.2) the certificate does not name the host: a client
 * sees an untrusted certificate (ERR_TLS_CERT_ALTNAME_INVALID), as behind a misconfigured proxy.
 */
export async function startHttpsFront(target: string, port = 0, host = '127.0.0.1'): Promise<HttpsFront> {
  const to = new URL(target);
  const server = https.createServer({ key: fs.readFileSync(`${TLS_DIR}server-key.pem`), cert: fs.readFileSync(`${TLS_DIR}server.pem`) }, (req, res) => {
    const upstream = http.request({
      host: to.hostname, port: to.port, method: req.method, path: req.url,
      headers: { ...req.headers, 'x-forwarded-proto': 'https', 'x-forwarded-for': req.socket.remoteAddress ?? '' },
    }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    // The upstream is down (e.g. a test restarting it): 502, as a proxy answers.
    upstream.once('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    url: `https://${host}:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
