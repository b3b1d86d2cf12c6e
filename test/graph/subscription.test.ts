import { test } from 'node:test';
import assert from 'node:assert/strict';
import { graphEnv } from '../helpers/graph-env.js';
import { digestSecret } from '../../src/core/secret-box.js';

test('a record created through the API gets a live Graph subscription, and a notification leads to a sync', async (ctx) => {
  const env = await graphEnv(ctx);
  const { recordId, calendarId, userId } = await env.connectMailbox('adelev@contoso.onmicrosoft.com');
  const conn = await env.until('the subscription', async () => ((await env.connection(recordId))?.state === 'active' ? env.connection(recordId) : undefined));
  const record = (await env.app.inject({ method: 'GET', url: `/api/spaces/coworkermsofficecalendars/${recordId}`, headers: { authorization: env.admin } })).json();
  const [sub] = env.emu.control.listSubscriptions() as Array<Record<string, any>>;
  assert.equal(record.SubscriptionId, sub!.id, 'SubscriptionId is what Graph answered');
  assert.equal(Date.parse(record.SubscriptionExpireDate), Date.parse(sub!.expirationDateTime), 'SubscriptionExpireDate is what Graph answered');
  assert.equal(sub!.changeType, 'created,updated,deleted');
  assert.match(sub!.resource, new RegExp(`calendars/${encodeURIComponent(calendarId).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/events$`));
  assert.equal(sub!.notificationUrl, `${env.url}/graph/notifications`);
  assert.equal(sub!.lifecycleNotificationUrl, `${env.url}/graph/lifecycle`);
  assert.equal(digestSecret(sub!.clientState!), conn!.client_state, 'the database keeps the digest of the clientState Graph got');
  assert.ok(sub!.clientState!.length >= 32);
  assert.equal(record.IsNew, true, 'a sync-engine write is not a change by the caller');

  const status = (await env.app.inject({ method: 'GET', url: `/api/spaces/coworkermsofficecalendars/${recordId}/status`, headers: { authorization: env.admin } })).json();
  assert.equal(status.State, 'active');
  assert.equal(status.NextRenewal, new Date(Date.parse(sub!.expirationDateTime) - 24 * 3600_000).toISOString());
  assert.ok(!JSON.stringify(status).includes(sub!.clientState!) && !JSON.stringify(status).includes(conn!.client_state!), 'the clientState is never returned');

  env.emu.control.createEvent(userId, { subject: 'Planning', start: { dateTime: new Date(Date.now() + 86_400_000).toISOString().slice(0, 19), timeZone: 'UTC' }, end: { dateTime: new Date(Date.now() + 90_000_000).toISOString().slice(0, 19), timeZone: 'UTC' } }, { calendarId });
  await env.until('the notification', async () => (await env.connection(recordId))?.last_notification_at);
  // The first full round may have run before the event existed; a later round reads it.
  await env.until('a sync round that read the event', async () => env.sink.rounds.some((r) => r.recordId === recordId && r.items >= 1));
});
