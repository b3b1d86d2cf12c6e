/**
 * Compile a Kysely query once and run it many times with new arguments. Hot paths (auth lookups, get by id)
 * skip rebuilding and recompiling the query tree per request; the SQL still comes from Kysely.
 */
import type { Compilable, Kysely } from 'kysely';

export function preparedQuery<Row, Args extends unknown[]>(
  db: Kysely<any>,
  build: (...args: Args) => Compilable<Row>,
  arity: Args['length'],
): (...args: Args) => Promise<Row[]> {
  const markers = Array.from({ length: arity }, (_, i) => `\u0000arg${i}\u0000`);
  const compiled = build(...(markers as unknown as Args)).compile();
  const positions = compiled.parameters.map((p) => markers.indexOf(p as string));
  if (markers.some((_, i) => !positions.includes(i))) throw new Error('preparedQuery: an argument is not used as a parameter');
  return async (...args: Args) => {
    const parameters = positions.map((pos, i) => (pos < 0 ? compiled.parameters[i] : args[pos]));
    const result = await db.executeQuery<Row>({ ...compiled, parameters });
    return result.rows;
  };
}
