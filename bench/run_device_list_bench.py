#!/usr/bin/env python3
"""Device list over HTTP at 1 000 000 registered devices: p50/p99 latency of the first, middle
and last page of GET /api/devices (limit 100, keyset `after` cursor), and the server's memory.

Usage: bench/run_device_list_bench.py [BUILD_DIR] [--engine sqlite|postgres|both]
       ROOST_BENCH_SMOKE=1 ...   (20 000 devices, 20 requests a page: checks that it works)

For each engine: `roost serve` starts once on an empty store (bootstrap) and a device type is
created through the API; the server stops, and N devices of that type are inserted straight
into its database with one SQL statement (a recursive CTE in `sqlite3`, generate_series in
`psql`, then ANALYZE) — registering a million devices through the API is what
run_http_bulk_bench.py measures, 200 000 at a time. The server starts again (release build,
2 event-loop threads, log level info as by default) and one keep-alive client, authenticated
as an ADMIN API user of the root group, requests each page R times after 20 warm-up requests.
Each request is timed on the client from sending to the last byte of the body, so the figures
include Python's own HTTP overhead (~0.1 ms). Pages are checked (count, first id, `next`).
Memory: VmRSS and VmHWM of the server process from /proc after the run. Targets: p99 <= 20 ms,
RSS <= 200 MB.
"""

import json
import os
import subprocess
import sys
import time

from http_bench_support import (Client, Site, build_roost, machine_line, percentile, smoke)

FIRST = 0x10000000  # device IDs FIRST .. FIRST + N - 1


def load_devices(site, type_id, n):
    now = int(time.time() * 1000)
    if site.engine == "sqlite":
        sql = ("WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < %d) "
               "INSERT INTO devices (id, name, type_id, group_id, pac, product_certificate, "
               "state, token_renew_forbidden, creation_time, dev_eui, join_eui, provision_id, "
               "serial_number, model) "
               "SELECT %d + i, printf('dev-%%X', %d + i), t.id, t.group_id, "
               "printf('%%016X', (i * 2654435761) %% 18446744073709551), '', 0, 0, %d, "
               "'', '', '', '', '' FROM seq, device_types t WHERE t.id = '%s';"
               "ANALYZE;" % (n - 1, FIRST, FIRST, now, type_id))
        subprocess.run(["sqlite3", "-batch", "-bail", os.path.join(site.data_dir, "roost.db"),
                        sql], check=True)
    else:
        sql = ("INSERT INTO devices (id, name, type_id, group_id, pac, product_certificate, "
               "state, token_renew_forbidden, creation_time, dev_eui, join_eui, provision_id, "
               "serial_number, model) "
               "SELECT %d + i, 'dev-' || upper(to_hex(%d + i)), t.id, t.group_id, "
               "lpad(upper(to_hex((i * 2654435761) %% 18446744073709551)), 16, '0'), '', 0, 0, "
               "%d, '', '', '', '', '' FROM generate_series(0, %d) i, device_types t "
               "WHERE t.id = '%s'; ANALYZE;" % (FIRST, FIRST, now, n - 1, type_id))
        site.pg.psql(sql, "bench")


def page_latencies(client, path, rounds):
    for _ in range(20):
        client.call("GET", path)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        status, body = client.call("GET", path)
        times.append(time.perf_counter() - t0)
        if status != 200:
            raise RuntimeError("GET %s: %d %s" % (path, status, body[:200]))
    return sorted(times), json.loads(body)


def run_engine(roost, engine, n, rounds):
    site = Site(roost, engine)
    try:
        site.start()
        admin = site.api_user("ADMIN")
        c = Client(site, admin)
        type_id = c.json("POST", "/api/devicetypes/create", json.dumps({"name": "list"}))["id"]
        c.close()
        site.stop()
        t0 = time.perf_counter()
        load_devices(site, type_id, n)
        load_s = time.perf_counter() - t0
        site.start()
        c = Client(site, admin)
        pages = {
            "first": ("/api/devices?limit=100", 100, FIRST),
            "middle": ("/api/devices?limit=100&after=%X" % (FIRST + n // 2 - 1), 100,
                       FIRST + n // 2),
            "last": ("/api/devices?limit=100&after=%X" % (FIRST + n - 51), 50, FIRST + n - 50),
            "middle, by type": ("/api/devices?deviceTypeId=%s&limit=100&after=%X"
                                % (type_id, FIRST + n // 2 - 1), 100, FIRST + n // 2),
        }
        rows = []
        for name, (path, count, first) in pages.items():
            times, page = page_latencies(c, path, rounds)
            if len(page["data"]) != count or page["data"][0]["id"] != "%X" % first:
                raise RuntimeError("page %s: %d devices from %s" % (name, len(page["data"]),
                                                                   page["data"][0]["id"]))
            if (name == "last") != ("next" not in page["paging"]):
                raise RuntimeError("page %s: wrong paging %r" % (name, page["paging"]))
            rows.append((name, percentile(times, 50) * 1e3, percentile(times, 99) * 1e3,
                         times[-1] * 1e3))
        c.close()
        rss, hwm = site.rss_kb()
        return load_s, rows, rss, hwm
    finally:
        site.close()


def main():
    args = sys.argv[1:]
    engine = "both"
    if "--engine" in args:
        i = args.index("--engine")
        engine = args[i + 1]
        del args[i:i + 2]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    build = args[0] if args else os.path.join(root, "build")
    roost = build_roost(build)
    n = 20000 if smoke() else 1000000
    rounds = 20 if smoke() else 500
    print(machine_line())
    print("devices: %d; %d requests per page, one keep-alive connection" % (n, rounds))
    summary = []
    for eng in (["sqlite", "postgres"] if engine == "both" else [engine]):
        load_s, rows, rss, hwm = run_engine(roost, eng, n, rounds)
        print("%s (devices loaded by SQL in %.1f s):" % (eng, load_s))
        print("  %-16s %8s %8s %8s" % ("page", "p50 ms", "p99 ms", "max ms"))
        for name, p50, p99, mx in rows:
            print("  %-16s %8.2f %8.2f %8.2f" % (name, p50, p99, mx))
        print("  server memory after the run: VmRSS %.0f MB, VmHWM %.0f MB" % (rss / 1024,
                                                                              hwm / 1024))
        worst = max(r[2] for r in rows)
        summary.append("%s worst p99 %.2f ms (%.2fx of the 20 ms target), RSS %.0f MB "
                       "(%.2fx of 200 MB)" % (eng, worst, worst / 20, rss / 1024,
                                              rss / 1024 / 200))
    print("RESULT device-list %d devices: %s" % (n, "; ".join(summary)))
    if smoke():
        print("(smoke mode: 20 000 devices check that it works; the figures mean nothing)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
