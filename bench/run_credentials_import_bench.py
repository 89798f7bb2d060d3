#!/usr/bin/env python3
"""A whole production batch imported at once: `roost credentials import` of N devices (default
1 000 000: a 32 MB ID/KEY file and a 26 MB ID/PAC file), wall time and peak memory, on SQLite and
on PostgreSQL, each beside a raw bulk load of the same N (id, PAC) rows in the same run.

Usage: bench/run_credentials_import_bench.py [BUILD_DIR] [--engine sqlite|postgres|both]
                                             [--mode cli|http|all] [--devices N]
       ROOST_BENCH_SMOKE=1 ...        (20 000 devices: checks that it works; figures meaningless)

For each engine and mode:
  1. `roost cra issue` a batch of N devices (not timed); a first `roost serve` start makes the
     store and the master key the import seals KEYs with;
  2. the import, timed from start to exit, with the peak resident memory (VmHWM, from the
     rusage of the process when it exits) of the process doing it:
       cli   `roost credentials import` — the process is the command itself;
       http  POST /api/credentials/import (multipart, both files) to a running `roost serve`,
             which streams the upload to a temporary file — the process is the server;
  3. the baseline: the same N rows of the ID/PAC file (id, PAC as text) loaded into an empty
     table (id TEXT PRIMARY KEY, pac TEXT NOT NULL) with the engine's own bulk loader:
     `sqlite3` `.import` (one transaction) into a fresh database file, `psql \\copy` into a new
     table on the same PostgreSQL.
The ratio printed is Roost's time / the raw load's time (lower is better; 1.0 = as fast as a raw
load that decrypts, compares and seals nothing). The memory target is the issue's: under 150 MB
for the process doing the import, whatever N.

The PostgreSQL server is tests/support/pgfixture.py's throwaway one (fsync off, synchronous_commit
off): both sides of the PostgreSQL ratio run on it.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

from http_bench_support import ENC_KEY, Site, build_roost, machine_line, run, smoke

RSS_TARGET_MB = 150


def issue_batch(site, n, first_id):
    """`roost cra issue` N devices; returns (id_key path, id_pac path)."""
    out = os.path.join(site.dir, "batch-%s" % first_id)
    run(site.roost, "cra", "issue", "--count", n, "--first-id", first_id, "--enc-key", ENC_KEY,
        "--out-dir", out, timeout=3600)
    return os.path.join(out, "id_key_encrypted.bin"), os.path.join(out, "id_pac.txt")


def measured(args):
    """Runs a command; returns (seconds, peak RSS in kB, stdout)."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err)
        out = proc.stdout.read()
        # wait4 gives the child's own rusage: ru_maxrss is its VmHWM in kB.
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError("%s: exit %d: %s" % (" ".join(args[:3]), proc.returncode,
                                                     err.read().decode(errors="replace").strip()))
    return seconds, usage.ru_maxrss, out.decode()


def import_cli(site, id_key, id_pac, n):
    args = [site.roost, "credentials", "import", "--enc-key", ENC_KEY, "--id-key", id_key,
            "--id-pac", id_pac, *site.store_args()]
    if site.url:
        args += ["--master-key-file", os.path.join(site.data_dir, "master.key")]
    seconds, peak_kb, out = measured(args)
    report = json.loads(out)
    if report["imported"] != n or report["refusedCount"] != 0:
        raise RuntimeError("import report: %s" % out[:300])
    return {"seconds": seconds, "peak_kb": peak_kb, "what": "roost credentials import"}


def import_http(site, id_key, id_pac, n):
    """POST /api/credentials/import of both files to a running `roost serve`; the peak is the
    server's (VmHWM, which counts from its start: its idle size is included)."""
    import base64
    import http.client
    import uuid

    site.start()
    try:
        user = site.api_user("FACTORY")
        boundary = "roost-" + uuid.uuid4().hex
        parts = []
        for name, path in (("idKey", id_key), ("idPac", id_pac)):
            with open(path, "rb") as f:
                data = f.read()
            parts.append(b"--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\""
                         b"\r\nContent-Type: application/octet-stream\r\n\r\n"
                         % (boundary.encode(), name.encode(), name.encode()) + data + b"\r\n")
        parts.append(b"--%s\r\nContent-Disposition: form-data; name=\"encryptionKey\"\r\n\r\n%s"
                     b"\r\n--%s--\r\n" % (boundary.encode(), ENC_KEY.encode(), boundary.encode()))
        body = b"".join(parts)
        token = base64.b64encode(("%s:%s" % (user["login"], user["password"])).encode()).decode()
        conn = http.client.HTTPConnection(site.host, site.port, timeout=3600)
        t0 = time.perf_counter()
        conn.request("POST", "/api/credentials/import", body=body,
                     headers={"Authorization": "Basic " + token,
                              "Content-Type": "multipart/form-data; boundary=" + boundary})
        resp = conn.getresponse()
        out = resp.read()
        seconds = time.perf_counter() - t0
        conn.close()
        if resp.status != 200:
            raise RuntimeError("POST /api/credentials/import: %d %s" % (resp.status, out[:300]))
        report = json.loads(out)
        if report["imported"] != n or report["refusedCount"] != 0:
            raise RuntimeError("import report: %s" % out[:300])
        _, peak_kb = site.rss_kb()
    finally:
        site.stop()
    return {"seconds": seconds, "peak_kb": peak_kb,
            "what": "POST /api/credentials/import (%.1f MB body), server" % (len(body) / 1e6)}


