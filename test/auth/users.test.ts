/** /api/sys/users: write-only passwords, e-mail rules, roles, the last full administrator, CoworkerId. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_EMAIL, ADMIN_PASSWORD, basic, createTestApp, testApp, passwordGrant, type TestApp } from '../helpers/app.js';
import { createCoworker } from '../helpers/factories.js';
import { assertFailure, send, type Answer } from '../helpers/api.js';

const USERS = '/api/sys/users';
let seq = 0;
const email = (label = 'user') => `${label}-${++seq}@users.test`;

/** A 400 envelope whose Errors include an entry for this property. */
function assertFieldError(a: Answer, property: string): void {
  assertFailure(a, 400);
  assert.ok(Array.isArray(a.body.Errors), a.raw);
  assert.ok(a.body.Errors.some((e: { PropertyName: string }) => e.PropertyName === property), `expected an error on ${property}: ${a.raw}`);
}

/** Nothing that looks like a password or its hash, and not the password itself. */
function assertNoSecrets(a: Answer, ...passwords: string[]): void {
  assert.doesNotMatch(a.raw, /password/i, `a password field leaked: ${a.raw}`);
  assert.doesNotMatch(a.raw, /scrypt\$/, `a password hash leaked: ${a.raw}`);
  assert.doesNotMatch(a.raw, /hash/i, `a hash leaked: ${a.raw}`);
  for (const p of passwords) assert.ok(!a.raw.includes(p), `the password leaked: ${a.raw}`);
}

