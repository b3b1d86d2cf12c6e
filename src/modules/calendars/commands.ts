/**
 * The commands CoworkerMsOfficeCalendar records support (Nexudus' GET /commands and POST /runcommand), and what the
 * sync engine offers them. The engine implements CalendarCommandRunner; calendars know nothing of Graph.
 */
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

/** What the sync engine offers the commands. */
export interface CalendarCommandRunner {
  renewNow(recordId: number): Promise<void>;
  resync(recordId: number): Promise<void>;
  /** Marks (or unmarks) the connection as a dedicated booking calendar, and reads the calendar again. */
  setDedicated(recordId: number, dedicated: boolean): Promise<void>;
  status(recordId: number): Promise<Omit<ConnectionStatus, 'Id' | 'SubscriptionId' | 'SubscriptionExpireDate'> | undefined>;
}

export const COMMANDS = [
  { Key: 'RENEW_SUBSCRIPTION', Name: 'Renew the Microsoft Graph subscription now', action: 'Edit' as const, Order: 1 },
  { Key: 'RESYNC', Name: 'Read the whole calendar again', action: 'Edit' as const, Order: 2 },
  { Key: 'DISCONNECT', Name: 'Disconnect: delete the Graph subscription and the record', action: 'Delete' as const, Order: 3 },
  { Key: 'MARK_DEDICATED', Name: "Dedicated booking calendar: every busy event books the record's resource", action: 'Edit' as const, Order: 4 },
  { Key: 'UNMARK_DEDICATED', Name: 'Not a dedicated booking calendar: only events that invite a resource book it', action: 'Edit' as const, Order: 5 },
];

