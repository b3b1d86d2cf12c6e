/**
 * config → database → migrations → app → listen; graceful shutdown on SIGTERM/SIGINT
 * (stop accepting, finish in-flight requests, close the database).
 */
import { loadConfig, ConfigError, type Config } from './config.js';
import { openStorage, migrate } from './storage/database.js';
import { createContainer } from './container.js';
import { buildApp } from './app.js';
import { ensureAdministrator } from './bootstrap.js';
import { JobQueue } from './jobs/job-queue.js';
import { startGraphEngine } from './graph/engine.js';
import { systemClock } from './clock.js';
import { SecretBoxError } from './graph/secret-box.js';
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
  const storage = openStorage(config);
  await migrate(storage);
  const container = createContainer(storage, config);
  await ensureAdministrator(config, container, (line) => process.stdout.write(`\n  ${line}\n\n`));

  const logger = pino({ level: config.logLevel });
  const clock = systemClock;
  const queue = new JobQueue(container.jobs, logger.child({ component: 'jobs' }), { clock });
  const engine = config.syncEngine
    ? await startGraphEngine({ config, container, queue, clock, log: logger.child({ component: 'graph' }) })
    : (logger.warn('SYNC_ENGINE=off: no Graph subscriptions are created or renewed by this process'), undefined);
  const app = await buildApp({ ...config, logRequests: process.env.LOG_REQUESTS !== 'false' }, container, { logger, queue, clock });
  const sweep = setInterval(() => {
    container.tokens.deleteExpired(Date.now()).catch((err) => app.log.warn({ err }, 'expired-token sweep failed'));
    container.jobs.purgeDone(Date.now() - 86_400_000).catch((err) => app.log.warn({ err }, 'finished-job purge failed'));
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
  // Known start-up problems get their message; anything else its stack.
  const known = err instanceof SecretBoxError;
  process.stderr.write(`calbridge failed to start: ${known ? err.message : err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
