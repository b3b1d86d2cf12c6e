// Preloaded into calbridge (node --import) by `npm run bench:bookings`; changes nothing in the app.
// Server-side time of each HTTP request (from the 'request' event to the response's 'finish'), kept apart per kind of
// request: the Graph change-notification webhook (POST /graph/notifications without validationToken), the lifecycle
// webhook, the validation handshakes, GET /api/spaces/bookings and everything else; plus event-loop delay and GC.
// On SIGUSR2 it writes what it gathered since the previous SIGUSR2 to BENCH_TIMER_FILE (JSON) and starts afresh, so
// the benchmark brackets exactly its measured phase.
import fs from 'node:fs';
import http from 'node:http';
import { createHistogram, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const file = process.env.BENCH_TIMER_FILE;
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
let gc = { count: 0, totalMs: 0, maxMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.count++;
    gc.totalMs += e.duration;
    if (e.duration > gc.maxMs) gc.maxMs = e.duration;
  }
}).observe({ entryTypes: ['gc'] });

const KINDS = ['notifications', 'lifecycle', 'validation', 'bookings', 'other'];
const fresh = () => Object.fromEntries(KINDS.map((k) => [k, { h: createHistogram(), non2xx: 0 }]));
let byKind = fresh();

function kindOf(req) {
  const url = req.url ?? '';
  if (url.startsWith('/graph/')) {
    if (url.includes('validationToken=')) return 'validation';
    return url.startsWith('/graph/lifecycle') ? 'lifecycle' : 'notifications';
  }
  if (req.method === 'GET' && url.toLowerCase().startsWith('/api/spaces/bookings')) return 'bookings';
  return 'other';
}

const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function patchedEmit(event, req, res) {
  if (event === 'request') {
    const t0 = process.hrtime.bigint();
    const kind = kindOf(req);
    res.once('finish', () => {
      const slot = byKind[kind];
      slot.h.record(Math.max(1, Number(process.hrtime.bigint() - t0)));
      if (res.statusCode < 200 || res.statusCode > 299) slot.non2xx++;
    });
  }
  return emit.apply(this, arguments);
};

process.on('SIGUSR2', () => {
  const ms = (ns) => +(ns / 1e6).toFixed(2);
  const requests = {};
  for (const k of KINDS) {
    const { h, non2xx } = byKind[k];
    requests[k] = h.count ? { count: h.count, p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), non2xx } : null;
  }
  const snapshot = {
    loopDelayMs: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
    gc: { count: gc.count, totalMs: +gc.totalMs.toFixed(1), maxMs: +gc.maxMs.toFixed(1) },
    heapUsedMb: +(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1),
    requests,
  };
  if (file) fs.writeFileSync(file, JSON.stringify(snapshot));
  loop.reset();
  byKind = fresh();
  gc = { count: 0, totalMs: 0, maxMs: 0 };
});
