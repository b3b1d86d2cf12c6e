-- (c) List filtered by an indexed equality: ?CoworkerMsOfficeCalendar_Resource=<1..10000>&page=<1..3>&size=20
-- (about 100 records per resource over 1M rows).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
request = function()
  return wrk.format("GET", bench.path .. "?" .. bench.resourceParam .. "=" .. math.random(1, 10000) ..
    "&page=" .. math.random(1, 3) .. "&size=20")
end
