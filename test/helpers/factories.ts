/** Test data through the real API: each factory POSTs and returns the created record. */
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';

let seq = 0;

async function post(app: FastifyInstance, auth: string, url: string, payload: Record<string, unknown>) {
  const res = await app.inject({ method: 'POST', url, headers: { authorization: auth }, payload });
  assert.equal(res.statusCode, 200, `POST ${url} failed: ${res.body}`);
  return res.json().Value as Record<string, any>;
}

export function createResource(app: FastifyInstance, auth: string, overrides: Record<string, unknown> = {}) {
  seq++;
  return post(app, auth, '/api/spaces/resources', { Name: `Room ${seq}`, CalendarEmail: `room${seq}@space.test`, ...overrides });
}

export function createCoworker(app: FastifyInstance, auth: string, overrides: Record<string, unknown> = {}) {
  seq++;
  return post(app, auth, '/api/spaces/coworkers', { FullName: `Member ${seq}`, Email: `member${seq}-${process.pid}@mail.test`, ...overrides });
}

export function calendarBody(resourceId: number, overrides: Record<string, unknown> = {}) {
  seq++;
  return {
    ResourceId: resourceId,
    Name: `Calendar ${seq}`,
    SubscriptionId: `sub-${seq}`,
    CalendarId: `AAMkAD-${seq}`,
    SubscriptionExpireDate: '2030-01-06T10:30:00Z',
    ...overrides,
  };
}

export function createCalendar(app: FastifyInstance, auth: string, resourceId: number, overrides: Record<string, unknown> = {}) {
  return post(app, auth, '/api/spaces/coworkermsofficecalendars', calendarBody(resourceId, overrides));
}

/** Two resources and two coworkers (Ada and Bob), each with a calendar record on the first resource. */
export async function twoMembers(app: FastifyInstance, auth: string) {
  const room = await createResource(app, auth);
  const desk = await createResource(app, auth);
  const ada = await createCoworker(app, auth);
  const bob = await createCoworker(app, auth);
  const adaCal = await createCalendar(app, auth, room.Id, { CoworkerId: ada.Id });
  const bobCal = await createCalendar(app, auth, room.Id, { CoworkerId: bob.Id });
  return { room, desk, ada, bob, adaCal, bobCal };
}
