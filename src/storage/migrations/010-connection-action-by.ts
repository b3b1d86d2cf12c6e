import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * graph_connections.action_by: who must act on the connection's state ('operator', 'member' or NULL), written with
 * every state change from modules/graph/connection-states.ts's table. Existing rows: reauth_required is the member's;
 * the rest stay NULL (their next failure says whose it is).
 */
export function connectionActionBy(_dialect: Dialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('graph_connections').addColumn('action_by', 'text').execute();
      await db.updateTable('graph_connections').set({ action_by: 'member' }).where('state', '=', 'reauth_required').execute();
    },
    async down(): Promise<void> {
      throw new Error('calbridge migrations are forward-only');
    },
  };
}
