-- (b) POST create with a varying valid body: existing ResourceId (1..10000) and CoworkerId (1..50000), an ISO expiry.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
local base = os.time()
request = function()
  n = n + 1
  local expires = os.date("!%Y-%m-%dT%H:%M:%S", base + 86400 + math.random(0, 30 * 86400)) .. string.format(".%03dZ", math.random(0, 999))
  local body = string.format(
    '{"ResourceId":%d,"CoworkerId":%d,"Name":"Bench Writer calendar %d","SubscriptionId":"bench-sub-%d-%d",' ..
    '"CalendarId":"AAMkAGI2benchcal%010dAAAAAAEGAAA=","SubscriptionExpireDate":"%s"}',
    math.random(1, 10000), math.random(1, 50000), n, base, n, n, expires)
  return wrk.format(nil, bench.path, nil, body)
end
