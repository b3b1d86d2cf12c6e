/**
 * Clean-up when a test, a describe block or a file ends. `scope` is the node:test context of a test (`async (ctx) =>`),
 * or `{ after }` of node:test for a describe block or a whole file. What was set up last is undone first: an app
 * closes before the directory it lives in goes away.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dropDatabasesUnder } from './database.js';

export interface Scope {
  after(fn: () => unknown): void;
}

const stacks = new WeakMap<Scope, Array<() => unknown>>();

/** Runs `fn` when `scope` ends, before anything deferred earlier on the same scope. */
export function defer(scope: Scope, fn: () => unknown): void {
  let stack = stacks.get(scope);
  if (!stack) {
    const pending: Array<() => unknown> = [];
    stacks.set(scope, (stack = pending));
    scope.after(async () => {
      const errors: unknown[] = [];
      while (pending.length) {
        try {
          await pending.pop()!();
        } catch (e) {
          errors.push(e);
        }
      }
      if (errors.length === 1) throw errors[0];
      if (errors.length) throw new AggregateError(errors, 'clean-up failed');
    });
  }
  stack.push(fn);
}

/** A new directory under the system's temporary directory. Whoever makes one removes it with `removeTempDir`. */
export function makeTempDir(prefix = 'calbridge-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Removes a temporary directory and, on PostgreSQL runs, the databases made for it (and for directories under it). */
export async function removeTempDir(dir: string): Promise<void> {
  fs.rmSync(dir, { recursive: true, force: true });
  await dropDatabasesUnder(dir);
}

/** A temporary directory that is removed, with its databases, when `scope` ends. */
export function tempDir(scope: Scope, prefix?: string): string {
  const dir = makeTempDir(prefix);
  defer(scope, () => removeTempDir(dir));
  return dir;
}