# mode -> function(site, id_key path, id_pac path, n) -> {"seconds", "peak_kb", "what"}
MODES = {"cli": import_cli, "http": import_http}


def sqlite_baseline(site, id_pac, n):
    raw = os.path.join(site.dir, "raw-%d.db" % time.monotonic_ns())
    subprocess.run(["sqlite3", "-batch", "-bail", raw, "PRAGMA journal_mode=WAL;",
                    "CREATE TABLE raw (id TEXT PRIMARY KEY, pac TEXT NOT NULL)"], check=True,
                   stdout=subprocess.DEVNULL)
    script = "BEGIN;\n.separator ;\n.import %s raw\nCOMMIT;\n" % id_pac
    t0 = time.perf_counter()
    subprocess.run(["sqlite3", "-batch", "-bail", raw], input=script, text=True, check=True)
    t = time.perf_counter() - t0
    count = subprocess.run(["sqlite3", raw, "SELECT count(*) FROM raw"], check=True,
                           capture_output=True, text=True).stdout.strip()
    if int(count) != n:
        raise RuntimeError("sqlite3 .import loaded %s rows, expected %d" % (count, n))
    os.remove(raw)
    return t


def postgres_baseline(site, id_pac, n):
    psql = os.path.join(site.pg.bin, "psql")
    conn = site.pg.conninfo("bench")
    table = "raw_%d" % time.monotonic_ns()

    def q(*args):
        return subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conn, *args],
                              check=True, capture_output=True, text=True).stdout

    q("-c", "CREATE TABLE %s (id TEXT PRIMARY KEY, pac TEXT NOT NULL)" % table)
    t0 = time.perf_counter()
    q("-c", "\\copy %s FROM '%s' WITH (FORMAT csv, DELIMITER ';')" % (table, id_pac))
    t = time.perf_counter() - t0
    count = q("-A", "-t", "-c", "SELECT count(*) FROM %s" % table).strip()
    if int(count) != n:
        raise RuntimeError("psql \\copy loaded %s rows, expected %d" % (count, n))
    q("-c", "DROP TABLE %s" % table)
    return t


def main():
    args = sys.argv[1:]
    opts = {"--engine": "both", "--mode": "all", "--devices": None}
    for name in list(opts):
        if name in args:
            i = args.index(name)
            opts[name] = args[i + 1]
            del args[i:i + 2]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    build = args[0] if args else os.path.join(root, "build")
    roost = build_roost(build)
    n = int(opts["--devices"]) if opts["--devices"] else 20000 if smoke() else 1000000
    engines = ["sqlite", "postgres"] if opts["--engine"] == "both" else [opts["--engine"]]
    modes = list(MODES) if opts["--mode"] == "all" else [opts["--mode"]]
    print(machine_line())
    print("devices per import: %d" % n)
    results = []
    for eng in engines:
        site = Site(roost, eng)
        try:
            site.start()  # makes the store and the master key
            site.stop()
            base = None
            for k, mode in enumerate(modes):
                # Each mode imports its own batch into a store that does not hold it yet.
                t0 = time.perf_counter()
                id_key, id_pac = issue_batch(site, n, "%08X" % (0x10000000 + k * n))
                issued = time.perf_counter() - t0
                if base is None:
                    base = (sqlite_baseline if eng == "sqlite" else postgres_baseline)(
                        site, id_pac, n)
                r = MODES[mode](site, id_key, id_pac, n)
                mb = r["peak_kb"] / 1024
                name = "sqlite3 .import" if eng == "sqlite" else "psql \\copy"
                print("%-8s %-4s files %.1f MB + %.1f MB (issued in %.1f s): %s %.2f s, peak RSS "
                      "%.0f MB (target < %d MB: %s); raw %s of the same rows %.2f s; ratio "
                      "roost/raw %.2f"
                      % (eng, mode, os.path.getsize(id_key) / 1e6, os.path.getsize(id_pac) / 1e6,
                         issued, r["what"], r["seconds"], mb, RSS_TARGET_MB,
                         "met" if mb < RSS_TARGET_MB else "MISSED", name, base,
                         r["seconds"] / base))
                results.append((eng, mode, r["seconds"], mb, base))
        finally:
            site.close()
    summary = ", ".join("%s/%s %.2f s, %.0f MB peak (raw %.2f s, %.2fx)" % (e, m, s, mb, b, s / b)
                        for e, m, s, mb, b in results)
    print("RESULT credentials-import %d devices: %s; target peak RSS < %d MB" % (
        n, summary, RSS_TARGET_MB))
    if smoke():
        print("(smoke mode: 20 000 devices check that it works; the figures mean nothing)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
