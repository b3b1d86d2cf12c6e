import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../../src/app.js';
import { createContainer } from '../../src/container.js';
import { migrate, openPostgres, openSqlite } from '../../src/storage/database.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, TEST_SCRYPT_COST, basic, testConfig } from '../helpers/app.js';
import { createCalendar, createCoworker, createResource } from '../helpers/factories.js';
import { postgresUrlFor, testDatabaseUrl } from '../helpers/database.js';

async function appOn(storage: ReturnType<typeof openSqlite>) {
  await migrate(storage);
  const container = createContainer(storage, { scryptCost: TEST_SCRYPT_COST });
  if ((await container.users.count()) === 0) {
    await container.userService.create({ Email: ADMIN_EMAIL, Password: ADMIN_PASSWORD, FullAdministrator: true }, { userId: 0, email: 'test' });
  }
  return buildApp(testConfig, container);
}

test('npm run migrate-to-postgres copies every record, keeps ids, and the service continues on PostgreSQL', {
  skip: !testDatabaseUrl && 'needs PostgreSQL',
  timeout: 120_000,
}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'calbridge-migrate-'));
  const file = path.join(dir, 'calbridge.db');
  const sqlite = openSqlite({ file });
  const app = await appOn(sqlite);
  const admin = basic(ADMIN_EMAIL, ADMIN_PASSWORD);
  const resource = await createResource(app, admin);
  const coworker = await createCoworker(app, admin, { FullName: 'Grace Hopper' });
  const calendars = [];
  for (let i = 0; i < 2500; i++) calendars.push(await createCalendar(app, admin, resource.Id, { CoworkerId: i % 2 ? coworker.Id : null }));
  await app.inject({ method: 'DELETE', url: `/api/spaces/coworkermsofficecalendars/${calendars[5]!.Id}`, headers: { authorization: admin } });
  await app.close();
  await sqlite.close();

  const url = await postgresUrlFor(path.join(dir, 'target'));
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/migrate-to-postgres.ts', '--from', file, '--to', url], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /coworker_ms_office_calendars: 2499 \/ 2499 copied/);

  const again = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/migrate-to-postgres.ts', '--from', file, '--to', url], { encoding: 'utf8' });
  assert.notEqual(again.status, 0, 'a second copy into a non-empty database is refused');

  const pg = openPostgres({ url });
  const pgApp = await appOn(pg);
  try {
    const got = await pgApp.inject({ method: 'GET', url: `/api/spaces/coworkermsofficecalendars/${calendars[1]!.Id}`, headers: { authorization: admin } });
    assert.equal(got.statusCode, 200, 'the administrator (and its password) came along');
    assert.deepEqual(got.json(), calendars[1]);
    const list = await pgApp.inject({ method: 'GET', url: '/api/spaces/coworkermsofficecalendars?CoworkerMsOfficeCalendar_Coworker_FullName=hopper&size=1', headers: { authorization: admin } });
    assert.equal(list.json().TotalItems, 1249, 'odd-numbered records have the coworker; number 5 was deleted');
    const next = await createCalendar(pgApp, admin, resource.Id);
    assert.ok(next.Id > calendars[calendars.length - 1]!.Id, 'new ids continue after the copied ones');
  } finally {
    await pgApp.close();
    await pg.close();
  }
});
