/** The HTTP(S) server: one port that speaks both plain HTTP and TLS (sniffed per connection), Fastify on top. */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import type { EmulatorContext } from './context.js';
import type { EmulatorControl } from './control.js';
import { registerControlRoutes } from './control-routes.js';
import { GraphError, OAuthError } from './errors.js';
import { defaultFaultError } from './faults.js';
import { registerGraphRoutes } from './graph-routes.js';
import { guid } from './ids.js';
import { registerIdentityRoutes } from './identity.js';
import { chargedTo } from './throttling.js';

export interface TlsMaterial {
  key: string | Buffer;
  cert: string | Buffer;
}

const TLS_DIR = new URL('../tls/', import.meta.url);
export const BUNDLED_CA_PATH = new URL('ca.pem', TLS_DIR).pathname;

export function bundledTls(): TlsMaterial & { ca: string } {
  return {
    key: readFileSync(new URL('server-key.pem', TLS_DIR)),
    cert: readFileSync(new URL('server.pem', TLS_DIR)),
    ca: readFileSync(new URL('ca.pem', TLS_DIR), 'utf8'),
  };
}

/** An http.Server whose connections are handed to TLS when the first byte is a TLS handshake (0x16). */
function polyglotServerFactory(tls: TlsMaterial, sockets: Set<Socket>) {
  return (handler: http.RequestListener): http.Server => {
    const server = http.createServer(handler);
    const tlsServer = https.createServer({ key: tls.key, cert: tls.cert }, handler);
    const plainListeners = server.listeners('connection') as ((s: Socket) => void)[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      const route = (): void => {
        const first = socket.read(1) as Buffer | null;
        if (first === null) {
          socket.once('readable', route);
          return;
        }
        socket.unshift(first);
        if (first[0] === 0x16) tlsServer.emit('connection', socket);
        else for (const l of plainListeners) l.call(server, socket);
      };
      socket.on('error', () => socket.destroy());
      route();
    });
    return server;
  };
}

const REDACT = (v: string): string => (v.length > 20 ? `${v.slice(0, 12)}…${v.slice(-6)}` : v);

