#!/usr/bin/env python3
"""Open N client connections to HOST:PORT, send one keep-alive request on each
(GET PATH), read its answer, then hold them all idle until stdin closes (or
SECONDS pass). Prints "OPEN <n> ANSWERED <m> FAILED <f>" once all are open,
and "STILL_OPEN <k>" (connections the server has not closed) when told to stop.

  idle_conns.py HOST PORT N PATH [SECONDS]
"""
import resource
import select
import socket
import sys

host, port, n, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
hold = float(sys.argv[5]) if len(sys.argv) > 5 else 600.0
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
req = ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, host)).encode()
socks, answered, failed = [], 0, 0
for _ in range(n):
    try:
        s = socket.create_connection((host, port), timeout=10)
        s.sendall(req)
        data = s.recv(65536)
        if data.startswith(b"HTTP/1.1 2"):
            answered += 1
        socks.append(s)
    except OSError as e:
        failed += 1
        if failed <= 3:
            print("error: %s" % e, file=sys.stderr, flush=True)
print("OPEN %d ANSWERED %d FAILED %d" % (len(socks), answered, failed), flush=True)
select.select([sys.stdin], [], [], hold)
still = 0
for s in socks:
    s.setblocking(False)
    try:
        still += 1 if s.recv(1) != b"" else 0  # b"" = the server closed it
    except BlockingIOError:
        still += 1
    except OSError:
        pass
print("STILL_OPEN %d" % still, flush=True)
