/**
 * The commands CoworkerMsOfficeCalendar records support (Nexudus' GET /commands and POST /runcommand), and what the
 * sync engine offers them. The engine implements CalendarCommandRunner; calendars know nothing of Graph.
 */
import type { Actor } from '../records/record-service.js';
import type { CoworkerMsOfficeCalendarService } from './service.js';

export interface ConnectionStatus {
  Id: number;
  State: string;
  AuthMode: 'app' | 'delegated';
  Mailbox: string | null;
  SubscriptionId: string;
  SubscriptionExpireDate: string;
  LastNotification: string | null;
  LastRenewal: string | null;
  NextRenewal: string | null;
  LastSync: string | null;
  LastError: string | null;
  /**
   * Who must act on the state: "operator" (calbridge's app registration, its secret, the tenant's consent or policy,
   * the record), "member" (sign in again), or null (nothing to do, or calbridge retries by itself).
   */
  ActionBy: 'operator' | 'member' | null;
  /** Every busy event of the calendar books the record's resource. */
  DedicatedBookingCalendar: boolean;
  LastFullSync: string | null;
}

/** One entry of a connection's recent sync history: the engine's work on it (renewals, reads, lifecycle). */
export interface SyncHistoryEntry {
  /** What ran: subscribe, renew, sync, reconcile, lifecycle … */
  Kind: string;
  /** pending, running, done or dead (gave up). */
  State: string;
  Attempts: number;
  /** When it last changed (ISO 8601). */
  At: string;
  Error: string | null;
}

/** What the sync engine offers the commands. */
export interface CalendarCommandRunner {
  renewNow(recordId: number): Promise<void>;
  resync(recordId: number): Promise<void>;
  /** Marks (or unmarks) the connection as a dedicated booking calendar, and reads the calendar again. */
  setDedicated(recordId: number, dedicated: boolean): Promise<void>;
  status(recordId: number): Promise<Omit<ConnectionStatus, 'Id' | 'SubscriptionId' | 'SubscriptionExpireDate'> | undefined>;
  /** The newest `limit` entries of the connection's sync history, newest first. */
  history(recordId: number, limit: number): Promise<SyncHistoryEntry[]>;
}

export type CommandKey = 'RENEW_SUBSCRIPTION' | 'RESYNC' | 'DISCONNECT' | 'MARK_DEDICATED' | 'UNMARK_DEDICATED';

/**
 * Runs one command on one record (its role and ownership already checked): the one place that says what each Key
 * does, for POST /runcommand and the dashboard's buttons alike. Answers the record's UpdatedOn.
 */
export async function runCommand(
  key: CommandKey, recordId: number, actor: Actor,
  on: { service: Pick<CoworkerMsOfficeCalendarService, 'remove' | 'touch'>; runner: CalendarCommandRunner },
): Promise<string> {
  if (key === 'DISCONNECT') return (await on.service.remove(recordId, actor)).UpdatedOn;
  if (key === 'RENEW_SUBSCRIPTION') await on.runner.renewNow(recordId);
  else if (key === 'RESYNC') await on.runner.resync(recordId);
  else await on.runner.setDedicated(recordId, key === 'MARK_DEDICATED');
  return (await on.service.touch(recordId, actor)).UpdatedOn;
}

export const COMMANDS: ReadonlyArray<{ Key: CommandKey; Name: string; action: 'Edit' | 'Delete'; Order: number }> = [
  { Key: 'RENEW_SUBSCRIPTION', Name: 'Renew the Microsoft Graph subscription now', action: 'Edit' as const, Order: 1 },
  { Key: 'RESYNC', Name: 'Read the whole calendar again', action: 'Edit' as const, Order: 2 },
  { Key: 'DISCONNECT', Name: 'Disconnect: delete the Graph subscription and the record', action: 'Delete' as const, Order: 3 },
  { Key: 'MARK_DEDICATED', Name: "Dedicated booking calendar: every busy event books the record's resource", action: 'Edit' as const, Order: 4 },
  { Key: 'UNMARK_DEDICATED', Name: 'Not a dedicated booking calendar: only events that invite a resource book it', action: 'Edit' as const, Order: 5 },
];

