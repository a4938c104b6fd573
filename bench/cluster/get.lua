-- GET or HEAD of random objects among BASE/TAG-{1..T}-{4..N-1} (written by put.lua;
-- wrk never sends the very first request thread 1 builds, so TAG-1-0 may be missing).
-- wrk ... -s get.lua URL -- BASE TOKEN TAG T N [METHOD]
function init(args)
  base, token, tag, T, N = args[1], args[2], args[3], tonumber(args[4]), tonumber(args[5])
  method = args[6] or "GET"
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
  hdrs = { ["X-Auth-Token"] = token }
end
function request()
  local t, i = math.random(1, T), math.random(4, N - 1)
  return wrk.format(method, base .. "/" .. tag .. "-" .. t .. "-" .. i, hdrs)
end
