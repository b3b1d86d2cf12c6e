/**
 * config → database → migrations → app → listen; graceful shutdown on SIGTERM/SIGINT
 * (stop accepting, finish in-flight requests, close the database).
 */
import { loadConfig, ConfigError, type Config } from './config.js';
import { openStorage, migrate } from './storage/database.js';
import { composeServices, startSyncEngine } from './composition-root.js';
import { buildApp } from './web/app.js';
import { ensureAdministrator } from './modules/users/first-administrator.js';
import { JobQueue } from './jobs/job-queue.js';
import { systemClock } from './core/clock.js';
import path from 'node:path';
import { checkCanListen, checkDataDir, describeStartupFailure, lockDataDir } from './startup.js';
import pino from 'pino';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // Data files (the database, its WAL, the key file) are the owner's alone: password hashes and sealed tokens live there.
  process.umask(0o077);
  let unlock = () => {};
  if (!config.databaseUrl && config.databaseFile !== ':memory:') {
    checkDataDir(path.dirname(config.databaseFile));
    unlock = lockDataDir(path.dirname(config.databaseFile));
    process.on('exit', () => unlock());
  }
  const storage = openStorage(config);
  await migrate(storage);
  const clock = systemClock;
  const services = composeServices(storage, config, clock);

  const logger = pino({ level: config.logLevel });
  const queue = new JobQueue(services.jobs, logger.child({ component: 'jobs' }), { clock });
  services.attachQueue(queue);
  const engine = config.syncEngine
    ? await startSyncEngine({
        config, services, queue, log: logger.child({ component: 'graph' }),
        reconcileEveryMs: config.reconcileIntervalMinutes * 60_000,
        horizonPastDays: config.bookingHorizonPastDays,
        horizonFutureDays: config.bookingHorizonFutureDays,
      })
    : (logger.warn('SYNC_ENGINE=off: this process serves the API only; another process with the engine subscribes and renews'), undefined);
  const app = await buildApp({ logLevel: config.logLevel, logRequests: process.env.LOG_REQUESTS !== 'false', publicUrl: config.publicUrl,
    requestTimeoutSeconds: config.requestTimeoutSeconds, maxConnectionsPerIp: config.maxConnectionsPerIp }, services, { logger });
  // The address must be ours before anything is created that a failed start would waste (the first administrator's
  // password is shown once).
  await checkCanListen(config.port, config.host);
  await ensureAdministrator(config, services, (line) => process.stdout.write(`\n  ${line}\n\n`));
  const sweep = setInterval(() => {
    services.tokens.deleteExpired(clock.now()).catch((err: unknown) => app.log.warn({ err }, 'expired-token sweep failed'));
    services.jobs.purgeDone(clock.now() - 86_400_000).catch((err: unknown) => app.log.warn({ err }, 'finished-job purge failed'));
    services.jobs.purgeDead(clock.now() - config.deadJobRetentionDays * 86_400_000).catch((err: unknown) => app.log.warn({ err }, 'dead-job purge failed'));
  }, 10 * 60_000);
  sweep.unref();

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    clearInterval(sweep);
    const force = setTimeout(() => {
      app.log.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    try {
      await app.close();
      await queue.stop();
      await engine?.close();
      await storage.close();
      app.log.info('stopped');
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
  // Jobs start once the webhooks can answer: a subscription's validation handshake needs them.
  queue.start();
  app.log.info(`calbridge is listening: API at http://localhost:${config.port}/api, docs at http://localhost:${config.port}/docs (database: ${config.databaseUrl ? 'PostgreSQL' : config.databaseFile})`);
}

main().catch((err) => {
  // Problems an operator can fix get one line and exit code 2; anything else its stack.
  let ctx = { port: 0, host: '', databaseUrl: undefined as string | undefined };
  try {
    const c = loadConfig();
    ctx = { port: c.port, host: c.host, databaseUrl: c.databaseUrl };
  } catch {
    /* the config was valid to get here */
  }
  const { line, code } = describeStartupFailure(err, ctx);
  process.stderr.write(`calbridge failed to start: ${line}\n`);
  process.exit(code);
});
