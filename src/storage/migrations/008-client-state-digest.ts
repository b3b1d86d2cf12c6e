import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/** clientState is kept only as its SHA-256 digest (base64url): the plain values stored so far are replaced. */
export function clientStateDigest(_dialect: Dialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      const rows = await db.selectFrom('graph_connections').select(['calendar_record_id', 'client_state']).where('client_state', 'is not', null).execute();
      for (const r of rows) {
        const digest = createHash('sha256').update(String(r.client_state)).digest('base64url');
        await db.updateTable('graph_connections').set({ client_state: digest }).where('calendar_record_id', '=', r.calendar_record_id).execute();
      }
    },
    async down(): Promise<void> {
      throw new Error('calbridge migrations are forward-only');
    },
  };
}
