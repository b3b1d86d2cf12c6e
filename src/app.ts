/**
 * Builds the Fastify app from its parts; never listens (server.ts does, tests use inject()).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Ajv } from 'ajv';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Config } from './config.js';
import type { Container } from './container.js';
import { parseIsoDate } from './http/dates.js';
import { rewriteApiUrl } from './http/paths.js';
import { installBodyParsers } from './http/body.js';
import { installErrorHandler } from './http/error-handler.js';
import { registerEntityRoutes } from './http/entity-routes.js';
import { Authenticator } from './auth/authenticator.js';
import { WindowCounter } from './auth/throttle.js';
import { tokenRoutes } from './auth/token-route.js';
import { PasswordLogin } from './auth/password-login.js';
import type { AccessDeps } from './auth/access.js';
import type { JobQueue } from './jobs/job-queue.js';
import { operationsRoutes } from './http/operations-routes.js';
import { systemClock, type Clock } from './clock.js';
import { registerCalendarCommandRoutes } from './entities/coworker-ms-office-calendars/commands.js';
import { QueueCommandRunner } from './graph/command-runner.js';
import { webhookRoutes } from './graph/webhook-routes.js';
import { CoworkerMsOfficeCalendarSchema, CreateCoworkerMsOfficeCalendarBody, UpdateCoworkerMsOfficeCalendarBody, coworkerMsOfficeCalendarListSpec } from './entities/coworker-ms-office-calendars/schema.js';
import { CoworkerSchema, CreateCoworkerBody, UpdateCoworkerBody, coworkerListSpec } from './entities/coworkers/schema.js';
import { ResourceSchema, CreateResourceBody, UpdateResourceBody, resourceListSpec } from './entities/resources/schema.js';
import { UserSchema, CreateUserBody, UpdateUserBody, userListSpec } from './entities/users/schema.js';

export type AppConfig = Partial<Pick<Config, 'syncDelayMs'>> & Pick<Config, 'scryptCost' | 'logLevel' | 'accessTokenTtlSeconds' | 'refreshTokenTtlSeconds' | 'throttleLimit' | 'throttleWindowSeconds' | 'loginFailureLimit' | 'loginFailureWindowSeconds'> & {
  logRequests?: boolean;
};

export interface AppOptions {
  /** A pino logger shared with the rest of the process; default: Fastify makes one at config.logLevel. */
  logger?: FastifyBaseLogger;
  /** The process's job queue, for /readyz and /api/sys/jobs (null: none runs here). */
  queue?: JobQueue | null;
  clock?: Clock;
}

export async function buildApp(config: AppConfig, container: Container, options: AppOptions = {}): Promise<FastifyInstance> {
  const { logger, queue = null, clock = systemClock } = options;
  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: { level: config.logLevel } }),
    logController: new LogController({ disableRequestLogging: config.logRequests === false }),
    rewriteUrl: (req) => rewriteApiUrl(req.url ?? '/'),
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
  installErrorHandler(app);

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
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const login = new PasswordLogin(container.users, new WindowCounter(config.loginFailureLimit, config.loginFailureWindowSeconds * 1000), config.scryptCost);
  const access: AccessDeps = {
    authenticator: new Authenticator(container.tokens, container.users, login),
    throttle: config.throttleLimit > 0 ? new WindowCounter(config.throttleLimit, config.throttleWindowSeconds * 1000) : null,
  };

  await app.register(operationsRoutes, { storage: container.storage, jobs: container.jobs, queue, access });

  await app.register(tokenRoutes, {
    users: container.users,
    tokens: container.tokens,
    accessTtlSeconds: config.accessTokenTtlSeconds,
    refreshTtlSeconds: config.refreshTokenTtlSeconds,
    login,
  });

  registerEntityRoutes(app, access, {
    service: container.calendarService,
    paths: ['/api/spaces/coworkermsofficecalendars'],
    tag: 'CoworkerMsOfficeCalendars',
    record: CoworkerMsOfficeCalendarSchema,
    createBody: CreateCoworkerMsOfficeCalendarBody,
    updateBody: UpdateCoworkerMsOfficeCalendarBody,
    listSpec: coworkerMsOfficeCalendarListSpec,
    roles: true,
  });
  registerCalendarCommandRoutes(app, access, container.calendarService,
    new QueueCommandRunner(container.jobs, container.connections, clock, () => queue?.poke()));
  await app.register(webhookRoutes, {
    db: container.storage.db, dialect: container.storage.dialect, connections: container.connections, onQueued: () => queue?.poke(),
    clock, syncDelayMs: config.syncDelayMs ?? 1000,
  });

  registerEntityRoutes(app, access, {
    service: container.coworkerService,
    paths: ['/api/spaces/coworkers'],
    tag: 'Coworkers',
    record: CoworkerSchema,
    createBody: CreateCoworkerBody,
    updateBody: UpdateCoworkerBody,
    listSpec: coworkerListSpec,
    roles: true,
  });
  registerEntityRoutes(app, access, {
    service: container.resourceService,
    paths: ['/api/spaces/resources'],
    tag: 'Resources',
    record: ResourceSchema,
    createBody: CreateResourceBody,
    updateBody: UpdateResourceBody,
    listSpec: resourceListSpec,
    roles: true,
  });
  registerEntityRoutes(app, access, {
    service: container.userService,
    paths: ['/api/sys/users'],
    tag: 'Users',
    record: UserSchema,
    createBody: CreateUserBody,
    updateBody: UpdateUserBody,
    listSpec: userListSpec,
    roles: false,
  });

  return app;
}
