/**
 * The environment schema: every setting, its default, and start-up validation.
 * A bad value stops the process with one clear line per problem instead of failing later.
 */
import path from 'node:path';
import { windowsZone } from './core/time-zones.js';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** SQLite file path (derived from dataDir unless DATABASE_FILE is set). ':memory:' is allowed for tests. */
  databaseFile: string;
  /** postgres://... selects PostgreSQL; unset means the embedded SQLite file. */
  databaseUrl?: string;
  databasePoolSize: number;
  logLevel: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** Requests per client per window; 0 switches throttling off (benchmarks). */
  throttleLimit: number;
  throttleWindowSeconds: number;
  /** Failed password grants per username+IP per window before the token endpoint answers 409. */
  loginFailureLimit: number;
  loginFailureWindowSeconds: number;
  /** Failed password checks per client address (any usernames) per window: password spraying. */
  loginFailureLimitPerIp: number;
  /** Password checks (scrypt) running at once in one process. */
  maxConcurrentPasswordChecks: number;
  adminEmail?: string;
  adminPassword?: string;
  /** scrypt cost; lowered only by tests to keep them fast. */
  scryptCost: number;
  /** Where Graph sends webhooks: {publicUrl}/graph/notifications and /graph/lifecycle. */
  publicUrl: string;
  /** Real Microsoft app credentials; without them the Graph emulator runs in-process. */
  graph?: GraphAppConfig;
  /** 32-byte key (hex or base64) sealing member refresh tokens; generated under DATA_DIR in emulator mode. */
  tokenEncryptionKey?: string;
  graphEmulatorPort: number;
  /** false: no Graph sync engine in this process (API only; benchmarks of the REST API). */
  syncEngine: boolean;
  /** How long a notification-triggered sync waits so a burst of notifications becomes one delta round. */
  syncDelayMs: number;
  /** Seconds a client has to send a request's headers and body. */
  requestTimeoutSeconds: number;
  /** Open connections allowed per client address (0: no limit). */
  maxConnectionsPerIp: number;
  /** Dead jobs are forgotten after this many days. */
  deadJobRetentionDays: number;
  /** How often each subscription is checked at Graph and its calendar read whole. */
  reconcileIntervalMinutes: number;
  /** The booking horizon: events from this many days back to this many days ahead book. */
  bookingHorizonPastDays: number;
  bookingHorizonFutureDays: number;
  /** The zone events calbridge writes are in (IANA or Windows name; written with its Windows name). Default UTC. */
  spaceTimeZone: string;
}