describe('/api/sys/users', () => {
  let t: TestApp;
  let adminId: number;
  const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: Record<string, unknown>, auth?: string) =>
    send(t.app, { method, url, ...(payload ? { payload } : {}) }, auth ?? t.admin);
  const create = async (body: Record<string, unknown>) => {
    const a = await call('POST', USERS, body);
    assert.equal(a.status, 200, a.raw);
    return a.body.Value as Record<string, any>;
  };

  before(async () => {
    t = await createTestApp();
    adminId = (await t.container.users.findIdByEmail(ADMIN_EMAIL))!;
  });
  after(async () => {
    await t?.close();
  });

  describe('Password is write-only', () => {
    it('never appears in create, get, list, batch or update answers', async () => {
      const pw = 'very-secret-password-1';
      const created = await call('POST', USERS, { Email: email(), Password: pw, FullName: 'Pat Secret', Roles: ['Resource-List'] });
      assert.equal(created.status, 200, created.raw);
      assertNoSecrets(created, pw);
      const id = created.body.Value.Id;
      assert.equal(created.body.Value.Email.endsWith('@users.test'), true);

      const one = await call('GET', `${USERS}/${id}`);
      assert.equal(one.status, 200);
      assertNoSecrets(one, pw);
      assert.equal(one.body.FullName, 'Pat Secret');

      const list = await call('GET', `${USERS}?size=1000`);
      assert.equal(list.status, 200);
      assert.ok(list.body.Records.length >= 2);
      assertNoSecrets(list, pw, ADMIN_PASSWORD);

      const batch = await call('GET', `${USERS}?id=[${id},${adminId}]`);
      assert.equal(batch.status, 200);
      assert.deepEqual(batch.body.map((u: { Id: number }) => u.Id), [id, adminId]);
      assertNoSecrets(batch, pw, ADMIN_PASSWORD);

      const pw2 = 'another-secret-password-2';
      const put = await call('PUT', USERS, { Id: id, Email: one.body.Email, Password: pw2 });
      assert.equal(put.status, 200, put.raw);
      assertNoSecrets(put, pw, pw2);

      // Ordering or filtering by Password is not possible either.
      const ordered = await call('GET', `${USERS}?orderBy=Password`);
      assertFailure(ordered, 400);
    });

    it('a Password sent on create is the one that logs in', async () => {
      const e = email();
      await create({ Email: e, Password: 'login-with-this-1' });
      assert.equal((await passwordGrant(t.app, e, 'login-with-this-1')).status, 200);
      assert.equal((await passwordGrant(t.app, e, 'login-with-that-1')).status, 400);
    });
  });

  describe('Password rules', () => {
    it('a Password under 10 characters → 400 on create, and nothing is stored', async () => {
      const e = email();
      assertFieldError(await call('POST', USERS, { Email: e, Password: 'short-9ch' }), 'Password');
      assert.equal(await t.container.users.findIdByEmail(e), undefined);
      // Exactly 10 is enough.
      await create({ Email: email(), Password: '0123456789' });
    });

    it('a rejected Password is not echoed back in the error (no AttemptedValue, not in the Message)', async () => {
      const attempts: [string, Record<string, unknown> | string][] = [
        ['POST', { Email: email(), Password: 'shortpw-1' }],
        ['POST', { Email: email(), Password: 'y'.repeat(1025) }],
        ['POST', { Email: email(), Password: 1234567890123 }],
        ['POST', `Email=${encodeURIComponent(email())}&Password=shortpw-2`],
      ];
      const u = await create({ Email: email(), Password: 'long-enough-password' });
      attempts.push(['PUT', { Id: u.Id, Email: u.Email, Password: 'shortpw-3' }]);
      for (const [method, payload] of attempts) {
        const res = await t.app.inject({
          method: method as 'POST' | 'PUT',
          url: USERS,
          headers: { authorization: t.admin, ...(typeof payload === 'string' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
          payload,
        });
        const a: Answer = { status: res.statusCode, body: res.json(), headers: res.headers, raw: res.body };
        assertFieldError(a, 'Password');
        const entry = a.body.Errors.find((e: { PropertyName: string }) => e.PropertyName === 'Password');
        assert.equal(entry.AttemptedValue, null, `the password was echoed: ${a.raw}`);
        for (const secret of ['shortpw', 'yyyyyyyyyy', '1234567890123']) assert.ok(!a.raw.includes(secret), `the password was echoed: ${a.raw}`);
      }
    });

    it('Password is required on create', async () => {
      assertFieldError(await call('POST', USERS, { Email: email() }), 'Password');
      assertFieldError(await call('POST', USERS, { Email: email(), Password: '' }), 'Password');
    });

    it('a Password under 10 characters → 400 on update, and the old password still works', async () => {
      const e = email();
      const u = await create({ Email: e, Password: 'original-password' });
      assertFieldError(await call('PUT', USERS, { Id: u.Id, Email: e, Password: 'too-short' }), 'Password');
      assert.equal((await passwordGrant(t.app, e, 'original-password')).status, 200);
    });
  });

  describe('Email', () => {
    it('is required (create and update)', async () => {
      assertFieldError(await call('POST', USERS, { Password: 'long-enough-password' }), 'Email');
      const u = await create({ Email: email(), Password: 'long-enough-password' });
      assertFieldError(await call('PUT', USERS, { Id: u.Id, FullName: 'No Email' }), 'Email');
    });

    it('must be an e-mail address', async () => {
      assertFieldError(await call('POST', USERS, { Email: 'not-an-address', Password: 'long-enough-password' }), 'Email');
      assertFieldError(await call('POST', USERS, { Email: '', Password: 'long-enough-password' }), 'Email');
    });

    it('is unique, case-insensitively, on create', async () => {
      const e = email('unique');
      await create({ Email: e, Password: 'long-enough-password' });
      const before = await t.storage.db.selectFrom('users').select('id').execute();
      assertFieldError(await call('POST', USERS, { Email: e, Password: 'long-enough-password' }), 'Email');
      assertFieldError(await call('POST', USERS, { Email: e.toUpperCase(), Password: 'long-enough-password' }), 'Email');
      assertFieldError(await call('POST', USERS, { Email: ADMIN_EMAIL.replace('admin', 'ADMIN'), Password: 'long-enough-password' }), 'Email');
      assert.deepEqual(await t.storage.db.selectFrom('users').select('id').execute(), before);
    });

    it("is unique on update: taking another user's address in another case → 400; changing the case of one's own is fine", async () => {
      const a = email('taken');
      await create({ Email: a, Password: 'long-enough-password' });
      const b = email('mover');
      const u = await create({ Email: b, Password: 'long-enough-password' });
      assertFieldError(await call('PUT', USERS, { Id: u.Id, Email: a.toUpperCase() }), 'Email');
      assert.equal((await call('GET', `${USERS}/${u.Id}`)).body.Email, b);
      const own = await call('PUT', USERS, { Id: u.Id, Email: b.toUpperCase() });
      assert.equal(own.status, 200, own.raw);
      assert.equal((await call('GET', `${USERS}/${u.Id}`)).body.Email, b.toUpperCase());
    });
  });

  describe('Roles and FullAdministrator', () => {
    it('an unknown role name → 400 (create and update)', async () => {
      assertFieldError(await call('POST', USERS, { Email: email(), Password: 'long-enough-password', Roles: ['Resource-List', 'Resource-Fly'] }), 'Roles');
      assertFieldError(await call('POST', USERS, { Email: email(), Password: 'long-enough-password', Roles: 'FullAdministrator' }), 'Roles');
      assertFieldError(await call('POST', USERS, { Email: email(), Password: 'long-enough-password', Roles: ['resource-list'] }), 'Roles');
      const u = await create({ Email: email(), Password: 'long-enough-password', Roles: ['Resource-List'] });
      assertFieldError(await call('PUT', USERS, { Id: u.Id, Email: u.Email, Roles: ['Nope-Read'] }), 'Roles');
      assert.deepEqual((await call('GET', `${USERS}/${u.Id}`)).body.Roles, ['Resource-List']);
    });

    it('FullAdministrator and Roles round-trip through create, get, list, batch and update', async () => {
      const e = email('roles');
      const roles = ['CoworkerMsOfficeCalendar-List', 'CoworkerMsOfficeCalendar-Read', 'Coworker-Edit'];
      const created = await create({ Email: e, Password: 'long-enough-password', FullAdministrator: false, Roles: roles });
      assert.equal(created.FullAdministrator, false);
      assert.deepEqual(created.Roles, roles);
      const one = (await call('GET', `${USERS}/${created.Id}`)).body;
      assert.equal(one.FullAdministrator, false);
      assert.deepEqual(one.Roles, roles);
      const listed = (await call('GET', `${USERS}?User_Email=${encodeURIComponent(e)}`)).body.Records;
      assert.equal(listed.length, 1);
      assert.deepEqual(listed[0].Roles, roles);
      assert.deepEqual((await call('GET', `${USERS}?id=[${created.Id}]`)).body[0].Roles, roles);

      const put = await call('PUT', `${USERS}/${created.Id}`, { Email: e, FullAdministrator: true, Roles: ['Resource-Delete'] });
      assert.equal(put.status, 200, put.raw);
      const updated = (await call('GET', `${USERS}/${created.Id}`)).body;
      assert.equal(updated.FullAdministrator, true);
      assert.deepEqual(updated.Roles, ['Resource-Delete']);

      // PUT is a full replacement: leaving Roles out clears them.
      assert.equal((await call('PUT', USERS, { Id: created.Id, Email: e, FullAdministrator: true })).status, 200);
      assert.deepEqual((await call('GET', `${USERS}/${created.Id}`)).body.Roles, []);
    });

    it('a single role name is accepted as a one-role list, and FullAdministrator takes "true"', async () => {
      const u = await create({ Email: email(), Password: 'long-enough-password', Roles: 'Resource-Read', FullAdministrator: 'true' });
      assert.deepEqual(u.Roles, ['Resource-Read']);
      assert.equal(u.FullAdministrator, true);
    });

    it('roles and FullAdministrator take effect at once, on tokens already issued', async () => {
      const e = email('live');
      const u = await create({ Email: e, Password: 'long-enough-password', Roles: [] });
      const grant = await passwordGrant(t.app, e, 'long-enough-password');
      const bearer = `Bearer ${grant.body.access_token}`;
      const probe = () => send(t.app, { method: 'GET', url: '/api/spaces/resources' }, bearer);
      const usersProbe = () => send(t.app, { method: 'GET', url: USERS }, bearer);
      assertFailure(await probe(), 403);
      assert.equal((await call('PUT', USERS, { Id: u.Id, Email: e, Roles: ['Resource-List'] })).status, 200);
      assert.equal((await probe()).status, 200);
      assertFailure(await usersProbe(), 403);
      assert.equal((await call('PUT', USERS, { Id: u.Id, Email: e, FullAdministrator: true })).status, 200);
      assert.equal((await usersProbe()).status, 200);
      assert.equal((await call('PUT', USERS, { Id: u.Id, Email: e, FullAdministrator: false })).status, 200);
      assertFailure(await usersProbe(), 403);
      assertFailure(await probe(), 403);
    });
  });

  describe('CoworkerId', () => {
    it('must name an existing coworker (create and update); 0 or null means none', async () => {
      const coworker = await createCoworker(t.app, t.admin);
      assertFieldError(await call('POST', USERS, { Email: email(), Password: 'long-enough-password', CoworkerId: 987654 }), 'CoworkerId');
      const u = await create({ Email: email(), Password: 'long-enough-password', CoworkerId: coworker.Id });
      assert.equal(u.CoworkerId, coworker.Id);
      assert.equal((await call('GET', `${USERS}/${u.Id}`)).body.CoworkerId, coworker.Id);
      assertFieldError(await call('PUT', USERS, { Id: u.Id, Email: u.Email, CoworkerId: 987654 }), 'CoworkerId');
      assert.equal((await call('GET', `${USERS}/${u.Id}`)).body.CoworkerId, coworker.Id);
      assert.equal((await call('PUT', USERS, { Id: u.Id, Email: u.Email, CoworkerId: 0 })).status, 200);
      assert.equal((await call('GET', `${USERS}/${u.Id}`)).body.CoworkerId, null);
      const none = await create({ Email: email(), Password: 'long-enough-password', CoworkerId: null });
      assert.equal(none.CoworkerId, null);
    });

    it('a coworker that a user belongs to cannot be deleted', async () => {
      const coworker = await createCoworker(t.app, t.admin);
      await create({ Email: email(), Password: 'long-enough-password', CoworkerId: coworker.Id });
      const del = await call('DELETE', `/api/spaces/coworkers/${coworker.Id}`);
      assertFieldError(del, 'Id');
      assert.equal((await call('GET', `/api/spaces/coworkers/${coworker.Id}`)).status, 200);
    });
  });

  describe('the last full administrator', () => {
    it('cannot be deleted or demoted (400), and stays as it was', async (ctx) => {
      // Only the built-in administrator is a full administrator in a fresh app.
      const fresh = await testApp(ctx);
      const freshAdminId = (await fresh.container.users.findIdByEmail(ADMIN_EMAIL))!;
      const c = (method: 'PUT' | 'DELETE' | 'GET', url: string, payload?: Record<string, unknown>) =>
        send(fresh.app, { method, url, ...(payload ? { payload } : {}) }, fresh.admin);
      assertFieldError(await c('DELETE', `${USERS}/${freshAdminId}`), 'Id');
      assertFieldError(await c('PUT', USERS, { Id: freshAdminId, Email: ADMIN_EMAIL, FullAdministrator: false }), 'FullAdministrator');
      // PUT replaces every field: leaving FullAdministrator out is a demotion too.
      assertFieldError(await c('PUT', `${USERS}/${freshAdminId}`, { Email: ADMIN_EMAIL, Roles: ['Resource-List'] }), 'FullAdministrator');
      const still = await c('GET', `${USERS}/${freshAdminId}`);
      assert.equal(still.body.FullAdministrator, true);
      assert.deepEqual(still.body.Roles, []);
      // Keeping it an administrator is fine.
      assert.equal((await c('PUT', USERS, { Id: freshAdminId, Email: ADMIN_EMAIL, FullAdministrator: true, FullName: 'Root' })).status, 200);

      // With a second administrator, the first can be demoted, and then the second is the last one.
      const second = await fresh.userWithRoles([], { fullAdministrator: true });
      assert.equal((await c('PUT', USERS, { Id: freshAdminId, Email: ADMIN_EMAIL, FullAdministrator: false })).status, 200);
      const secondBasic = basic(second.email, second.password);
      assertFieldError(await send(fresh.app, { method: 'DELETE', url: `${USERS}/${second.id}` }, secondBasic), 'Id');
      assertFieldError(await send(fresh.app, { method: 'PUT', url: USERS, payload: { Id: second.id, Email: second.email } }, secondBasic), 'FullAdministrator');
      // Promote the first again; now the second can go.
      assert.equal((await send(fresh.app, { method: 'PUT', url: USERS, payload: { Id: freshAdminId, Email: ADMIN_EMAIL, FullAdministrator: true } }, secondBasic)).status, 200);
      assert.equal((await c('DELETE', `${USERS}/${second.id}`)).status, 200);
      assert.equal((await c('GET', `${USERS}/${second.id}`)).status, 404);
    });
  });

  describe('the last full administrator under concurrency', () => {
    it('concurrent demotions and deletions of the last two administrators always leave one', async (ctx) => {
      const fresh = await testApp(ctx);
      let remaining = (await fresh.container.users.findIdByEmail(ADMIN_EMAIL))!;
      const emailOf = async (id: number) => (await fresh.container.userService.get(id))!.Email;
      const kinds = [['demote', 'demote'], ['delete', 'delete'], ['demote', 'delete'], ['delete', 'demote']] as const;
      for (let round = 0; round < 12; round++) {
        const other = await fresh.userWithRoles([], { fullAdministrator: true });
        assert.deepEqual((await fresh.container.users.fullAdministratorIds()).sort((x, y) => x - y), [remaining, other.id].sort((x, y) => x - y));
        const [kindA, kindB] = kinds[round % kinds.length]!;
        const emails = new Map([[remaining, await emailOf(remaining)], [other.id, other.email]]);
        const act = (kind: 'demote' | 'delete', id: number) =>
          kind === 'delete'
            ? send(fresh.app, { method: 'DELETE', url: `${USERS}/${id}` }, other.auth)
            : send(fresh.app, { method: 'PUT', url: USERS, payload: { Id: id, Email: emails.get(id), FullAdministrator: false } }, other.auth);
        const answers = await Promise.all([act(kindA, remaining), act(kindB, other.id)]);
        const admins = await fresh.container.users.fullAdministratorIds();
        const raw = answers.map((a) => a.raw).join(' | ');
        assert.equal(admins.length, 1, `round ${round} (${kindA}/${kindB}) left ${admins.length} full administrators: ${raw}`);
        // One wins; the other is refused as the last administrator (400), or, when the caller's own demotion or
        // deletion landed before its second request was authorised, as no longer an administrator (403/401).
        assert.equal(answers.filter((a) => a.status === 200).length, 1, raw);
        for (const a of answers.filter((x) => x.status !== 200)) {
          if (a.status === 400) assertFailure(a, 400, /last full administrator/);
          else assert.ok(a.status === 403 || a.status === 401, raw);
        }
        remaining = admins[0]!;
      }
    });
  });

  describe('not found', () => {
    it('GET, PUT and DELETE of an unknown user → 404', async () => {
      assertFailure(await call('GET', `${USERS}/999999`), 404);
      assertFailure(await call('PUT', USERS, { Id: 999999, Email: email() }), 404);
      assertFailure(await call('DELETE', `${USERS}/999999`), 404);
    });
  });

  it('the administrator from the harness still logs in after all of this', async () => {
    assert.equal((await passwordGrant(t.app, ADMIN_EMAIL, ADMIN_PASSWORD)).status, 200);
  });
});
