/** Member logins for the browser tests (Chromium and Firefox alike). */
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
