-- Loaded by every calbridge wrk script (dofile, path from BENCH_WRK_DIR): bearer header, random seed, and one
-- machine-readable summary line at the end, read by bench/run.ts.
-- env: BENCH_TOKEN (bearer access token), BENCH_PATH (collection path), BENCH_ROWS (seeded calendar rows),
--      BENCH_RESOURCE_PARAM / BENCH_NAME_PARAM (filter names; the reference server calls them ResourceId / NameContains)
bench = {
  path = os.getenv("BENCH_PATH"),
  rows = tonumber(os.getenv("BENCH_ROWS") or "1"),
  resourceParam = os.getenv("BENCH_RESOURCE_PARAM") or "CoworkerMsOfficeCalendar_Resource",
  nameParam = os.getenv("BENCH_NAME_PARAM") or "CoworkerMsOfficeCalendar_Name",
}
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
math.randomseed(os.time() + math.floor(os.clock() * 1000000))

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON:{"requests":%d,"duration_us":%d,"bytes":%d,"err_connect":%d,"err_read":%d,"err_write":%d,' ..
    '"err_status":%d,"err_timeout":%d,"lat_mean_us":%.1f,"lat_p50_us":%d,"lat_p90_us":%d,"lat_p99_us":%d,"lat_max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
