-- Fills one container replica with object rows through the backend API, as an
-- object server sends them: PUT /{dev}/{part}/{account}/{container}/o{i} with
-- X-Timestamp, X-Size, X-Content-Type, X-Etag (and swiftlet's
-- X-Backend-Container-Update, which tells a row from an object at that depth).
-- Thread t of T sends the names o{(t-1)*PER .. t*PER-1} in a cycle (so none is
-- skipped) and stops once it has had PER+64 answers; the rows are idempotent
-- (one fixed timestamp). wrk itself runs on to -d: cluster.sh stops it once
-- the replica's object count has reached T*PER.
-- wrk -tT ... -s rows.lua URL -- PATH PER
local seq = 0
function setup(thread)
  seq = seq + 1
  thread:set("tid", seq)
end
function init(args)
  path, per = args[1], tonumber(args[2])
  n, got = 0, 0
  hdrs = { ["X-Timestamp"] = "1764000000.00000", ["X-Size"] = "4096",
           ["X-Content-Type"] = "application/octet-stream",
           ["X-Etag"] = "d41d8cd98f00b204e9800998ecf8427e", ["X-Backend-Container-Update"] = "true",
           ["Content-Length"] = "0" }
end
function request()
  local i = (tid - 1) * per + (n % per)
  n = n + 1
  return wrk.format("PUT", string.format("%s/o%06d", path, i), hdrs, "")
end
function response(status, headers, body)
  got = got + 1
  if got >= per + 64 then wrk.thread:stop() end
end
