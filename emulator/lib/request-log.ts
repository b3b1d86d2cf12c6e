export interface RequestRecord {
  id: number;
  method: string;
  /** Path and query as received. */
  url: string;
  path: string;
  status: number;
  /** Emulator time (ISO). */
  at: string;
  durationMs: number;
  /** Selected headers; the bearer token is shortened. */
  headers: Record<string, string>;
  body?: unknown;
  /** Id of the injected fault that answered, if any. */
  faultId?: number;
}

export interface RequestFilter {
  method?: string;
  /** Substring of the path. */
  path?: string;
  status?: number;
  sinceId?: number;
}

export class RequestLog {
  private seq = 0;
  readonly entries: RequestRecord[] = [];
  constructor(private readonly limit: number) {}

  add(r: Omit<RequestRecord, 'id'>): RequestRecord {
    const rec = { ...r, id: ++this.seq };
    this.entries.push(rec);
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
    return rec;
  }

  list(f: RequestFilter = {}): RequestRecord[] {
    return this.entries.filter(
      (r) =>
        (!f.method || r.method.toUpperCase() === f.method.toUpperCase()) &&
        (!f.path || r.path.toLowerCase().includes(f.path.toLowerCase())) &&
        (f.status === undefined || r.status === f.status) &&
        (f.sinceId === undefined || r.id > f.sinceId),
    );
  }

  clear(): void {
    this.entries.length = 0;
  }
}
