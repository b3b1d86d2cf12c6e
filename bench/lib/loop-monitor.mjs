// Preloaded into the benchmarked server (node --import) by `npm run bench -- --loop-monitor`; changes nothing in the app.
// Measures event-loop delay (how long the loop was blocked between turns), GC pauses, and the server-side time of each
// HTTP request (from the 'request' event to the response's 'finish'), to tell server time from time spent outside. On each SIGUSR2 it writes the
// numbers gathered since the previous SIGUSR2 to BENCH_MONITOR_FILE and starts afresh, so the bench can bracket exactly
// its measured run.
import fs from 'node:fs';
import http from 'node:http';
import { createHistogram, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const file = process.env.BENCH_MONITOR_FILE;
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
let gc = { count: 0, totalMs: 0, maxMs: 0, over20ms: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.count++;
    gc.totalMs += e.duration;
    if (e.duration > gc.maxMs) gc.maxMs = e.duration;
    if (e.duration > 20) gc.over20ms++;
  }
}).observe({ entryTypes: ['gc'] });

let requests = createHistogram();
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function patchedEmit(event, req, res) {
  if (event === 'request') {
    const t0 = process.hrtime.bigint();
    res.once('finish', () => requests.record(Math.max(1, Number(process.hrtime.bigint() - t0))));
  }
  return emit.apply(this, arguments);
};

process.on('SIGUSR2', () => {
  const ms = (ns) => +(ns / 1e6).toFixed(2);
  const snapshot = {
    loop_delay_ms: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
    gc: { count: gc.count, total_ms: +gc.totalMs.toFixed(1), max_ms: +gc.maxMs.toFixed(1), over_20ms: gc.over20ms },
    heap_used_mb: +(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1),
    server_side_ms: requests.count
      ? { count: requests.count, p50: ms(requests.percentile(50)), p99: ms(requests.percentile(99)), max: ms(requests.max) }
      : null,
  };
  if (file) fs.writeFileSync(file, JSON.stringify(snapshot));
  loop.reset();
  requests = createHistogram();
  gc = { count: 0, totalMs: 0, maxMs: 0, over20ms: 0 };
});
