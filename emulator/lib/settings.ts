/** Tunables of the emulator; defaults follow Graph where Graph publishes a number (see README). */
export interface EmulatorSettings {
  /** Handshake answer limit for notificationUrl/lifecycleNotificationUrl (Graph: 10 s). */
  validationTimeoutMs: number;
  /** A delivery counts when a 2xx arrives within this time (Graph: 3 s). */
  notificationTimeoutMs: number;
  /** Timeout of retried deliveries (Graph: 10 s). */
  notificationRetryTimeoutMs: number;
  /** Back-off before each retry; its length bounds the attempts (Graph: exponential, up to 4 h). */
  notificationRetryDelaysMs: number[];
  /** How long changes are gathered into one POST per notification URL. */
  notificationBatchDelayMs: number;
  /** Most items in one POST. */
  notificationMaxBatchSize: number;
  /** Items emitted per change of type 'updated' (> 1 mimics Graph's reported duplicate updates). */
  updatesPerChange: number;
  /** When a change delivery is given up, send a 'missed' lifecycle notification (if the subscription has a lifecycle URL). */
  missedAfterGivingUp: boolean;
  /** Token lifetimes follow the emulator clock (true) or real time (false: advancing the clock does not expire tokens). */
  tokensFollowClock: boolean;
  accessTokenLifetimeSec: number;
  refreshTokenLifetimeSec: number;
  authCodeLifetimeSec: number;
  /** Refresh tokens stay valid after use (Entra ID's behaviour); true makes each usable once. */
  singleUseRefreshTokens: boolean;
  maxSubscriptionMinutes: number;
  maxSubscriptionMinutesWithResourceData: number;
  minSubscriptionMinutes: number;
  maxSubscriptionsPerMailbox: number;
  /**
   * Graph warns with reauthorizationRequired before a subscription (with a lifecycleNotificationUrl) expires: one is
   * sent when less than min(reauthorizeBeforeExpiryMaxMinutes, reauthorizeBeforeExpiryFraction × lifetime) is left,
   * once per expiry (a renewal that moves the expiry re-arms it). false = only on demand or by autoReauthorizationMinutes.
   */
  reauthorizeBeforeExpiry: boolean;
  reauthorizeBeforeExpiryMaxMinutes: number;
  /** Share of the lifetime (from creation or the last renewal to the expiry) that triggers it for short subscriptions. */
  reauthorizeBeforeExpiryFraction: number;
  /**
   * When set (default 15, as Graph: it asks ahead of the bound access token's expiry, about hourly), a subscription with
   * a lifecycleNotificationUrl also gets one reauthorizationRequired this many minutes before its expiry or before the
   * access token it was (re)authorized with expires; PATCH or reauthorize re-arms it. null = no token-driven ones.
   */
  autoReauthorizationMinutes: number | null;
  /** Outlook: concurrent requests per app and mailbox (Graph: 4); the next one is answered 429. 0 = unlimited. */
  mailboxConcurrencyLimit: number;
  /** Retry-After (seconds) of a 429 for concurrency. */
  mailboxConcurrencyRetryAfterSec: number;
  /** Outlook: requests per app and mailbox within mailboxRequestWindowMs (Graph: 10,000 per 10 minutes). 0 = unlimited. */
  mailboxRequestLimit: number;
  /** Sliding window of mailboxRequestLimit, on the emulator clock. */
  mailboxRequestWindowMs: number;
  /** Reject http:// notification URLs as Graph does (off by default so local receivers work). */
  requireHttpsNotificationUrl: boolean;
  /** Delta tokens older than this (emulator time) answer 410 resyncRequired. */
  deltaTokenMaxAgeMs: number;
  /** Default page size of calendarView/delta without Prefer: odata.maxpagesize. */
  deltaDefaultPageSize: number;
  /** Default page size of list endpoints without $top. */
  listDefaultPageSize: number;
  /** How often expired subscriptions are swept (real time); clock changes sweep at once. */
  sweepIntervalMs: number;
  /** Requests kept for inspection. */
  requestLogLimit: number;
  deliveryLogLimit: number;
}

export const DEFAULT_SETTINGS: EmulatorSettings = {
  validationTimeoutMs: 10_000,
  notificationTimeoutMs: 3_000,
  notificationRetryTimeoutMs: 10_000,
  notificationRetryDelaysMs: [10_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000, 3_600_000, 3_600_000],
  notificationBatchDelayMs: 25,
  notificationMaxBatchSize: 100,
  updatesPerChange: 1,
  missedAfterGivingUp: true,
  tokensFollowClock: true,
  accessTokenLifetimeSec: 3_599,
  refreshTokenLifetimeSec: 90 * 24 * 3600,
  authCodeLifetimeSec: 600,
  singleUseRefreshTokens: false,
  maxSubscriptionMinutes: 10_080,
  maxSubscriptionMinutesWithResourceData: 1_440,
  minSubscriptionMinutes: 45,
  maxSubscriptionsPerMailbox: 1_000,
  reauthorizeBeforeExpiry: true,
  reauthorizeBeforeExpiryMaxMinutes: 60,
  reauthorizeBeforeExpiryFraction: 0.1,
  autoReauthorizationMinutes: 15,
  mailboxConcurrencyLimit: 4,
  mailboxConcurrencyRetryAfterSec: 1,
  mailboxRequestLimit: 10_000,
  mailboxRequestWindowMs: 600_000,
  requireHttpsNotificationUrl: false,
  deltaTokenMaxAgeMs: 30 * 24 * 3600 * 1000,
  deltaDefaultPageSize: 10,
  listDefaultPageSize: 10,
  sweepIntervalMs: 1_000,
  requestLogLimit: 5_000,
  deliveryLogLimit: 5_000,
};
