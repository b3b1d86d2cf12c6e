/** Member and operator logins, and a failed connection, for the browser tests (Chromium and Firefox alike). */
import assert from 'node:assert/strict';
import type { GraphEnv } from '../helpers/graph-env.js';

export const ADELE = 'adelev@contoso.onmicrosoft.com';
export const ALEX = 'alexw@contoso.onmicrosoft.com';
export const ROOM = 'rainier@contoso.onmicrosoft.com';

/** A member login for a seeded mailbox: its coworker, and a user with that CoworkerId. */
export async function memberLogin(env: GraphEnv, upn: string, name: string): Promise<{ email: string; password: string; coworkerId: number }> {
  const coworker = (await env.request('POST', '/api/spaces/coworkers', { FullName: name, Email: upn })).body.Value;
  const email = `member.${upn}`;
  const password = 'correct horse battery staple';
  const made = await env.request('POST', '/api/sys/users', { Email: email, FullName: name, Password: password, CoworkerId: coworker.Id });
  assert.equal(made.status, 200, made.text);
  return { email, password, coworkerId: coworker.Id };
}

/** An operator who lists, reads, renews and sees bookings (not a full administrator, no Delete). */
export async function operatorLogin(env: GraphEnv): Promise<{ email: string; password: string }> {
  const operator = { email: 'ops@space.test', password: 'operator password 1' };
  const made = await env.request('POST', '/api/sys/users', { Email: operator.email, FullName: 'Ops', Password: operator.password, Roles: ['CoworkerMsOfficeCalendar-List', 'CoworkerMsOfficeCalendar-Read', 'CoworkerMsOfficeCalendar-Edit', 'Booking-List'] });
  assert.equal(made.status, 200, made.text);
  return operator;
}

/**
 * Alex's connection, failed: Graph removes its subscription and refuses to make another (a tenant policy). Remove
 * the returned fault to let a renewal succeed.
 */
export async function failedConnection(env: GraphEnv): Promise<{ recordId: number; refusal: { id: number } }> {
  const alex = await env.connectMailbox(ALEX);
  await env.untilState(alex.recordId, 'active');
  const c = env.emu.control;
  const refusal = c.addFault({ method: 'POST', path: '/subscriptions', status: 403, times: 1000 });
  c.removeSubscription(c.listSubscriptions().find((s) => s.userId === alex.userId)!.id, { notify: true });
  await env.untilState(alex.recordId, 'failed');
  return { recordId: alex.recordId, refusal };
}
