/**
 * Compile a Kysely query once and run it many times with new arguments. Hot paths (auth lookups, get by id, inserts,
 * list pages) skip rebuilding and recompiling the query tree per request; the SQL still comes from Kysely. On
 * PostgreSQL they also run as named prepared statements.
 */
import type { Compilable, Kysely } from 'kysely';
import type { Executor } from './unit-of-work.js';

export interface PreparedQuery<Row, Args extends unknown[]> {
  (...args: Args): Promise<Row[]>;
  /** The SQL text (with the arguments as parameters). */
  readonly sql: string;
  /** The same query on another executor (a transaction). */
  on(executor: Executor, ...args: Args): Promise<Row[]>;
}

/**
 * SQL texts that run as named prepared statements on PostgreSQL: parsed and planned once per pooled connection instead
 * of on every call (Kysely over `pg` sends unnamed statements). Only queries built once register here: the code's
 * own, and one per list shape (RecordRepository, itself capped); the cap bounds what a connection keeps prepared.
 * `SELECT *` is never named: a prepared statement keeps the columns it was prepared with, so a migration that adds a
 * column (run by another process) would fail it with "cached plan must not change result type".
 */
const statementNames = new Map<string, string>();
const MAX_NAMED_STATEMENTS = 500;

export function nameStatement(sqlText: string): void {
  if (/\bselect \*/i.test(sqlText)) return;
  if (!statementNames.has(sqlText) && statementNames.size < MAX_NAMED_STATEMENTS) statementNames.set(sqlText, `calbridge_${statementNames.size + 1}`);
}

/** The prepared statement's name for this SQL text, if it has one. */
export function statementName(sqlText: string): string | undefined {
  return statementNames.get(sqlText);
}

export function preparedQuery<Row, Args extends unknown[]>(
  db: Kysely<any>,
  build: (...args: Args) => Compilable<Row>,
  arity: Args['length'],
): PreparedQuery<Row, Args> {
  const markers = Array.from({ length: arity }, (_, i) => `\u0000arg${i}\u0000`);
  const compiled = build(...(markers as unknown as Args)).compile();
  const positions = compiled.parameters.map((p) => markers.indexOf(p as string));
  if (markers.some((_, i) => !positions.includes(i))) throw new Error('preparedQuery: an argument is not used as a parameter');
  nameStatement(compiled.sql);
  const on = async (executor: Executor | Kysely<any>, ...args: Args) => {
    const parameters = positions.map((pos, i) => (pos < 0 ? compiled.parameters[i] : args[pos]));
    const result = await executor.executeQuery<Row>({ ...compiled, parameters });
    return result.rows;
  };
  const run = ((...args: Args) => on(db, ...args)) as PreparedQuery<Row, Args> & { sql: string };
  run.on = on;
  run.sql = compiled.sql;
  return run;
}
