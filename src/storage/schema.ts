/** Table types for Kysely: the one description of the database that every repository shares. */
import type { ColumnType, Generated } from 'kysely';

/** Columns every Nexudus entity carries. Timestamps are ISO 8601 UTC text with milliseconds, so they sort as text. */
interface RecordMeta {
  id: Generated<number>;
  unique_id: string;
  created_on: string;
  updated_on: string;
  updated_by: string | null;
  is_new: number;
  system_id: string | null;
}

/**
 * The entity tables: their columns are declared once, by each entity's fields (each module's schema.ts, through defineEntity)
 * and created by the migrations; here they are only the columns every record has, plus any column by name.
 */
export interface EntityTable extends RecordMeta {
  [column: string]: unknown;
}

export interface AccessTokenTable {
  token_hash: string;
  user_id: number;
  client_id: string;
  expires_at: number;
  /** The refresh-token family it was issued with (null: before families existed). */
  family: string | null;
}

export interface RefreshTokenTable {
  token_hash: string;
  user_id: number;
  client_id: string;
  expires_at: number;
  family: string | null;
  /** When it was used to rotate (kept until it expires, to recognise a replay). */
  used_at: number | null;
}

/** SQLite only: the FTS5 trigram index over calendar names. */
export interface CalendarNameFtsTable {
  rowid: number;
  name: string;
}

export interface JobTable {
  id: Generated<number>;
  type: string;
  payload: string;
  state: 'pending' | 'running' | 'done' | 'dead';
  run_at: number;
  attempts: number;
  max_attempts: number;
  dedupe_key: string | null;
  locked_by: string | null;
  lock_expires_at: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}


export interface GraphConnectionTable {
  calendar_record_id: number;
  auth_mode: 'app' | 'delegated';
  mailbox: string;
  refresh_token_sealed: string | null;
  /** One of modules/graph/connection-states.ts's states. */
  state: string;
  /** The subscription calbridge made (the truth for renew, delete and notification matching). */
  subscription_id: string | null;
  subscription_resource: string | null;
  client_state: string | null;
  delta_link: string | null;
  last_notification_at: string | null;
  last_renewed_at: string | null;
  next_renewal_at: string | null;
  last_reauthorized_at: string | null;
  last_synced_at: string | null;
  last_error: string | null;
  /** Who must act on the state: 'operator', 'member' or null (connection-states.ts's table decides). */
  action_by: 'operator' | 'member' | null;
  updated_at: string;
  /** 1: a dedicated booking calendar (every busy event books the record's resource). */
  dedicated: number;
  last_full_sync_at: string | null;
  /** The calendarView window of delta_link (set by its full round). */
  window_start: string | null;
  window_end: string | null;
}

export interface GraphNotificationTable {
  id: Generated<number>;
  calendar_record_id: number;
  subscription_id: string;
  kind: 'change' | 'lifecycle';
  change_type: string | null;
  lifecycle_event: string | null;
  resource: string | null;
  received_at: string;
}

export interface SettingTable {
  key: string;
  value: string;
}

export interface BookingConflictTable {
  id: Generated<number>;
  coworker_ms_office_calendar_id: number;
  event_key: string;
  resource_id: number;
  coworker_id: number | null;
  from_time: string;
  to_time: string;
  tentative: number;
  subject: string | null;
  blocking_booking_id: number | null;
  detected_on: string;
  marked: number;
  /** The iCalUId of the waiting occurrence (shared by every member's copy of one meeting). */
  ical_uid: ColumnType<string | null, string | null | undefined, string | null>;
  /** 1: it waits behind a booking of the same meeting (another member's copy), not a collision: not listed, not marked. */
  same_meeting: Generated<number>;
}

export interface ConnectAttemptTable {
  id: Generated<number>;
  state_digest: string;
  user_id: number;
  coworker_id: number;
  record_id: number | null;
  verifier_sealed: string;
  token_cache_sealed: string | null;
  mailbox: string | null;
  created_at: string;
  expires_at: string;
  status: 'started' | 'signed_in' | 'done';
  redirect_uri: string | null;
}

export interface Database {
  connect_attempts: ConnectAttemptTable;
  bookings: EntityTable;
  booking_conflicts: BookingConflictTable;
  graph_connections: GraphConnectionTable;
  graph_notifications: GraphNotificationTable;
  settings: SettingTable;
  jobs: JobTable;
  coworker_ms_office_calendars_name_fts: CalendarNameFtsTable;
  coworker_ms_office_calendars: EntityTable;
  coworkers: EntityTable;
  resources: EntityTable;
  users: EntityTable;
  access_tokens: AccessTokenTable;
  refresh_tokens: RefreshTokenTable;
}

export type TableName = keyof Database;
