/** Faults injected into answers of the emulator's own endpoints (Graph and token endpoint). */
export interface FaultSpec {
  /** HTTP method to match (any when absent). */
  method?: string;
  /** Case-insensitive substring of the request path (any when absent), e.g. "/calendarView/delta" or "/subscriptions". */
  path?: string;
  /** Regular expression (source text) tested against the path. */
  pathRegex?: string;
  /** Answer with this status instead of the real answer (e.g. 429, 503). Absent = only delay. */
  status?: number;
  /** Retry-After header value in seconds (or an HTTP date). */
  retryAfter?: number | string;
  /** Wait this long before answering (slow answer). */
  delayMs?: number;
  /** How many matching requests it applies to (default 1; 0 or negative = unlimited). */
  times?: number;
  /** Graph error code and message of the injected answer. */
  code?: string;
  message?: string;
}

export interface FaultRule extends FaultSpec {
  id: number;
  remaining: number;
  hits: number;
}

const DEFAULT_CODES: Record<number, [string, string]> = {
  429: ['TooManyRequests', 'Please retry again later.'],
  500: ['InternalServerError', 'An internal server error occurred.'],
  502: ['BadGateway', 'Bad gateway.'],
  503: ['ServiceUnavailable', 'Service unavailable. Please retry later.'],
  504: ['GatewayTimeout', 'Gateway timeout.'],
};

export function defaultFaultError(status: number): [string, string] {
  return DEFAULT_CODES[status] ?? ['FaultInjected', `Fault injected by the Graph emulator (${status}).`];
}

export class FaultInjector {
  private seq = 0;
  rules: FaultRule[] = [];

  add(spec: FaultSpec): FaultRule {
    if (spec.pathRegex) new RegExp(spec.pathRegex); // validate early
    const times = spec.times ?? 1;
    const rule: FaultRule = { ...spec, id: ++this.seq, remaining: times > 0 ? times : Infinity, hits: 0 };
    this.rules.push(rule);
    return rule;
  }

  /** First active rule matching the request, consumed by one. */
  take(method: string, path: string): FaultRule | null {
    const p = path.toLowerCase();
    for (const r of this.rules) {
      if (r.remaining <= 0) continue;
      if (r.method && r.method.toUpperCase() !== method.toUpperCase()) continue;
      if (r.path && !p.includes(r.path.toLowerCase())) continue;
      if (r.pathRegex && !new RegExp(r.pathRegex, 'i').test(path)) continue;
      r.remaining -= 1;
      r.hits += 1;
      return r;
    }
    return null;
  }

  remove(id: number): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length !== before;
  }

  clear(): void {
    this.rules = [];
  }
}
