#!/usr/bin/env python3
"""Bulk registration over HTTP: 200 000 devices in ONE request, seconds from POST to jobDone, on
SQLite and on PostgreSQL, each beside a raw bulk insert of the same rows in the same run.

Usage: bench/run_http_bulk_bench.py [BUILD_DIR] [--engine sqlite|postgres|both]
       ROOST_BENCH_SMOKE=1 ...        (5 000 devices: checks that it works; figures meaningless)

For each engine:
  1. start `roost serve` (release build, 2 event-loop threads); `roost cra issue` a batch of N
     devices and `roost credentials import` it (not timed); create a device type;
  2. time one POST /api/devicetypes/{id}/devices/bulk/create/async with all N (id, PAC) pairs
     (~9 MB for 200 000), polling GET /api/jobs/{id} every 20 ms until jobDone: the figure is
     the time from sending the request to the first poll that sees jobDone;
  3. the baseline: export the devices Roost wrote (same rows) to CSV and load them into an
     empty table of the same definition (columns, primary key, indexes) with the engine's own
     bulk loader: `sqlite3` `.import --csv` (one transaction) into a fresh database file, and
     `psql \\copy` into `CREATE TABLE ... (LIKE devices INCLUDING ALL)` on the same PostgreSQL.
     LIKE copies no foreign keys, so PostgreSQL is also timed into a second such table given
     devices' two foreign keys (device type, group), which Roost's inserts check row by row;
     both ratios are printed. (The SQLite baseline checks no foreign keys: sqlite3 leaves them
     off.)
The ratio printed is Roost's time / the raw load's time (lower is better; 1.0 = as fast as a
raw insert that does no parsing, checking, PAC generation or job bookkeeping).

The PostgreSQL server is tests/support/pgfixture.py's throwaway one (fsync off, synchronous_commit
off): both sides of the PostgreSQL ratio run on it.
"""

import json
import os
import subprocess
import sys
import time

from http_bench_support import (Client, Site, build_roost, machine_line, smoke, timed)


def bulk_over_http(site, n, first_id):
    site.start()  # the first start creates the master key the import seals KEYs with
    try:
        pairs = site.import_credentials(n, first_id)
        c = Client(site, site.api_user("DEVICE_MANAGER"))
        tid = c.json("POST", "/api/devicetypes/create", json.dumps({"name": "bench"}))["id"]
        body = json.dumps({"prefix": "bench-", "productCertificate": "P_0004_D356_03",
                           "ids": [{"id": d, "pac": p} for d, p in pairs]}).encode()
        t0 = time.perf_counter()
        started = c.json("POST", "/api/devicetypes/%s/devices/bulk/create/async" % tid, body,
                         expect=202)
        t_accepted = time.perf_counter() - t0
        while True:
            st = c.json("GET", "/api/jobs/" + started["jobId"])
            if st["jobDone"]:
                break
            time.sleep(0.02)
        t_done = time.perf_counter() - t0
        c.close()
        if st["status"]["success"] != n or st["status"]["failed"]:
            raise RuntimeError("job ended with %d successes, %d failures" % (
                st["status"]["success"], len(st["status"]["failed"])))
        rss, hwm = site.rss_kb()
    finally:
        site.stop()
    return {"bytes": len(body), "accepted": t_accepted, "done": t_done, "rss_kb": rss,
            "hwm_kb": hwm, "type": tid}


def sqlite_baseline(site, n):
    db = os.path.join(site.data_dir, "roost.db")
    csv = os.path.join(site.dir, "devices.csv")
    subprocess.run(["sqlite3", "-batch", "-bail", "-csv", db,
                    ".output " + csv, "SELECT * FROM devices"], check=True)
    schema = subprocess.run(["sqlite3", "-batch", db, ".schema devices"], check=True,
                            capture_output=True, text=True).stdout
    raw = os.path.join(site.dir, "raw.db")
    subprocess.run(["sqlite3", "-batch", "-bail", raw, "PRAGMA journal_mode=WAL;", schema],
                   check=True, stdout=subprocess.DEVNULL)
    script = "BEGIN;\n.import --csv %s devices\nCOMMIT;\n" % csv
    t, _ = timed(lambda: subprocess.run(["sqlite3", "-batch", "-bail", raw], input=script,
                                        text=True, check=True))
    count = subprocess.run(["sqlite3", raw, "SELECT count(*) FROM devices"], check=True,
                           capture_output=True, text=True).stdout.strip()
    if int(count) != n:
        raise RuntimeError("sqlite3 .import loaded %s rows, expected %d" % (count, n))
    return t


def postgres_baseline(site, n):
    psql = os.path.join(site.pg.bin, "psql")
    conn = site.pg.conninfo("bench")
    csv = os.path.join(site.dir, "devices.csv")

    def q(*args, **kw):
        return subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conn, *args],
                              check=True, capture_output=True, text=True, **kw).stdout

    q("-c", "\\copy devices TO '%s' CSV" % csv)
    times = []
    for table, constraints in (("devices_raw", ""),
                               ("devices_fk", "ALTER TABLE devices_fk "
                                "ADD FOREIGN KEY (type_id) REFERENCES device_types (id), "
                                "ADD FOREIGN KEY (group_id) REFERENCES groups (id)")):
        q("-c", "CREATE TABLE %s (LIKE devices INCLUDING ALL)" % table)
        if constraints:
            q("-c", constraints)
        t, _ = timed(lambda: q("-c", "\\copy %s FROM '%s' CSV" % (table, csv)))
        count = q("-A", "-t", "-c", "SELECT count(*) FROM %s" % table).strip()
        if int(count) != n:
            raise RuntimeError("psql \\copy loaded %s rows, expected %d" % (count, n))
        times.append(t)
    return times


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
    n = 5000 if smoke() else 200000
    engines = ["sqlite", "postgres"] if engine == "both" else [engine]
    print(machine_line())
    print("devices per request: %d" % n)
    results = []
    for eng in engines:
        site = Site(roost, eng)
        try:
            r = bulk_over_http(site, n, "10000000")
            if eng == "sqlite":
                base, base_fk = sqlite_baseline(site, n), None
            else:
                base, base_fk = postgres_baseline(site, n)
        finally:
            site.close()
        name = "sqlite3 .import" if eng == "sqlite" else "psql \\copy"
        print("%-8s body %.1f MB: 202 after %.3f s, jobDone after %.3f s; raw %s of the same "
              "rows %.3f s; ratio roost/raw %.2f; server RSS %d MB (peak %d MB)"
              % (eng, r["bytes"] / 1e6, r["accepted"], r["done"], name, base, r["done"] / base,
                 r["rss_kb"] // 1024, r["hwm_kb"] // 1024))
        if base_fk is not None:
            print("%-8s raw %s into a table that also has devices' two foreign keys %.3f s; "
                  "ratio roost/raw %.2f" % (eng, name, base_fk, r["done"] / base_fk))
        results.append((eng, r["done"], base, base_fk))
    summary = ", ".join("%s %.2f s (raw %.2f s, %.2fx%s)" % (
        e, d, b, d / b, "" if f is None else "; with foreign keys %.2f s, %.2fx" % (f, d / f))
        for e, d, b, f in results)
    print("RESULT http-bulk %d devices, POST to jobDone: %s; target <= 2 s on SQLite" % (n,
                                                                                      summary))
    if smoke():
        print("(smoke mode: 5 000 devices check that it works; the figures mean nothing)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
