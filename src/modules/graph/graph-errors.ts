/** Graph failures as types the sync engine can act on, instead of raw HTTP. */
export class GraphError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 401/403, or no token could be had (revoked or expired refresh token, bad client secret). */
export class GraphAuthError extends GraphError {}
/** 404: the subscription, event or calendar is gone. */
export class GraphNotFoundError extends GraphError {}
/** 429/503/504 still failing after the retries. */
export class GraphThrottledError extends GraphError {
  constructor(message: string, status: number, code: string | undefined, readonly retryAfterMs: number | undefined) {
    super(message, status, code);
  }
}
/** 410 Gone / syncStateNotFound: the delta token is dead; a full resync is needed. */
export class GraphGoneError extends GraphError {}

const GONE_CODES = new Set(['syncStateNotFound', 'resyncRequired', 'SyncStateNotFound']);

export function graphErrorFor(status: number, body: unknown, retryAfterMs?: number): GraphError {
  const err = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  const code = err?.code;
  const message = `Graph answered ${status}${code ? ` ${code}` : ''}${err?.message ? `: ${err.message}` : ''}`;
  if (status === 410 || (code && GONE_CODES.has(code))) return new GraphGoneError(message, status, code);
  if (status === 401 || status === 403) return new GraphAuthError(message, status, code);
  if (status === 404) return new GraphNotFoundError(message, status, code);
  if (status === 429 || status === 503 || status === 504) return new GraphThrottledError(message, status, code, retryAfterMs);
  return new GraphError(message, status, code);
}

/** Retry-After as milliseconds: seconds, or an HTTP date. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}
