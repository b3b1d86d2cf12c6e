#!/usr/bin/env node
// Runs every test file (test/**/*.test.ts) with Node's test runner through tsx.
// Node 20's --test takes no globs, so the files are listed here. Extra arguments narrow the run:
// `npm test -- test/api` runs the files under test/api.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'node_modules' ? [] : find(full);
    return name.endsWith('.test.ts') ? [full] : [];
  });
}

const roots = process.argv.slice(2).length ? process.argv.slice(2) : ['test'];
const files = roots.flatMap((r) => (statSync(r).isDirectory() ? find(r) : [r])).sort();
if (!files.length) {
  console.error(`No test files under ${roots.join(', ')}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
