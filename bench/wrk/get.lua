-- (a) GET one calendar record by a random Id in 1..BENCH_ROWS.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
request = function()
  return wrk.format("GET", bench.path .. "/" .. math.random(1, bench.rows))
end
