/** What reaches PostgreSQL: the query texts pg's clients send. */
import pg from 'pg';

/**
 * Every query text pg's clients send while `fn` runs. pg.Client's query is wrapped before the app opens its pool (the
 * pool's clients bind it when they connect), so call this before the app starts; it returns the probe.
 */
export function recordingPgQueries(ctx: { after(fn: () => void): void }) {
  let texts: string[] | undefined;
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function query(this: unknown, config: unknown, ...rest: unknown[]) {
    texts?.push(typeof config === 'string' ? config : String((config as { text?: string }).text));
    return original.call(this, config, ...rest);
  };
  ctx.after(() => (proto.query = original));
  return async (fn: () => Promise<unknown>) => {
    texts = [];
    try {
      await fn();
      return texts;
    } finally {
      texts = undefined;
    }
  };
}
