/**
 * Compile a Kysely query once and run it many times with new arguments. Hot paths (auth lookups, get by id)
 * skip rebuilding and recompiling the query tree per request; the SQL still comes from Kysely.
 */
import type { Compilable, Kysely } from 'kysely';
import type { Executor } from './unit-of-work.js';

export interface PreparedQuery<Row, Args extends unknown[]> {
  (...args: Args): Promise<Row[]>;
  /** The same query on another executor (a transaction). */
  on(executor: Executor, ...args: Args): Promise<Row[]>;
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
  const on = async (executor: Executor | Kysely<any>, ...args: Args) => {
    const parameters = positions.map((pos, i) => (pos < 0 ? compiled.parameters[i] : args[pos]));
    const result = await executor.executeQuery<Row>({ ...compiled, parameters });
    return result.rows;
  };
  const run = ((...args: Args) => on(db, ...args)) as PreparedQuery<Row, Args>;
  run.on = on;
  return run;
}
