/**
 * A member connects their Office 365 calendar (the /connect pages): Microsoft's authorization-code flow with PKCE and
 * a single-use `state`, then the member picks a calendar, a resource and whether it is a dedicated booking calendar,
 * and calbridge creates the CoworkerMsOfficeCalendar record and its delegated connection in one transaction (the
 * subscribe job commits with them). A record in reauth_required is reconnected the same way, without the picking.
 *
 * Until the member has picked, their token cache is kept sealed in the attempt row (never in a cookie or page).
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import { sha256, type SecretBox } from '../../core/secret-box.js';
import type { Database } from '../../storage/schema.js';
import { withTransaction } from '../../storage/unit-of-work.js';
import type { CoworkerMsOfficeCalendarService } from '../calendars/service.js';
import type { CoworkerMsOfficeCalendar } from '../calendars/schema.js';
import type { GraphAuth, GraphClient, TokenCacheStore } from '../graph/graph-client.js';
import { GraphError, MailboxMismatchError } from '../graph/graph-errors.js';
import type { ConnectionService } from '../graph/connection-service.js';
import type { ConnectAttempt, ConnectAttemptRepository } from './attempt-repository.js';
import { explainMicrosoftError, type Explained } from './microsoft-errors.js';

/** How long a member has between "Connect" and picking a calendar. */
const ATTEMPT_TTL_MS = 15 * 60_000;

export interface Member {
  userId: number;
  email: string;
  coworkerId: number;
}

export interface MemberCalendar {
  id: string;
  name: string;
  isDefault: boolean;
}

export type CallbackResult =
  | { kind: 'error'; error: Explained }
  | { kind: 'choose'; attemptId: number; mailbox: string; calendars: MemberCalendar[] }
  | { kind: 'reconnected'; recordId: number };

export interface ConnectFlowDeps {
  db: Kysely<Database>;
  graph: GraphClient;
  secrets: SecretBox;
  attempts: ConnectAttemptRepository;
  calendarService: CoworkerMsOfficeCalendarService;
  connectionService: ConnectionService;
  /**
   * Redeems a code into an existing record's token cache and subscribes (SubscriptionManager.connectDelegated); an
   * account other than the one the record reads is refused with MailboxMismatchError.
   */
  reconnect(recordId: number, code: string, redirectUri: string, codeVerifier: string): Promise<string>;
  clock: Clock;
  publicUrl: string;
  /**
   * Whether the redirect URI is always PUBLIC_URL's (Microsoft: it must be registered). With the emulator it is the
   * address the member's browser uses, so the sign-in comes back to the host that holds their session cookie.
   */
  fixedRedirect: boolean;
  /** Microsoft's sign-in origin (or the emulator's): the pages' Content-Security-Policy lets forms go there. */
  signInOrigin: string;
}

export class ConnectFlow {
  readonly signInOrigin: string;

  constructor(private readonly d: ConnectFlowDeps) {
    this.signInOrigin = d.signInOrigin;
  }

  /** Where Microsoft sends the browser back, for a browser on `origin` (see fixedRedirect). */
  redirectUri(origin: string): string {
    return `${this.d.fixedRedirect ? this.d.publicUrl : origin}/connect/callback`;
  }

  /** Where to send the member's browser: Microsoft's sign-in, with a fresh single-use state and PKCE challenge. */
  async start(member: Member, origin: string, reconnect?: CoworkerMsOfficeCalendar): Promise<string> {
    if (reconnect && reconnect.CoworkerId !== member.coworkerId) throw AppError.notFound('CoworkerMsOfficeCalendar not found.');
    const state = randomBytes(32).toString('base64url');
    const verifier = randomBytes(32).toString('base64url');
    const now = this.d.clock.now();
    const redirectUri = this.redirectUri(origin);
    await this.d.attempts.deleteExpired(new Date(now).toISOString());
    await this.d.attempts.insert({
      state_digest: digest(state), user_id: member.userId, coworker_id: member.coworkerId, record_id: reconnect?.Id ?? null,
      verifier_sealed: this.d.secrets.seal(verifier), token_cache_sealed: null, mailbox: null,
      created_at: new Date(now).toISOString(), expires_at: new Date(now + ATTEMPT_TTL_MS).toISOString(), status: 'started', redirect_uri: redirectUri,
    });
    return this.d.graph.authCodeUrl({
      redirectUri, state, prompt: 'select_account',
      codeChallenge: sha256(verifier),
    });
  }

