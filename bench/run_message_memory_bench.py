#!/usr/bin/env python3
"""Server memory with 1 000 000 devices and 10 000 000 stored messages: VmRSS (and VmHWM, the
peak) of `roost serve` from /proc/<pid>/status, beside the same server's RSS on the empty store
in the same run. Target: <= 200 MB.

Usage: bench/run_message_memory_bench.py [BUILD_DIR] [--engine sqlite|postgres|both]
                                         [--devices N] [--per-device M]
       ROOST_BENCH_SMOKE=1 ...   (2 000 devices, 10 messages each: checks that it works)

For each engine (default: SQLite only; the full fill takes minutes):
  1. `roost serve` starts (release build, --threads 2) on an empty store: the baseline RSS,
     read after 2 s idle;
  2. N devices are registered through the bulk API, 200 000 per request (`roost cra issue` and
     `roost credentials import` first, not timed as part of it);
  3. M messages per device are ingested over HTTP: 4 connections, each sending its own quarter
     of the devices in batches of 1 000 reports, round after round (a device's next report goes
     out after its previous one was answered), every report checked `accepted`. RSS is sampled
     every second meanwhile (the highest sample is printed with VmHWM);
  4. RSS after the fill, after 10 s idle, and after reads that touch the whole store (the device
     list's first and last page, the message list of 100 devices spread over the range);
  5. the stored messages are counted by SQL (N * M expected), then the server is restarted on
     the filled store and its RSS read again after the same reads.
Pinning (2 or more CPUs): roost (and its postgres processes) on the first CPU, the load on the
second.
"""

import os
import sys
import threading
import time

from http_bench_support import Client, Site, build_roost, machine_line, smoke
from pipeline_bench_support import (BATCH, cpus, loadavg, pin, pin_postgres, prepare, report,
                                    rss_kb, send_batches, sql)

FIRST_ID = 0x50000000
CONNECTIONS = 4


def say(line):
    print(line, flush=True)


def mb(kb):
    return kb / 1024.0


class Sampler:
    """Samples the server's VmRSS every second in a thread; keeps the highest."""

    def __init__(self, pid):
        self.pid, self.high, self.stop = pid, 0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.wait(1.0):
            try:
                self.high = max(self.high, rss_kb(self.pid)[0])
            except OSError:
                return

    def done(self):
        self.stop.set()
        self.thread.join()
        return self.high