export interface GraphAppConfig {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** https://login.microsoftonline.com unless overridden (e.g. a sovereign cloud). */
  authorityHost: string;
  /** https://graph.microsoft.com unless overridden. */
  graphBaseUrl: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return def;
    }
    return n;
  };
  const str = (name: string, def: string) => (env[name]?.trim() ? env[name]!.trim() : def);

  const logLevel = str('LOG_LEVEL', 'info');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "${logLevel}")`);
  }
  const dataDir = path.resolve(str('DATA_DIR', './data'));
  const adminEmail = env.ADMIN_EMAIL?.trim() || undefined;
  const adminPassword = env.ADMIN_PASSWORD || undefined;
  if (adminPassword !== undefined && adminPassword.length < 10) {
    problems.push('ADMIN_PASSWORD must be at least 10 characters');
  }
  if (adminEmail !== undefined && !/^[^\s@]+@[^\s@]+$/.test(adminEmail)) {
    problems.push(`ADMIN_EMAIL must be an e-mail address (got "${adminEmail}")`);
  }

  const config: Config = {
    port: int('PORT', 8080, 0, 65535),
    host: str('HOST', '0.0.0.0'),
    dataDir,
    databaseFile: env.DATABASE_FILE?.trim() || path.join(dataDir, 'calbridge.db'),
    databaseUrl: env.DATABASE_URL?.trim() || undefined,
    databasePoolSize: int('DATABASE_POOL_SIZE', 10, 1, 1000),
    logLevel,
    accessTokenTtlSeconds: int('ACCESS_TOKEN_TTL_SECONDS', 3600, 60, 31 * 86400),
    refreshTokenTtlSeconds: int('REFRESH_TOKEN_TTL_SECONDS', 15 * 86400, 60, 365 * 86400),
    throttleLimit: int('THROTTLE_LIMIT', 1000, 0, 10_000_000),
    throttleWindowSeconds: int('THROTTLE_WINDOW_SECONDS', 10, 1, 3600),
    loginFailureLimit: int('LOGIN_FAILURE_LIMIT', 10, 1, 1_000_000),
    loginFailureWindowSeconds: int('LOGIN_FAILURE_WINDOW_SECONDS', 300, 1, 86400),
    loginFailureLimitPerIp: int('LOGIN_FAILURE_LIMIT_PER_IP', 100, 1, 1_000_000),
    maxConcurrentPasswordChecks: int('MAX_CONCURRENT_PASSWORD_CHECKS', 4, 1, 1000),
    adminEmail,
    adminPassword,
    scryptCost: int('SCRYPT_COST', 16384, 2, 1 << 20),
    publicUrl: '',
    tokenEncryptionKey: env.TOKEN_ENCRYPTION_KEY?.trim() || undefined,
    graphEmulatorPort: int('GRAPH_EMULATOR_PORT', 0, 0, 65535),
    syncEngine: true,
    syncDelayMs: int('SYNC_DELAY_MS', 1000, 0, 600_000),
    requestTimeoutSeconds: int('REQUEST_TIMEOUT_SECONDS', 30, 1, 3600),
    maxConnectionsPerIp: int('MAX_CONNECTIONS_PER_IP', 256, 0, 1_000_000),
    deadJobRetentionDays: int('DEAD_JOB_RETENTION_DAYS', 7, 1, 3650),
    reconcileIntervalMinutes: int('RECONCILE_INTERVAL_MINUTES', 360, 5, 24 * 60),
    bookingHorizonPastDays: int('BOOKING_HORIZON_PAST_DAYS', 1, 0, 365),
    bookingHorizonFutureDays: int('BOOKING_HORIZON_FUTURE_DAYS', 180, 1, 730),
    spaceTimeZone: env.SPACE_TIME_ZONE?.trim() || 'UTC',
  };
  if (!windowsZone(config.spaceTimeZone)) {
    problems.push(`SPACE_TIME_ZONE must be a time zone with a Windows name, as an IANA name (Europe/Berlin) or a Windows one (W. Europe Standard Time) (got "${env.SPACE_TIME_ZONE}")`);
  }
  const engine = (env.SYNC_ENGINE ?? 'on').trim().toLowerCase();
  if (!['on', 'off', 'true', 'false'].includes(engine)) problems.push(`SYNC_ENGINE must be on or off (got "${env.SYNC_ENGINE}")`);
  config.syncEngine = engine === 'on' || engine === 'true';
  config.publicUrl = (env.PUBLIC_URL?.trim() || `http://127.0.0.1:${config.port}`).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(config.publicUrl)) problems.push(`PUBLIC_URL must be an http(s) URL (got "${env.PUBLIC_URL}")`);
  const graphVars = ['GRAPH_TENANT_ID', 'GRAPH_CLIENT_ID', 'GRAPH_CLIENT_SECRET'] as const;
  const given = graphVars.filter((v) => env[v]?.trim());
  if (given.length === graphVars.length) {
    config.graph = {
      tenantId: env.GRAPH_TENANT_ID!.trim(),
      clientId: env.GRAPH_CLIENT_ID!.trim(),
      clientSecret: env.GRAPH_CLIENT_SECRET!.trim(),
      authorityHost: (env.GRAPH_AUTHORITY_HOST?.trim() || 'https://login.microsoftonline.com').replace(/\/+$/, ''),
      graphBaseUrl: (env.GRAPH_BASE_URL?.trim() || 'https://graph.microsoft.com').replace(/\/+$/, ''),
    };
    if (!config.tokenEncryptionKey) problems.push('TOKEN_ENCRYPTION_KEY is required with Microsoft credentials (32 bytes: `openssl rand -base64 32`)');
    // Microsoft delivers change notifications only to HTTPS URLs, and Entra accepts http redirect URIs only for
    // localhost: with credentials, the service's public address must be https (a TLS proxy in front of it).
    if (/^http:\/\//i.test(config.publicUrl)) {
      problems.push(`PUBLIC_URL must be the service's public https:// address with Microsoft credentials (got "${env.PUBLIC_URL?.trim() ? config.publicUrl : `unset, so ${config.publicUrl}`}"): Microsoft Graph delivers webhooks only to HTTPS URLs, and Entra ID accepts a redirect URI ({PUBLIC_URL}/connect/callback) over http only for localhost; put a TLS proxy in front of calbridge (README: "Connecting a real Microsoft 365 tenant")`);
    }
  } else if (given.length) {
    problems.push(`Microsoft credentials are incomplete: set all of ${graphVars.join(', ')} (missing ${graphVars.filter((v) => !given.includes(v)).join(', ')})`);
  }
  // The server deployment: every process that runs the engine must share what the others use. An embedded emulator
  // and a generated key are per process, so with DATABASE_URL they need an explicit, one-process opt-in.
  const embedded = (env.GRAPH_EMULATOR ?? '').trim().toLowerCase() === 'embedded';
  if (config.databaseUrl && config.syncEngine && !config.graph && !embedded) {
    problems.push('with DATABASE_URL every process must use the same Graph: set GRAPH_TENANT_ID, GRAPH_CLIENT_ID, GRAPH_CLIENT_SECRET (Microsoft, or a shared emulator from `npm run graph-emulator` with GRAPH_AUTHORITY_HOST and GRAPH_BASE_URL), or SYNC_ENGINE=off for API-only processes (GRAPH_EMULATOR=embedded runs one process with its own emulator)');
  }
  if (config.databaseUrl && config.syncEngine && !config.tokenEncryptionKey && !embedded) {
    problems.push('with DATABASE_URL every process must share TOKEN_ENCRYPTION_KEY (32 bytes: `openssl rand -base64 32`)');
  }
  if (config.databaseUrl && !/^postgres(ql)?:\/\//.test(config.databaseUrl)) {
    problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  if ((config.scryptCost & (config.scryptCost - 1)) !== 0) problems.push('SCRYPT_COST must be a power of two');
  if (problems.length) throw new ConfigError(problems);
  return config;
}
