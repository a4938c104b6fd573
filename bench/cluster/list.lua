-- Container listing pages: GET BASE?format=json&limit=LIMIT&marker=o{random},
-- names o000000..o{ROWS-1} (ROWS rows in the container).
-- wrk ... -s list.lua URL -- BASE TOKEN ROWS LIMIT
function init(args)
  base, token, rows, limit = args[1], args[2], tonumber(args[3]), tonumber(args[4])
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
  hdrs = { ["X-Auth-Token"] = token }
end
function request()
  local m = math.random(0, rows - limit - 1)
  return wrk.format("GET", string.format("%s?format=json&limit=%d&marker=o%06d", base, limit, m), hdrs)
end
