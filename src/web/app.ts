/**
 * Builds the Fastify app from its parts; never listens (server.ts does, tests use inject()).
 */
import http from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Ajv } from 'ajv';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import helmet, { type HelmetOptions } from 'helmet';
import { parseIsoDate } from '../core/dates.js';
import { isApiUrl, rewriteApiUrl } from './nexudus/paths.js';
import { installBodyParsers } from './nexudus/body.js';
import { installErrorHandler } from './nexudus/error-handler.js';
import { errorEnvelope } from './nexudus/envelope.js';
import { refuseCrossSiteWrites } from './nexudus/cross-site.js';
import { registerEntityRoutes } from './nexudus/entity-routes.js';
import { tokenRoutes } from './nexudus/token-route.js';
import type { AccessDeps } from './nexudus/access.js';
import { operationsRoutes } from './operations/routes.js';
import { registerCalendarCommandRoutes } from './nexudus/calendar-commands.js';
import { webhookRoutes } from './graph-webhooks/routes.js';
import type { WindowCounter } from '../modules/users/throttle.js';
import type { UserService } from '../modules/users/service.js';
import type { CoworkerService } from '../modules/directory/coworker-service.js';
import type { NotificationIntake } from '../modules/graph/notification-intake.js';
import type { OperationsService } from '../modules/operations/service.js';
import type { EntityReader } from '../modules/records/record-service.js';
import { bookingEntity, cancelledBookingEntity } from '../modules/bookings/schema.js';
import { notFoundPage } from './pages/html.js';
import { pageRoutes, type PageServices } from './pages/routes.js';
import { registerBookingConflictRoutes } from './nexudus/booking-conflicts.js';
import { calendarEntity } from '../modules/calendars/schema.js';
import { coworkerEntity } from '../modules/directory/coworker-schema.js';
import { resourceEntity } from '../modules/directory/resource-schema.js';
import { userEntity } from '../modules/users/schema.js';

export interface AppConfig {
  logLevel: string;
  /** Seconds a client has to send a request's headers and body (default 30). */
  requestTimeoutSeconds?: number;
  /** Open connections allowed per client address (default 256; 0: no limit). */
  maxConnectionsPerIp?: number;
  logRequests?: boolean;
  /** The service's public origin (PUBLIC_URL): requests from it may change things, other sites' may not. */
  publicUrl?: string;
}

/** What the web layer needs from the domain; the composition root's services satisfy it. */
export interface WebServices extends PageServices {
  /** null when throttling is off. */
  apiThrottle: WindowCounter | null;
  userService: UserService;
  coworkerService: CoworkerService;
  cancelledBookings: EntityReader;
  intake: NotificationIntake;
  operations: OperationsService;
}

export interface AppOptions {
  /** A pino logger shared with the rest of the process; default: Fastify makes one at config.logLevel. */
  logger?: FastifyBaseLogger;
}

