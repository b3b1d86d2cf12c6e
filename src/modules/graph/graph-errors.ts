/**
 * Who must act on a failure that retrying will not fix: the operator (calbridge's app registration, its secret, the
 * tenant's policies and consent, the network's TLS trust) or the member (their sign-in was refused: sign in again).
 */
export type ActionBy = 'operator' | 'member';

/** Graph failures as types the sync engine can act on, instead of raw HTTP. */
export class GraphError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
    /** null: passing (throttled, 5xx, network), or nobody in particular; the queue retries. */
    readonly actionBy: ActionBy | null = null,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * 401/403, or no token could be had. `actionBy` says whose it is: a refused member token (invalid_grant,
 * interaction_required, 401 on the member's token) is the member's; the app's own credentials refused (wrong or
 * expired client secret, unknown app or tenant, an untrusted certificate) or access denied (403) is the operator's.
 */
export class GraphAuthError extends GraphError {
  constructor(message: string, status: number, code: string | undefined, actionBy: ActionBy) {
    super(message, status, code, actionBy);
  }
}
/** 404: the subscription, event or calendar is gone. */
export class GraphNotFoundError extends GraphError {}

/** A member signing in again to a connection chose another Microsoft account than the one it reads. */
export class MailboxMismatchError extends Error {
  constructor(readonly signedInAs: string, readonly expected: string) {
    super(`signed in as ${signedInAs}, but the connection reads ${expected}'s calendar`);
  }
}
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
  // A 401 is the token's (whose token, the caller knows: see GraphClient.call); a 403 is access denied to the app or
  // by a tenant policy, which no member sign-in fixes.
  if (status === 401) return new GraphAuthError(message, status, code, 'member');
  if (status === 403) return new GraphAuthError(message, status, code, 'operator');
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