  /** Microsoft sent the browser back: redeem the code (once), then list the member's calendars or finish a reconnect. */
  async callback(member: Member, q: { code?: string; state?: string; error?: string; error_description?: string }): Promise<CallbackResult> {
    await this.d.attempts.deleteExpired(this.nowIso()); // abandoned attempts (and their sealed token caches) go
    const attempt = q.state ? await this.d.attempts.byStateDigest(digest(q.state)) : undefined;
    if (!attempt || attempt.user_id !== member.userId || attempt.expires_at < this.nowIso()) {
      return fail({ title: 'This sign-in link is no longer valid', advice: 'It expired, was already used, or was started by someone else. Start the connection again from this page.', by: 'member' });
    }
    // Single use: a replayed callback (or a second tab) finds it moved on.
    if (!(await this.d.attempts.advance(attempt.id, 'started', 'signed_in'))) {
      return fail({ title: 'This sign-in link was already used', advice: 'Start the connection again from this page.', by: 'member' });
    }
    if (q.error || !q.code) return fail(explainMicrosoftError(q.error ?? 'invalid_request', q.error_description ?? 'Microsoft sent no authorization code.'));
    const verifier = this.d.secrets.open(attempt.verifier_sealed);
    const redirectUri = attempt.redirect_uri ?? this.redirectUri(this.d.publicUrl);
    try {
      if (attempt.record_id) {
        await this.d.reconnect(attempt.record_id, q.code, redirectUri, verifier);
        await this.d.attempts.advance(attempt.id, 'signed_in', 'done');
        return { kind: 'reconnected', recordId: attempt.record_id };
      }
      let cache: string | null = null;
      const store: TokenCacheStore = { load: async () => cache, save: async (s) => void (cache = s) };
      const key = `attempt:${attempt.id}`;
      const mailbox = await this.d.graph.redeemCode(key, store, q.code, redirectUri, verifier);
      const calendars = await this.listCalendars({ kind: 'delegated', mailbox, connectionKey: key, cache: store });
      this.d.graph.forget(key);
      if (!calendars.length) return fail({ title: 'Your mailbox has no calendars', advice: 'Create a calendar in Outlook (or ask your administrator why there is none), then connect again.', by: 'member' });
      if (!cache) throw new Error('the sign-in left no token cache');
      await this.d.attempts.advance(attempt.id, 'signed_in', 'signed_in', { token_cache_sealed: this.d.secrets.seal(cache), mailbox });
      return { kind: 'choose', attemptId: attempt.id, mailbox, calendars };
    } catch (err) {
      if (err instanceof GraphError) return fail(explainMicrosoftError(err.code, err.message));
      if (err instanceof MailboxMismatchError) {
        await this.d.attempts.advance(attempt.id, 'signed_in', 'done');
        return fail({ title: 'That is another Microsoft account', advice: `You signed in as ${err.signedInAs}, but this connection reads the calendar of ${err.expected}. Nothing was changed: choose Reconnect again and sign in as ${err.expected}. To connect ${err.signedInAs} instead, disconnect this calendar and connect the other one.`, by: 'member' });
      }
      throw err;
    }
  }

  /** The calendars of a signed-in attempt (to show the picker again after a wrong choice). */
  async calendarsOf(member: Member, attemptId: number): Promise<{ attempt: ConnectAttempt; calendars: MemberCalendar[] }> {
    const attempt = await this.pending(member, attemptId);
    const key = `attempt:${attempt.id}`;
    const sealed = attempt.token_cache_sealed!;
    const store: TokenCacheStore = { load: async () => this.d.secrets.open(sealed), save: async () => {} };
    try {
      return { attempt, calendars: await this.listCalendars({ kind: 'delegated', mailbox: attempt.mailbox ?? '', connectionKey: key, cache: store }) };
    } finally {
      this.d.graph.forget(key);
    }
  }

  /** The member picked: the record and its delegated connection are created together. Returns the record. */
  async finish(member: Member, attemptId: number, choice: { calendarId: string; resourceId: number; dedicated: boolean }): Promise<CoworkerMsOfficeCalendar> {
    const { attempt, calendars } = await this.calendarsOf(member, attemptId);
    const calendar = calendars.find((c) => c.id === choice.calendarId);
    if (!calendar) throw AppError.field('CalendarId', 'is not one of the calendars of the mailbox you signed in with', choice.calendarId);
    return withTransaction(this.d.db, undefined, async (trx) => {
      // Done: the member's token cache now lives (sealed) on the connection; the attempt keeps no copy.
      if (!(await this.d.attempts.advance(attempt.id, 'signed_in', 'done', { token_cache_sealed: null }, trx))) throw AppError.notFound('This connection was already completed.');
      const record = await this.d.calendarService.create(
        // The subscription fields are the engine's to fill once Graph made the subscription.
        { CoworkerId: member.coworkerId, ResourceId: choice.resourceId, CalendarId: calendar.id, Name: calendar.name, SubscriptionId: 'pending', SubscriptionExpireDate: this.nowIso() },
        { userId: member.userId, email: member.email }, trx,
      );
      await this.d.connectionService.connectMember(record.Id, { mailbox: attempt.mailbox ?? '', tokenCacheSealed: attempt.token_cache_sealed!, dedicated: choice.dedicated }, trx);
      return record;
    });
  }

  private async pending(member: Member, attemptId: number): Promise<ConnectAttempt> {
    await this.d.attempts.deleteExpired(this.nowIso());
    const attempt = await this.d.attempts.byId(attemptId);
    if (!attempt || attempt.user_id !== member.userId || attempt.status !== 'signed_in' || !attempt.token_cache_sealed || attempt.expires_at < this.nowIso()) {
      throw AppError.notFound('This connection attempt has expired or was completed: start again.');
    }
    return attempt;
  }

  private async listCalendars(auth: GraphAuth): Promise<MemberCalendar[]> {
    const page = await this.d.graph.call<{ value?: Array<{ id?: string; name?: string; isDefaultCalendar?: boolean; canEdit?: boolean }> }>(auth, 'GET', '/me/calendars?$top=100');
    return (page.value ?? []).filter((c) => c.id && c.canEdit !== false)
      .map((c) => ({ id: c.id!, name: c.name ?? 'Calendar', isDefault: Boolean(c.isDefaultCalendar) }))
      .sort((a, b) => Number(b.isDefault) - Number(a.isDefault) || a.name.localeCompare(b.name));
  }

  private nowIso(): string {
    return new Date(this.d.clock.now()).toISOString();
  }
}

function fail(error: Explained): CallbackResult {
  return { kind: 'error', error };
}

function digest(state: string): string {
  return sha256(state);
}