export async function buildApp(config: AppConfig, services: WebServices, options: AppOptions = {}): Promise<FastifyInstance> {
  const { logger } = options;
  const requestTimeout = (config.requestTimeoutSeconds ?? 30) * 1000;
  const app = Fastify({
    // A slow client gets `requestTimeout` to send its headers and body (checked every second), then the connection
    // closes: 50 connections trickling a byte every few seconds can't hold the server.
    requestTimeout,
    serverFactory: (handler) => {
      const server = http.createServer({ connectionsCheckingInterval: 1000, headersTimeout: Math.min(requestTimeout, 30_000), requestTimeout }, handler);
      limitConnectionsPerAddress(server, config.maxConnectionsPerIp ?? 256);
      return server;
    },
    ...(logger ? { loggerInstance: logger } : { logger: { level: config.logLevel } }),
    logController: new LogController({ disableRequestLogging: config.logRequests === false }),
    rewriteUrl: (req) => rewriteApiUrl(req.url ?? '/'),
    clientErrorHandler: answerExecutedRequestFirst,
    // Errors Fastify raises before routing (a malformed URL, a path segment too long) leave in the envelope too.
    frameworkErrors: (err, _request, reply) => {
      const status = err.statusCode === 414 ? 414 : 400;
      const message = err.code === 'FST_ERR_BAD_URL' ? 'The URL is not valid (a malformed %-escape?).' : err.message;
      (reply as FastifyReply).code(status).send(errorEnvelope(status, message, status === 400 ? [{ AttemptedValue: null, Message: message, PropertyName: null }] : null));
    },
    bodyLimit: 1024 * 1024,
    ajv: {
      customOptions: {
        coerceTypes: false,
        allErrors: true,
        removeAdditional: false,
      },
      // Named apart from ajv-formats' own "iso-date-time", which is added after plugins and would win.
      plugins: [(ajv: Ajv) => ajv.addFormat('nexudus-date', { type: 'string', validate: (value: string) => parseIsoDate(value) !== null })],
    },
  });

  installBodyParsers(app);
  installErrorHandler(app, (_request, reply) => void reply.code(404).type('text/html; charset=utf-8').send(notFoundPage()));
  refuseCrossSiteWrites(app, config.publicUrl ? new URL(config.publicUrl).origin : undefined);
  // Declared up front, so every request object keeps one shape (set by the access check on API routes).
  app.decorateRequest('principal', null as never);
  // Security headers on every answer, decided once at start-up (helmet works them out; each answer gets one set,
  // without running helmet's middleware chain per request). Pages and the docs get helmet's whole set (their CSP is
  // set per page; the docs get swagger-ui's static CSP below). The API's JSON answers get the ones that act on an
  // answer no browser renders as a document (OWASP's REST Security Cheat Sheet): nosniff, frame protection,
  // Cross-Origin-Resource-Policy, HSTS, and Cache-Control: no-store. The other seven act only on documents (COOP,
  // Origin-Agent-Cluster, Referrer-Policy, DNS prefetch, IE8 downloads, Flash policies, the XSS auditor), and each
  // header costs Node's validation on every answer: 11 headers took ~4 µs a request (/healthz: 31.4k against 36k
  // requests a second without them).
  const pageHeaders = helmetHeaders({ contentSecurityPolicy: false, referrerPolicy: { policy: 'no-referrer' } });
  const apiHeaders: Record<string, string> = {
    ...pick(pageHeaders, ['x-content-type-options', 'x-frame-options', 'cross-origin-resource-policy', 'strict-transport-security']),
    'cache-control': 'no-store',
  };
  app.addHook('onRequest', (request, reply, done) => {
    // rewriteUrl ran before routing: API paths are lower case here, unless %-escaped (isApiUrl decodes those).
    reply.headers(isApiUrl(request.url) ? apiHeaders : pageHeaders);
    done();
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'calbridge',
        version: '0.1.0',
        description: 'Nexudus-compatible CoworkerMsOfficeCalendars API. Authenticate with a bearer token from POST /api/token, or HTTP Basic.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          basic: { type: 'http', scheme: 'basic' },
        },
      },
      security: [{ bearer: [] }, { basic: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const access: AccessDeps = { authenticator: services.authenticator, throttle: services.apiThrottle };
  await app.register(operationsRoutes, { operations: services.operations, access });
  await app.register(tokenRoutes, { tokens: services.tokenService });

  const entities = [
    { service: services.calendarService, paths: ['/api/spaces/coworkermsofficecalendars'], tag: 'CoworkerMsOfficeCalendars', schemas: calendarEntity, roles: true, owner: 'CoworkerId' },
    { service: services.coworkerService, paths: ['/api/spaces/coworkers'], tag: 'Coworkers', schemas: coworkerEntity, roles: true, owner: 'Id' },
    { service: services.resourceService, paths: ['/api/spaces/resources'], tag: 'Resources', schemas: resourceEntity, roles: true },
    { service: services.bookingService, paths: ['/api/spaces/bookings'], tag: 'Bookings', schemas: bookingEntity, roles: true, owner: 'CoworkerId' },
    {
      service: services.cancelledBookings, paths: ['/api/spaces/cancelledbookings'], tag: 'Bookings', schemas: cancelledBookingEntity, roles: true,
      roleEntity: 'Booking', readOnly: true, owner: 'CoworkerId',
    },
    // Users: full administrators only (no roles).
    { service: services.userService, paths: ['/api/sys/users'], tag: 'Users', schemas: userEntity, roles: false },
  ];
  for (const def of entities) registerEntityRoutes(app, access, def);
  registerBookingConflictRoutes(app, access, services.bookings);
  registerCalendarCommandRoutes(app, access, services.calendarService, services.commandRunner, services.bookings);
  await app.register(webhookRoutes, { intake: services.intake });
  await app.register(pageRoutes, { services, publicUrl: config.publicUrl ?? '' });

  return app;
}

/** Closes connections beyond `max` from one address at once (a single client cannot take every socket). */
function limitConnectionsPerAddress(server: http.Server, max: number): void {
  if (max <= 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = socket.remoteAddress ?? '';
    const n = (open.get(address) ?? 0) + 1;
    if (n > max) {
      socket.destroy();
      return;
    }
    open.set(address, n);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}

/**
 * A client that sends a valid request followed by garbage on the same connection must get the answer to the request
 * that was executed, not a 400 that makes it believe nothing happened (and retry into a duplicate). So when the garbage
 * is found while a response is still owed, that response goes out first and the connection closes after it; otherwise
 * the usual 400 (408 for a timeout, 431 for oversized headers), as Node and Fastify answer.
 */
function answerExecutedRequestFirst(err: NodeJS.ErrnoException, socket: import('node:stream').Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const owed = (socket as unknown as { _httpMessage?: http.ServerResponse | null })._httpMessage;
  if (owed && !owed.writableFinished) {
    owed.shouldKeepAlive = false;
    owed.once('finish', () => socket.destroy());
    owed.once('close', () => socket.destroy());
    return;
  }
  const [code, text] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout'] : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : [400, 'Bad Request'];
  const body = JSON.stringify(errorEnvelope(code, code === 400 ? 'The request is not valid HTTP.' : text, null));
  if (socket.writable) socket.write(`HTTP/1.1 ${code} ${text}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`);
  socket.destroy();
}

/** These headers of a set; each must be there (a helmet upgrade that renamed one fails at start-up). */
function pick(headers: Record<string, string>, names: string[]): Record<string, string> {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return Object.fromEntries(names.map((name) => {
    if (lower[name] === undefined) throw new Error(`helmet no longer sets ${name}`);
    return [name, lower[name]];
  }));
}

/** The headers helmet sets for these options, worked out once. */
function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = { setHeader: (name: string, value: string) => void (headers[name] = String(value)), removeHeader: () => {} };
  helmet(options)({} as never, res as never, () => {});
  return headers;
}