export function buildServer(ctx: EmulatorContext, control: EmulatorControl, tls: TlsMaterial, opts: { logger?: boolean } = {}): { app: FastifyInstance; sockets: Set<Socket> } {
  const sockets = new Set<Socket>();
  const app = Fastify({
    logger: opts.logger ?? false,
    serverFactory: polyglotServerFactory(tls, sockets),
    bodyLimit: 4 * 1024 * 1024,
    // Graph ids are long (event ids ~150 characters, occurrence ids longer); Fastify's default of 100 answers 414.
    routerOptions: { maxParamLength: 1000 },
    return503OnClosing: false,
  }) as unknown as FastifyInstance;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'text/json'], { parseAs: 'string' }, (_req, text, done) => {
    const s = String(text);
    if (!s.trim()) return done(null, undefined);
    try {
      done(null, JSON.parse(s));
    } catch {
      done(new GraphError(400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.'), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, text, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(text))));
  });
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, text, done) => done(null, String(text)));

  const started = new WeakMap<object, number>();
  /** Releases the Outlook concurrency slot of a request; called once its answer is on its way (or it was aborted). */
  const releases = new WeakMap<object, () => void>();
  const release = (req: object): void => {
    releases.get(req)?.();
    releases.delete(req);
  };

  app.addHook('onRequest', async (req, reply) => {
    started.set(req, Date.now());
    const requestId = guid();
    const clientRequestId = (req.headers['client-request-id'] as string | undefined) ?? requestId;
    reply.header('request-id', requestId).header('client-request-id', clientRequestId);
    if (req.url.startsWith('/v1.0')) reply.header('odata-version', '4.0');
  });

  // Faults run after body parsing so the request log still shows the body of a faulted request.
  app.addHook('preHandler', async (req, reply) => {
    const requestId = String(reply.getHeader('request-id'));
    const clientRequestId = String(reply.getHeader('client-request-id'));
    if (req.url.startsWith('/_control')) return;
    // Outlook's limits come first, so a request slowed by a fault below holds its concurrency slot meanwhile.
    const charge = chargedTo(ctx, req.url, req.headers.authorization);
    if (charge) releases.set(req, ctx.throttle.admit(charge.appId, charge.user.id, charge.user.userPrincipalName));
    const path = req.url.split('?')[0]!;
    const fault = ctx.faults.take(req.method, path);
    if (!fault) return;
    (req as unknown as { faultId?: number }).faultId = fault.id;
    if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault.status) {
      const [code, message] = defaultFaultError(fault.status);
      if (fault.retryAfter !== undefined) reply.header('retry-after', String(fault.retryAfter));
      const innerError = { date: new Date().toISOString().replace(/\.\d+Z$/, ''), 'request-id': requestId, 'client-request-id': clientRequestId };
      return reply.code(fault.status).send({ error: { code: fault.code ?? code, message: fault.message ?? message, innerError } });
    }
  });

  // The slot is freed before the answer is written: a client that sends its next request as soon as it has an
  // answer never finds its previous request still counted.
  app.addHook('onSend', async (req) => release(req));
  app.addHook('onRequestAbort', async (req) => release(req));

  app.addHook('onResponse', async (req, reply) => {
    release(req);
    if (req.url.startsWith('/_control')) return;
    const h = req.headers;
    const headers: Record<string, string> = {};
    for (const k of ['authorization', 'prefer', 'content-type', 'client-request-id', 'user-agent', 'sdkversion']) {
      const v = h[k];
      if (typeof v === 'string') headers[k] = k === 'authorization' ? v.replace(/^(Bearer\s+)(.+)$/i, (_m, b: string, t: string) => b + REDACT(t)) : v;
    }
    const isToken = req.url.includes('/oauth2/');
    ctx.requests.add({
      method: req.method,
      url: req.url,
      path: req.url.split('?')[0]!,
      status: reply.statusCode,
      at: ctx.clock.iso(),
      durationMs: Date.now() - (started.get(req) ?? Date.now()),
      headers,
      ...(req.body !== undefined && !isToken ? { body: req.body } : {}),
      ...((req as unknown as { faultId?: number }).faultId ? { faultId: (req as unknown as { faultId?: number }).faultId } : {}),
    });
  });

  app.setErrorHandler((err, req, reply) => {
    const requestId = String(reply.getHeader('request-id') ?? guid());
    const innerError = {
      date: new Date().toISOString().replace(/\.\d+Z$/, ''),
      'request-id': requestId,
      'client-request-id': String(reply.getHeader('client-request-id') ?? requestId),
    };
    if (err instanceof GraphError) {
      for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
      if (err.status === 401) {
        reply.header('www-authenticate', `Bearer realm="", authorization_uri="${req.protocol}://${req.host}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`);
      }
      return reply.code(err.status).send({ error: { code: err.code, message: err.message, innerError } });
    }
    if (err instanceof OAuthError) {
      return reply.code(err.status).send({ error: err.error, error_description: err.message, error_codes: [err.aadsts] });
    }
    const e = err as { statusCode?: number; message?: string };
    const status = e.statusCode && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
    return reply.code(status).send({ error: { code: status === 500 ? 'InternalServerError' : 'BadRequest', message: e.message ?? 'Error', innerError } });
  });

  app.setNotFoundHandler((req, reply) => {
    if (req.url.startsWith('/v1.0') || req.url.startsWith('/beta')) {
      const seg = req.url.split('?')[0]!.split('/')[1] ?? '';
      return reply.code(400).send({ error: { code: 'BadRequest', message: `Resource not found for the segment '${seg}'.` } });
    }
    return reply.code(404).send({ error: { code: 'NotFound', message: `No route ${req.method} ${req.url.split('?')[0]} in the Graph emulator.` } });
  });

  app.get('/', async (req) => ({
    name: 'Microsoft Graph emulator (calbridge)',
    graph: `${req.protocol}://${req.host}/v1.0`,
    authority: `${req.protocol}://${req.host}/{tenant}`,
    control: `${req.protocol}://${req.host}/_control`,
    docs: 'emulator/README.md',
  }));

  registerIdentityRoutes(app, ctx);
  registerGraphRoutes(app, ctx);
  registerControlRoutes(app, control);
  return { app, sockets };
}
