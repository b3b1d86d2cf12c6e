-- (d) List filtered by a Name substring: one of five last names, each in ~1.6% of the records; page 1..5, size 20.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local terms = { "quist", "smith", "jensen", "garcia", "novak" }
request = function()
  return wrk.format("GET", bench.path .. "?" .. bench.nameParam .. "=" .. terms[math.random(1, #terms)] ..
    "&page=" .. math.random(1, 5) .. "&size=20")
end