def reads(site, admin, ids):
    """Reads that touch the whole store: device list pages, message lists across the range."""
    page = admin.json("GET", "/api/devices?limit=100")
    for _ in range(3):
        nxt = page.get("paging", {}).get("next")
        if not nxt:
            break
        page = admin.json("GET", nxt[nxt.index("/api/"):])
    step = max(1, len(ids) // 100)
    for d in ids[::step]:
        admin.json("GET", "/api/devices/%s/messages" % d)


def run_engine(roost, engine, n_devices, per_device, cpu_a, cpu_b):
    out = {"engine": engine}
    site = Site(roost, engine)
    try:
        if site.pg:
            pin_postgres(site.pg, cpu_a)
        site.start(threads=2)
        pin(site.proc.pid, cpu_a)
        time.sleep(2)
        out["empty"] = rss_kb(site.proc.pid)
        say("%-8s empty store, 2 s after start: VmRSS %.1f MB (baseline; load average %s)"
            % (engine, mb(out["empty"][0]), loadavg()))
        t = time.perf_counter()
        tid, ids, station, admin = prepare(site, n_devices, FIRST_ID)
        t = time.perf_counter() - t
        out["registered"] = rss_kb(site.proc.pid)
        say("%-8s %d devices registered (bulk API) in %.1f s: VmRSS %.1f MB, VmHWM %.1f MB"
            % (engine, n_devices, t, mb(out["registered"][0]), mb(out["registered"][1])))

        if cpu_b is not None:
            os.sched_setaffinity(0, {cpu_b})
        t0 = int(time.time() * 1000) - per_device * 60_000
        errors = []

        def feed(part):
            devs = ids[part::CONNECTIONS]

            def batches():
                for r in range(per_device):
                    for s in range(0, len(devs), BATCH):
                        yield "[" + ",".join(
                            report(d, r + 1, t0 + r * 60_000 + s + k)
                            for k, d in enumerate(devs[s:s + BATCH])) + "]"
            try:
                send_batches(site, station, batches())
            except Exception as e:  # reported below; the other connections go on
                errors.append(repr(e))

        sampler = Sampler(site.proc.pid)
        load = loadavg()
        t = time.perf_counter()
        feeders = [threading.Thread(target=feed, args=(p,)) for p in range(CONNECTIONS)]
        for f in feeders:
            f.start()
        for f in feeders:
            f.join()
        t = time.perf_counter() - t
        out["fill_high"] = sampler.done()
        total = n_devices * per_device
        out["filled"] = rss_kb(site.proc.pid)
        say("%-8s %d messages ingested in %.0f s (%.0f/s, %d connections, batches of %d; load "
            "average before %s): VmRSS %.1f MB, highest sample %.1f MB, VmHWM %.1f MB"
            % (engine, total, t, total / t, CONNECTIONS, BATCH, load, mb(out["filled"][0]),
               mb(out["fill_high"]), mb(out["filled"][1])))
        time.sleep(10)
        out["idle"] = rss_kb(site.proc.pid)
        say("%-8s after 10 s idle: VmRSS %.1f MB" % (engine, mb(out["idle"][0])))
        admin.close()  # idle through the fill: the server has closed it
        admin = Client(site, site.api_user("ADMIN"))
        reads(site, admin, ids)
        out["read"] = rss_kb(site.proc.pid)
        say("%-8s after device and message list reads: VmRSS %.1f MB, VmHWM %.1f MB"
            % (engine, mb(out["read"][0]), mb(out["read"][1])))
        admin.close()
        stored = int(sql(site, "SELECT count(*) FROM messages"))
        devices = int(sql(site, "SELECT count(*) FROM devices"))
        problems = list(errors)
        if stored != total:
            problems.append("%d messages stored, %d sent" % (stored, total))
        if devices != n_devices:
            problems.append("%d devices stored, %d registered" % (devices, n_devices))
        site.stop()
        site.start(threads=2)
        pin(site.proc.pid, cpu_a)
        time.sleep(2)
        out["restart"] = rss_kb(site.proc.pid)
        admin = Client(site, site.api_user("ADMIN"))
        reads(site, admin, ids)
        admin.close()
        out["restart_read"] = rss_kb(site.proc.pid)
        say("%-8s restarted on the filled store: VmRSS %.1f MB 2 s after start, %.1f MB after "
            "the same reads" % (engine, mb(out["restart"][0]), mb(out["restart_read"][0])))
        out["problems"] = problems
        for p in problems:
            say("  CHECK FAILED (%s): %s" % (engine, p))
        if cpu_b is not None:
            os.sched_setaffinity(0, {cpu_a, cpu_b})
    finally:
        site.close()
    return out


def main():
    args = sys.argv[1:]

    def flag(name):
        if name in args:
            i = args.index(name)
            v = args[i + 1]
            del args[i:i + 2]
            return v
        return None

    engine = flag("--engine") or "sqlite"
    n = int(flag("--devices") or (2000 if smoke() else 1_000_000))
    m = int(flag("--per-device") or 10)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    roost = build_roost(args[0] if args else os.path.join(root, "build"))
    cpu_a, cpu_b = cpus()
    say(machine_line())
    say("pinning: %s" % ("none (one CPU)" if cpu_a is None else
                         "roost (+ postgres) on CPU %d, the load on CPU %d" % (cpu_a, cpu_b)))
    results, failed = [], False
    for eng in (["sqlite", "postgres"] if engine == "both" else [engine]):
        r = run_engine(roost, eng, n, m, cpu_a, cpu_b)
        results.append(r)
        failed = failed or bool(r["problems"])
    parts = ["%s: %.0f MB after the fill (peak %.0f MB), %.0f MB after reads, %.0f MB restarted "
             "(empty store %.0f MB, %.1fx)%s"
             % (r["engine"], mb(r["filled"][0]), mb(r["read"][1]), mb(r["read"][0]),
                mb(r["restart_read"][0]), mb(r["empty"][0]), r["read"][0] / r["empty"][0],
                "" if max(r["filled"][0], r["read"][0]) <= 200 * 1024 else
                " [target NOT met]") for r in results]
    print(machine_line())
    print("RESULT server memory at %d devices, %d messages: %s; checks %s; target VmRSS <= 200 MB"
          % (n, n * m, "; ".join(parts), "FAILED" if failed else "passed"))
    if smoke():
        print("(smoke mode: %d devices check that it works; the figures mean nothing)" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
