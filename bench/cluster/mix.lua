-- PCT% GETs of random hot objects BASE/GTAG-{1..T}-{4..N-1}, the rest 4 KiB PUTs to
-- unique names BASE/PTAG-{thread}-{n}.
-- wrk ... -s mix.lua URL -- BASE TOKEN GTAG T N PTAG PCT
local seq = 0
function setup(thread)
  seq = seq + 1
  thread:set("tid", seq)
end
function init(args)
  base, token, gtag, T, N, ptag, pct = args[1], args[2], args[3], tonumber(args[4]),
      tonumber(args[5]), args[6], tonumber(args[7])
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
  body = string.rep("x", 4096)
  ghdrs = { ["X-Auth-Token"] = token }
  phdrs = { ["X-Auth-Token"] = token, ["Content-Type"] = "application/octet-stream" }
  n = 0
end
function request()
  if math.random(1, 100) <= pct then
    return wrk.format("GET", base .. "/" .. gtag .. "-" .. math.random(1, T) .. "-" .. math.random(4, N - 1), ghdrs)
  end
  n = n + 1
  return wrk.format("PUT", base .. "/" .. ptag .. "-" .. tid .. "-" .. n, phdrs, body)
end
