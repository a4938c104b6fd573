-- PUTs of 4 KiB (or SIZE) bodies to unique names BASE/TAG-{thread}-{n} through a proxy.
-- wrk ... -s put.lua URL -- BASE TOKEN TAG [SIZE]  (SIZE bytes, 4096 by default)
-- Prints "THREADS t MINCOUNT n" at the end: names TAG-{1..t}-{0..n-1} were built
-- (the last few may still have been in flight when wrk stopped).
local threads, seq = {}, 0
function setup(thread)
  seq = seq + 1
  thread:set("tid", seq)
  table.insert(threads, thread)
end
function init(args)
  base, token, tag = args[1], args[2], args[3]
  body = string.rep("x", tonumber(args[4] or "4096"))
  hdrs = { ["X-Auth-Token"] = token, ["Content-Type"] = "application/octet-stream" }
  n = 0
end
function request()
  local i = n
  n = n + 1
  return wrk.format("PUT", base .. "/" .. tag .. "-" .. tid .. "-" .. i, hdrs, body)
end
function done(summary, latency, requests)
  local m
  for _, t in ipairs(threads) do
    local c = t:get("n")
    if m == nil or c < m then m = c end
  end
  io.write(string.format("THREADS %d MINCOUNT %d\n", #threads, m))
end
