/** SQL for the /connect flow's sign-in attempts. */
import type { Kysely } from 'kysely';
import type { ConnectAttemptTable, Database } from '../../storage/schema.js';
import type { Executor } from '../../storage/unit-of-work.js';

export type ConnectAttempt = Omit<ConnectAttemptTable, 'id'> & { id: number };

export class ConnectAttemptRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: Omit<ConnectAttempt, 'id'>): Promise<number> {
    const r = await this.db.insertInto('connect_attempts').values(row).returning('id').executeTakeFirstOrThrow();
    return Number(r.id);
  }

  async byStateDigest(digest: string): Promise<ConnectAttempt | undefined> {
    return (await this.db.selectFrom('connect_attempts').selectAll().where('state_digest', '=', digest).executeTakeFirst()) as ConnectAttempt | undefined;
  }

  async byId(id: number, db: Executor = this.db): Promise<ConnectAttempt | undefined> {
    return (await db.selectFrom('connect_attempts').selectAll().where('id', '=', id).executeTakeFirst()) as ConnectAttempt | undefined;
  }

  /** Moves an attempt on from `from` (the state is single-use: a second callback finds it moved). */
  async advance(id: number, from: ConnectAttempt['status'], to: ConnectAttempt['status'], fields: Partial<Pick<ConnectAttempt, 'token_cache_sealed' | 'mailbox'>> = {}, db: Executor = this.db): Promise<boolean> {
    const r = await db.updateTable('connect_attempts').set({ status: to, ...fields }).where('id', '=', id).where('status', '=', from).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async deleteExpired(nowIso: string): Promise<void> {
    await this.db.deleteFrom('connect_attempts').where('expires_at', '<', nowIso).execute();
  }
}
