#!/usr/bin/env python3
"""Fill Swift container replicas fast: UPDATE /{dev}/{part}/{account}/{container}
with a JSON list of rows (merge_items, the container server verb Swift's own
sharder uses), in batches, to each replica's container server.

  swift_fill.py ROWS BATCH PATH HOST:PORT [HOST:PORT/DEV/PART ...]
  e.g. swift_fill.py 100000 10000 AUTH_test/list 127.0.0.1:6211/sdb1/123 ...

Names o000000..o{ROWS-1}, size 4096, one fixed timestamp (same rows as
rows.lua sends to swiftlet).
"""
import http.client
import json
import sys

rows, batch, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ts = "1764000000.00000"
for target in sys.argv[4:]:
    hostport, dev, part = target.split("/")
    host, port = hostport.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    for start in range(0, rows, batch):
        items = [{"name": "o%06d" % i, "created_at": ts, "size": 4096,
                  "content_type": "application/octet-stream",
                  "etag": "d41d8cd98f00b204e9800998ecf8427e", "deleted": 0,
                  "storage_policy_index": 0}
                 for i in range(start, min(rows, start + batch))]
        body = json.dumps(items).encode()
        conn.request("UPDATE", "/%s/%s/%s" % (dev, part, path), body=body,
                     headers={"X-Timestamp": ts, "Content-Type": "application/json",
                              "X-Backend-Storage-Policy-Index": "0"})
        r = conn.getresponse()
        r.read()
        if r.status // 100 != 2:
            sys.exit("UPDATE %s -> %d" % (target, r.status))
    conn.close()
