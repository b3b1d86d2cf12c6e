/** Test helpers: an emulator with a seeded tenant, Graph calls over real HTTPS, and a real local webhook receiver. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGraphEmulator, trustEmulatorCertificate, type AnyNotification, type GraphEmulator, type GraphEmulatorOptions, type NotificationCollection, type SeedResult, type UserRecord } from '../index.js';

trustEmulatorCertificate();

export interface Env {
  emu: GraphEmulator;
  seed: SeedResult;
  appToken: string;
  adele: UserRecord;
  alex: UserRecord;
  room: UserRecord;
}

/** Fast settings for tests: short handshake limit, quick retries. */
export const FAST: GraphEmulatorOptions = {
  validationTimeoutMs: 1_000,
  notificationTimeoutMs: 500,
  notificationRetryTimeoutMs: 500,
  notificationRetryDelaysMs: [50, 100],
  notificationBatchDelayMs: 20,
};

export async function startEnv(opts: GraphEmulatorOptions = {}): Promise<Env> {
  const emu = await startGraphEmulator({ ...FAST, ...opts });
  const seed = emu.control.seed();
  const [adele, alex, room] = seed.users as [UserRecord, UserRecord, UserRecord];
  return { emu, seed, appToken: emu.control.issueAppToken(seed.app.clientId), adele, alex, room };
}

export interface GraphResponse<T = any> {
  status: number;
  headers: Headers;
  json: T;
  text: string;
}

/** A Graph call over HTTPS with a bearer token. `path` is relative to /v1.0 (or a full URL, e.g. a nextLink). */
export async function graph<T = any>(
  emu: GraphEmulator,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<GraphResponse<T>> {
  const url = path.startsWith('http') ? path : `${emu.url}/v1.0${path}`;
  const res = await fetch(url, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json: any = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface ReceiverAnswer {
  status?: number;
  body?: string;
  contentType?: string;
  delayMs?: number;
}

/** How the receiver answers; return undefined for the default (echo handshakes, 202 to notifications). */
export type ReceiverBehaviour = (req: RecordedRequest) => ReceiverAnswer | undefined;

export class WebhookReceiver {
  readonly requests: RecordedRequest[] = [];
  behaviour: ReceiverBehaviour = () => undefined;
  private readonly waiters: { pred: () => boolean; resolve: () => void }[] = [];

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<WebhookReceiver> {
    const server = http.createServer();
    const r = new WebhookReceiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const u = new URL(req.url ?? '/', 'http://x');
        const rec: RecordedRequest = { method: req.method ?? '', path: u.pathname, query: u.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        r.requests.push(rec);
        const custom = r.behaviour(rec);
        const token = u.searchParams.get('validationToken');
        const answer: ReceiverAnswer = custom ?? (token !== null ? { status: 200, body: token, contentType: 'text/plain; charset=utf-8' } : { status: 202, body: '' });
        const send = (): void => {
          if (res.destroyed) return;
          res.writeHead(answer.status ?? 200, answer.contentType ? { 'content-type': answer.contentType } : {});
          res.end(answer.body ?? '');
          r.check();
        };
        if (answer.delayMs) setTimeout(send, answer.delayMs);
        else send();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  /** Parsed bodies of notification POSTs (not handshakes). */
  collections(path?: string): NotificationCollection[] {
    return this.requests
      .filter((r) => r.method === 'POST' && !r.query.has('validationToken') && (!path || r.path === path) && r.body)
      .map((r) => JSON.parse(r.body) as NotificationCollection);
  }

  items(path?: string): AnyNotification[] {
    return this.collections(path).flatMap((c) => c.value);
  }

  handshakes(path?: string): RecordedRequest[] {
    return this.requests.filter((r) => r.query.has('validationToken') && (!path || r.path === path));
  }

  private check(): void {
    for (const w of [...this.waiters]) {
      if (w.pred()) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  waitFor(pred: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`Timed out waiting for ${what}; received ${this.requests.length} requests`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Plain HTTP call to the control API. */
export async function controlCall<T = any>(emu: GraphEmulator, method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${emu.httpUrl}/_control${path}`, {
    method,
    headers: body !== undefined ? { 'content-type': 'application/json' } : {},
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

export const inMinutes = (emu: GraphEmulator, minutes: number): string => new Date(Date.parse(emu.control.now()) + minutes * 60_000).toISOString();
