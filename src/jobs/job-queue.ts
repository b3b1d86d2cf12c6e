/**
 * The durable job queue: jobs survive restarts and crashes (they live in the database), run at a time, retry with
 * exponential back-off and go dead after N attempts, collapse per dedupe key, and are leased so a worker that dies
 * mid-job (even by SIGKILL) gives its job back when the lease runs out. Every process runs one of these workers.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { JobStore, Job, JobSpec } from './job-store.js';
import { afterCommit, type Executor } from '../storage/unit-of-work.js';

export type JobHandler = (job: Job) => Promise<void>;

export interface QueueOptions {
  /** The time source for due jobs and back-off (tests move it with the Graph emulator's clock). */
  clock?: { now(): number };
  concurrency?: number;
  pollMs?: number;
  leaseMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random = Math.random()): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (0.75 + random * 0.5)); // ±25 % jitter so retries don't march in step
}

export class JobQueue {
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly active = new Map<number, Promise<void>>();
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly opts: Required<Omit<QueueOptions, 'clock'>>;
  private readonly clock: { now(): number };

  constructor(
    readonly store: JobStore,
    private readonly log: Logger,
    options: QueueOptions = {},
  ) {
    const { clock, ...rest } = options;
    this.clock = clock ?? store.clock;
    this.opts = { concurrency: 4, pollMs: 250, leaseMs: 30_000, backoffBaseMs: 1000, backoffMaxMs: 3_600_000, ...rest };
  }

  register(type: string, handler: JobHandler): this {
    this.handlers.set(type, handler);
    return this;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Wakes the worker loop (e.g. after another component queued jobs directly in the store). */
  poke(): void {
    this.wake?.();
  }

  /** Adds a job (inside the caller's transaction when `db` is one) and wakes the worker once it is committed. */
  async enqueue(spec: JobSpec, db?: Executor) {
    const result = await this.store.enqueue(spec, db);
    await afterCommit(db ?? this.store.db, () => this.wake?.());
    return result;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.heartbeat = setInterval(() => void this.extendLeases(), Math.max(1000, this.opts.leaseMs / 3));
    this.heartbeat.unref();
    this.loop = this.run();
  }

  /** Stops claiming, waits for the jobs in hand to finish. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    await this.loop;
    await Promise.allSettled(this.active.values());
    clearInterval(this.heartbeat);
  }

  private async run(): Promise<void> {
    while (this.running) {
      const free = this.opts.concurrency - this.active.size;
      let claimed: Job[] = [];
      if (free > 0) {
        try {
          claimed = await this.store.claim(this.workerId, free, this.opts.leaseMs, this.clock.now(), [...this.handlers.keys()]);
        } catch (err) {
          this.log.error({ err }, 'job claim failed');
        }
      }
      for (const job of claimed) {
        const p = this.execute(job).finally(() => {
          this.active.delete(job.id);
          this.wake?.();
        });
        this.active.set(job.id, p);
      }
      if (!claimed.length || this.active.size >= this.opts.concurrency) await this.sleep(this.opts.pollMs);
    }
  }

  private async execute(job: Job): Promise<void> {
    const handler = this.handlers.get(job.type);
    try {
      if (job.attempts > job.maxAttempts) throw new Error('the worker running the last attempt was lost');
      if (!handler) throw new Error(`no handler for job type "${job.type}"`);
      await handler(job);
      if (!(await this.store.complete(job.id, this.workerId, this.clock.now()))) {
        this.log.warn({ jobId: job.id, type: job.type }, 'job finished after its lease was taken over');
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // An error that says no retry can help (e.g. Graph's "mailbox not found") ends the job at once.
      const last = job.attempts >= job.maxAttempts || (err as { permanent?: unknown } | null)?.permanent === true;
      // An error may say when to come back (Graph's Retry-After, too long to wait in-process): not earlier than that.
      const hinted = (err as { retryAfterMs?: unknown } | null)?.retryAfterMs;
      const notBefore = typeof hinted === 'number' && Number.isFinite(hinted) ? hinted : 0;
      const retryAt = last ? null : this.clock.now() + Math.max(notBefore, backoffDelay(job.attempts, this.opts.backoffBaseMs, this.opts.backoffMaxMs));
      (last ? this.log.error : this.log.warn).call(this.log, { jobId: job.id, type: job.type, attempt: job.attempts, err: message }, last ? 'job is dead' : 'job failed; will retry');
      try {
        await this.store.fail(job.id, this.workerId, message, retryAt, this.clock.now());
      } catch (storeErr) {
        this.log.error({ err: storeErr, jobId: job.id }, 'could not record job failure');
      }
    }
  }

  private async extendLeases(): Promise<void> {
    const until = this.clock.now() + this.opts.leaseMs;
    for (const id of this.active.keys()) {
      await this.store.extend(id, this.workerId, until).catch((err) => this.log.warn({ err, jobId: id }, 'lease extension failed'));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}
