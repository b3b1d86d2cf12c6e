/** At most N requests in flight per mailbox (Outlook allows 4 concurrent requests per app and mailbox). */
export class MailboxLimiter {
  private readonly inFlight = new Map<string, number>();
  private readonly waiting = new Map<string, Array<() => void>>();

  constructor(readonly perMailbox = 4) {}

  async run<T>(mailbox: string, fn: () => Promise<T>): Promise<T> {
    await this.acquire(mailbox);
    try {
      return await fn();
    } finally {
      this.release(mailbox);
    }
  }

  /** For tests and status: requests now in flight for a mailbox. */
  active(mailbox: string): number {
    return this.inFlight.get(mailbox) ?? 0;
  }

  private acquire(mailbox: string): Promise<void> {
    const n = this.inFlight.get(mailbox) ?? 0;
    if (n < this.perMailbox) {
      this.inFlight.set(mailbox, n + 1);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const queue = this.waiting.get(mailbox) ?? [];
      queue.push(() => {
        this.inFlight.set(mailbox, (this.inFlight.get(mailbox) ?? 0) + 1);
        resolve();
      });
      this.waiting.set(mailbox, queue);
    });
  }

  private release(mailbox: string): void {
    const n = (this.inFlight.get(mailbox) ?? 1) - 1;
    if (n === 0) this.inFlight.delete(mailbox);
    else this.inFlight.set(mailbox, n);
    const queue = this.waiting.get(mailbox);
    const next = queue?.shift();
    if (queue && !queue.length) this.waiting.delete(mailbox);
    next?.();
  }
}
