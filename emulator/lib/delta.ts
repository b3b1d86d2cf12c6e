/**
 * calendarView/delta: a round of pages (@odata.nextLink with $skiptoken) ending in an @odata.deltaLink
 * ($deltatoken). A delta token remembers what the client has seen (item id → version) in the fixed window; the
 * next round returns new/changed items in full and `@removed` tombstones for items that left the window or were
 * deleted/cancelled. Unknown or invalidated tokens answer 410 syncStateNotFound; tokens older than
 * settings.deltaTokenMaxAgeMs answer 410 resyncRequired.
 */
import type { EmulatorContext } from './context.js';
import { GraphError } from './errors.js';
import { instanceVersion, renderEvent, type RenderOptions } from './events.js';
import type { CollectionPage, DeltaRemovedEvent, GraphEvent } from './graph-types.js';
import { randomToken } from './ids.js';

interface DeltaState {
  token: string;
  userId: string;
  calendarId: string;
  windowStart: number;
  windowEnd: number;
  snapshot: Map<string, string>;
  createdAt: number;
  /** Query string of the first request of the sync (for the Location header of a 410). */
  initialQuery: string;
}

interface DeltaRound {
  skiptoken: string;
  items: (GraphEvent | DeltaRemovedEvent)[];
  offset: number;
  pageSize: number;
  next: Omit<DeltaState, 'token' | 'createdAt'>;
  userId: string;
  calendarId: string;
}

export interface DeltaRequest {
  userId: string;
  calendarId: string;
  /** Absolute URL of the …/calendarView/delta endpoint as called (no query), used to build links. */
  linkBase: string;
  pageSize: number | null;
  render: RenderOptions;
}

export class DeltaService {
  private readonly states = new Map<string, DeltaState>();
  private readonly rounds = new Map<string, DeltaRound>();

  constructor(private readonly ctx: EmulatorContext) {}

  private gone(code: 'syncStateNotFound' | 'resyncRequired', message: string, location?: string): GraphError {
    return new GraphError(410, code, message, location ? { location } : {});
  }

  private pageSize(req: DeltaRequest): number {
    const n = req.pageSize ?? this.ctx.settings.deltaDefaultPageSize;
    return Math.max(1, Math.min(n, 1000));
  }

  /** First request of a sync: everything in the window. */
  initial(req: DeltaRequest, windowStart: number, windowEnd: number, initialQuery: string): CollectionPage<GraphEvent | DeltaRemovedEvent> {
    if (!(windowEnd > windowStart)) throw new GraphError(400, 'ErrorInvalidParameter', 'The value of EndDateTime must be later than StartDateTime.');
    return this.startRound(req, { userId: req.userId, calendarId: req.calendarId, windowStart, windowEnd, snapshot: new Map(), initialQuery });
  }

  /** A request with $deltatoken: changes since that token. */
  fromDeltaToken(req: DeltaRequest, token: string): CollectionPage<GraphEvent | DeltaRemovedEvent> {
    const state = this.states.get(token);
    if (!state || state.userId !== req.userId || state.calendarId !== req.calendarId) {
      throw this.gone('syncStateNotFound', 'The sync state generation is not found. Restart the synchronization with a new initial request.');
    }
    if (this.ctx.clock.now() - state.createdAt > this.ctx.settings.deltaTokenMaxAgeMs) {
      this.states.delete(token);
      throw this.gone('resyncRequired', 'The delta token has expired. Resync required: start a full synchronization again.', `${req.linkBase}?${state.initialQuery}`);
    }
    return this.startRound(req, state);
  }

  /** A request with $skiptoken: the next page of a round. */
  fromSkipToken(req: DeltaRequest, token: string, pageSizeFromRequest: boolean): CollectionPage<GraphEvent | DeltaRemovedEvent> {
    const round = this.rounds.get(token);
    if (!round || round.userId !== req.userId || round.calendarId !== req.calendarId) {
      throw this.gone('syncStateNotFound', 'The sync state generation is not found. Restart the synchronization with a new initial request.');
    }
    if (pageSizeFromRequest) round.pageSize = this.pageSize(req);
    this.rounds.delete(token);
    return this.page(req, round);
  }

  private startRound(req: DeltaRequest, base: Omit<DeltaState, 'token' | 'createdAt'>): CollectionPage<GraphEvent | DeltaRemovedEvent> {
    const instances = this.ctx.events.instancesInWindow(base.calendarId, base.windowStart, base.windowEnd);
    const items: (GraphEvent | DeltaRemovedEvent)[] = [];
    const nextSnapshot = new Map<string, string>();
    for (const inst of instances) {
      const v = instanceVersion(inst);
      nextSnapshot.set(inst.id, v);
      // Graph names the type on every delta item, not only on @removed ones.
      if (base.snapshot.get(inst.id) !== v) items.push({ '@odata.type': '#microsoft.graph.event', ...renderEvent(inst, req.render) });
    }
    for (const id of base.snapshot.keys()) {
      if (!nextSnapshot.has(id)) items.push({ '@odata.type': '#microsoft.graph.event', id, '@removed': { reason: 'deleted' } });
    }
    const round: DeltaRound = {
      skiptoken: '',
      items,
      offset: 0,
      pageSize: this.pageSize(req),
      next: { ...base, snapshot: nextSnapshot },
      userId: base.userId,
      calendarId: base.calendarId,
    };
    return this.page(req, round);
  }

  private page(req: DeltaRequest, round: DeltaRound): CollectionPage<GraphEvent | DeltaRemovedEvent> {
    const value = round.items.slice(round.offset, round.offset + round.pageSize);
    round.offset += value.length;
    const context = `${req.linkBase.split('/v1.0/')[0]}/v1.0/$metadata#Collection(event)`;
    if (round.offset < round.items.length) {
      round.skiptoken = `EMUskip${randomToken(24)}`;
      this.rounds.set(round.skiptoken, round);
      return { '@odata.context': context, '@odata.nextLink': `${req.linkBase}?$skiptoken=${round.skiptoken}`, value };
    }
    const state: DeltaState = { ...round.next, token: `EMUdelta${randomToken(24)}`, createdAt: this.ctx.clock.now() };
    this.states.set(state.token, state);
    return { '@odata.context': context, '@odata.deltaLink': `${req.linkBase}?$deltatoken=${state.token}`, value };
  }

  /** Makes delta tokens (and open rounds) of a mailbox — or all — unusable: the next call answers 410. */
  invalidate(userId?: string): number {
    let n = 0;
    for (const [k, s] of this.states) if (!userId || s.userId === userId) this.states.delete(k), n++;
    for (const [k, r] of this.rounds) if (!userId || r.userId === userId) this.rounds.delete(k), n++;
    return n;
  }

  get tokenCount(): number {
    return this.states.size;
  }

  clear(): void {
    this.states.clear();
    this.rounds.clear();
  }
}
