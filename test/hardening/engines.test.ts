/** No installed package may need a newer Node than package.json's `engines` promises. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';

test('every package in the lockfile runs on the oldest Node that engines allows', () => {
  const require = createRequire(import.meta.url);
  const semver = require('semver') as { satisfies(v: string, range: string): boolean; minVersion(range: string): { version: string } };
  const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
  const oldest = semver.minVersion(pkg.engines.node).version;
  const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { engines?: { node?: string } }> };
  const tooNew = Object.entries(lock.packages)
    .filter(([name, p]) => name && p.engines?.node && !semver.satisfies(oldest, p.engines.node))
    .map(([name, p]) => `${name} needs node ${p.engines!.node}`);
  assert.deepEqual(tooNew, [], `engines says node ${pkg.engines.node}`);
});
