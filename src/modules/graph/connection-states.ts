/**
 * The Graph connection's states and every allowed transition, in one table. Every state change goes through
 * `nextState`: an event that the table does not allow from the current state is an error, never a silent write.
 *
 *   active            the subscription is live
 *   renewing          being created or renewed (or retried after a passing failure)
 *   reauth_required   the member must sign in again (their token was refused)
 *   credentials_missing nothing to subscribe with yet: no mailbox, no member sign-in, or a sign-in in progress
 *   failed            a permanent failure, or retries used up (see last_error)
 */
export const CONNECTION_STATES = ['active', 'renewing', 'reauth_required', 'credentials_missing', 'failed'] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];

const ALL = CONNECTION_STATES;

/** event → the states it may start from, and the state it leads to. */
export const TRANSITIONS = {
  /** A record got a mailbox the app can subscribe to (created, or its calendar or coworker changed). */
  attached: { from: ALL, to: 'renewing' },
  /** A record has nothing to subscribe with (no coworker, so no mailbox). */
  detached: { from: ALL, to: 'credentials_missing' },
  /** A member started a delegated sign-in: nothing runs until it completes. */
  signInStarted: { from: ALL, to: 'credentials_missing' },
  /** The member's sign-in completed: subscribe with their token. */
  signedIn: { from: ['credentials_missing'], to: 'renewing' },
  /** An operator asked for a renewal of a connection that needs a new subscription. */
  renewRequested: { from: ['failed', 'reauth_required', 'renewing', 'active'], to: 'renewing' },
  /** A subscribe or renew job starts work (a failed connection stays failed while retried: no flicker). */
  workStarted: { from: ['active', 'renewing'], to: 'renewing' },
  /** Graph created or renewed the subscription. */
  subscribed: { from: ['renewing', 'failed', 'active'], to: 'active' },
  /** A delta round succeeded on a connection marked failed: it works again. */
  syncRecovered: { from: ['failed'], to: 'active' },
  /** Graph refused the token: the member must sign in again. */
  authRefused: { from: ['active', 'renewing', 'failed', 'reauth_required'], to: 'reauth_required' },
  /** A passing failure (throttled, 5xx): the queue retries. */
  retrying: { from: ['active', 'renewing'], to: 'renewing' },
  /** A permanent failure, or the retries are used up. */
  failed: { from: ['active', 'renewing', 'failed'], to: 'failed' },
} as const satisfies Record<string, { from: readonly ConnectionState[]; to: ConnectionState }>;

export type ConnectionEvent = keyof typeof TRANSITIONS;

export class IllegalTransitionError extends Error {
  constructor(readonly from: ConnectionState | null, readonly event: ConnectionEvent) {
    super(`connection state: "${event}" is not allowed from ${from ?? 'no connection'}`);
  }
}

/** The state after `event`, or IllegalTransitionError. `from` null: the connection row does not exist yet. */
export function nextState(from: ConnectionState | null, event: ConnectionEvent): ConnectionState {
  const t = TRANSITIONS[event];
  // A new connection row may start with any event that is allowed from every state.
  const allowed = from === null ? t.from.length === ALL.length : (t.from as readonly ConnectionState[]).includes(from);
  if (!allowed) throw new IllegalTransitionError(from, event);
  return t.to;
}
