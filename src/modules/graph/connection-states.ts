/**
 * The Graph connection's states and every allowed transition, in one table. Every state change goes through
 * `nextState`: an event that the table does not allow from the current state is an error, never a silent write.
 *
 *   active            the subscription is live
 *   renewing          being created or renewed (or retried after a passing failure)
 *   reauth_required   the member must sign in again (their token was refused)
 *   credentials_missing nothing to subscribe with yet: no mailbox, no member sign-in, or a sign-in in progress
 *   failed            a permanent failure, or retries used up (see last_error)
 *
 * Each event also says who must act in the state it leads to (`actionBy`, stored with the state and shown as the
 * status's ActionBy): 'member' (sign in again), 'operator' (calbridge's app registration, secret, tenant or network),
 * or null (nothing to do: it works, or calbridge retries by itself).
 */
import { CONNECTION_STATES } from '../calendars/schema.js';

export { CONNECTION_STATES };
export type ConnectionState = (typeof CONNECTION_STATES)[number];
export type ActionBy = 'operator' | 'member';

const ALL = CONNECTION_STATES;

/** event → the states it may start from, and the state it leads to. */
export const TRANSITIONS = {
  /** A record got a mailbox the app can subscribe to (created, or its calendar or coworker changed). */
  attached: { from: ALL, to: 'renewing', actionBy: null },
  /** A record has nothing to subscribe with (no coworker, so no mailbox). */
  detached: { from: ALL, to: 'credentials_missing', actionBy: null },
  /** A member started a delegated sign-in: nothing runs until it completes. */
  signInStarted: { from: ALL, to: 'credentials_missing', actionBy: 'member' },
  /** The member's sign-in completed: subscribe with their token. */
  signedIn: { from: ['credentials_missing'], to: 'renewing', actionBy: null },
  /** An operator asked for a renewal of a connection that needs a new subscription. */
  renewRequested: { from: ['failed', 'reauth_required', 'renewing', 'active'], to: 'renewing', actionBy: null },
  /** A subscribe or renew job starts work (a failed connection stays failed while retried: no flicker). */
  workStarted: { from: ['active', 'renewing'], to: 'renewing', actionBy: null },
  /** Graph created or renewed the subscription. */
  subscribed: { from: ['renewing', 'failed', 'active'], to: 'active', actionBy: null },
  /** A delta round succeeded on a connection marked failed: it works again. */
  syncRecovered: { from: ['failed'], to: 'active', actionBy: null },
  /** Microsoft refused the member's own token (invalid_grant, interaction_required, 401): the member must sign in again. */
  authRefused: { from: ['active', 'renewing', 'failed', 'reauth_required'], to: 'reauth_required', actionBy: 'member' },
  /** A passing failure (throttled, 5xx): the queue retries. */
  retrying: { from: ['active', 'renewing'], to: 'renewing', actionBy: null },
  /** The retries of a passing failure are used up (calbridge tries again at the next renewal or RENEW_SUBSCRIPTION). */
  failed: { from: ['active', 'renewing', 'failed'], to: 'failed', actionBy: null },
  /**
   * What only the operator can fix: the app's own credentials refused (wrong or expired client secret, unknown app or
   * tenant), an untrusted TLS certificate toward Microsoft, access denied (403: permission, consent, a tenant policy),
   * or another permanent refusal (an unknown mailbox or calendar). Also on a delegated connection: signing in again
   * would not help.
   */
  operatorRequired: { from: ['active', 'renewing', 'failed'], to: 'failed', actionBy: 'operator' },
} as const satisfies Record<string, { from: readonly ConnectionState[]; to: ConnectionState; actionBy: ActionBy | null }>;

export type ConnectionEvent = keyof typeof TRANSITIONS;

export class IllegalTransitionError extends Error {
  constructor(readonly from: ConnectionState | null, readonly event: ConnectionEvent) {
    super(`connection state: "${event}" is not allowed from ${from ?? 'no connection'}`);
  }
}

/** Who must act once `event` happened (see the table). */
export function actionByAfter(event: ConnectionEvent): ActionBy | null {
  return TRANSITIONS[event].actionBy;
}

/** The state after `event`, or IllegalTransitionError. `from` null: the connection row does not exist yet. */
export function nextState(from: ConnectionState | null, event: ConnectionEvent): ConnectionState {
  const t = TRANSITIONS[event];
  // A new connection row may start with any event that is allowed from every state.
  const allowed = from === null ? t.from.length === ALL.length : (t.from as readonly ConnectionState[]).includes(from);
  if (!allowed) throw new IllegalTransitionError(from, event);
  return t.to;
}
