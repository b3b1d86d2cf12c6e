import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { testApp, basic } from '../helpers/app.js';
import { tempDir } from '../helpers/cleanup.js';
import { processDatabaseEnv } from '../helpers/database.js';

const dataDir = tempDir({ after }, 'calbridge-cli-');
const env = { ...process.env, ...(await processDatabaseEnv({ DATA_DIR: dataDir })), SCRYPT_COST: '1024' };

function users(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/users.ts', ...args], { env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('the users command line manages users in the service database, with the API rules', async (ctx) => {
  let r = users('add', 'boss@cli.test', '--admin', '--password', 'boss-password-1');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /Added user \d+ boss@cli\.test \(full administrator\)/);

  r = users('add', 'ops@cli.test', '--roles', 'CoworkerMsOfficeCalendar-List');
  assert.equal(r.code, 0, r.err);
  const generated = /Password \(shown once\): (\S+)/.exec(r.out)?.[1];
  assert.ok(generated && generated.length >= 10, 'a generated password is printed once');

  assert.notEqual(users('add', 'x@cli.test', '--roles', 'Nope-List').code, 0, 'unknown roles are refused');
  assert.notEqual(users('add', 'ops@cli.test').code, 0, 'duplicate e-mails are refused');
  assert.notEqual(users('add', 'y@cli.test', '--password', 'short').code, 0, 'short passwords are refused');

  r = users('list');
  assert.match(r.out, /boss@cli\.test\s+full administrator/);
  assert.match(r.out, /ops@cli\.test\s+CoworkerMsOfficeCalendar-List/);
  assert.doesNotMatch(r.out, /scrypt|password/i);

  // The service (same database) accepts the generated password and the roles.
  const t = await testApp(ctx, { dir: dataDir });
  const list = await t.app.inject({ method: 'GET', url: '/api/spaces/coworkermsofficecalendars', headers: { authorization: basic('ops@cli.test', generated!) } });
  assert.equal(list.statusCode, 200);
  const create = await t.app.inject({ method: 'POST', url: '/api/spaces/resources', headers: { authorization: basic('ops@cli.test', generated!) }, payload: { Name: 'R' } });
  assert.equal(create.statusCode, 403);
  await t.close();

  r = users('set-roles', 'ops@cli.test', '--roles', 'Resource-Create,Resource-List');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /roles: Resource-Create, Resource-List/);

  r = users('set-password', 'ops@cli.test', '--password', 'a-new-password-2');
  assert.equal(r.code, 0, r.err);

  const t2 = await testApp(ctx, { dir: dataDir });
  const oldPw = await t2.app.inject({ method: 'GET', url: '/api/spaces/resources', headers: { authorization: basic('ops@cli.test', generated!) } });
  assert.equal(oldPw.statusCode, 401);
  const newPw = await t2.app.inject({ method: 'POST', url: '/api/spaces/resources', headers: { authorization: basic('ops@cli.test', 'a-new-password-2') }, payload: { Name: 'R' } });
  assert.equal(newPw.statusCode, 200);
  await t2.close();

  // The last full administrator can be neither demoted nor removed.
  assert.notEqual(users('set-roles', 'boss@cli.test', '--no-admin').code, 0);
  r = users('remove', 'boss@cli.test');
  assert.notEqual(r.code, 0);
  assert.match(r.err, /last full administrator/);
  assert.equal(users('remove', 'ops@cli.test').code, 0);
  assert.doesNotMatch(users('list').out, /ops@cli\.test/);
  assert.notEqual(users('frobnicate').code, 0);
});
