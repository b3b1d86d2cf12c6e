/** The Graph jobs on the durable queue, and their dedupe keys (one pending job per record and kind). */
export const GraphJobs = {
  /** Create (or re-create) the subscription of a record. */
  subscribe: 'graph.subscribe',
  /** Renew (PATCH) a subscription. */
  renew: 'graph.renew',
  /** Delete a subscription whose record is gone. */
  unsubscribe: 'graph.unsubscribe',
  /** Read the calendar's changes (calendarView/delta). */
  sync: 'graph.sync',
  /** React to a lifecycle notification. */
  lifecycle: 'graph.lifecycle',
  /** The periodic safety net: renew what is due, re-read calendars not synced for an hour, reconcile. */
  sweep: 'graph.sweep',
  /** Check a subscription at Graph (re-create it if it vanished silently) and read the whole calendar again. */
  reconcile: 'graph.reconcile',
} as const;

export const dedupeKey = {
  subscribe: (recordId: number) => `graph.subscribe:${recordId}`,
  renew: (recordId: number) => `graph.renew:${recordId}`,
  /** "Renew now" (command, reauthorizationRequired): its own key, or it would fold into next week's scheduled renewal. */
  renewNow: (recordId: number) => `graph.renew-now:${recordId}`,
  /** POST /reauthorize alone: its own key, or a "renew now" queued meanwhile would fold into it and never PATCH. */
  reauthorize: (recordId: number) => `graph.reauthorize:${recordId}`,
  sync: (recordId: number) => `graph.sync:${recordId}`,
  reconcile: (recordId: number) => `graph.reconcile:${recordId}`,
  lifecycle: (recordId: number, event: string) => `graph.lifecycle:${recordId}:${event}`,
};

/** What the unsubscribe job needs: enough to delete a subscription whose record is already gone. */
export interface UnsubscribePayload {
  subscriptionId: string;
  authMode: 'app' | 'delegated';
  mailbox: string;
  connectionKey: string;
  tokenCacheSealed: string | null;
}
