#!/usr/bin/env python3
"""Ingest -> callback received: latency p50/p99 at 1 000 reports/s (target p99 <= 50 ms),
beside the floor of the measuring apparatus in the same run.

Usage: bench/run_callback_latency_bench.py [BUILD_DIR] [--engine sqlite|postgres|both]
                                           [--seconds D] [--rate R]
       ROOST_BENCH_SMOKE=1 ...   (2 s at 200/s: checks that it works; figures meaningless)

For each engine:
  1. a callback sink starts in its own process (Python asyncio, answers 200 at once on
     kept-alive connections and stamps each request with time.monotonic() when it is read);
     `roost serve` starts (release build, --threads 1, callback settings as by default),
     1 000 devices are registered through the bulk API and their type gets one URL callback,
     POST http://127.0.0.1:<sink>/cb/{device}/{seqNumber} (default JSON body);
  2. baseline, just before: the paced generator POSTs the same number of bodies at the same
     rate straight to the sink, at /cb/<device>/<seq>: arrival - send is what the generator,
     the sink and loopback cost by themselves;
  3. the paced generator (asyncio, 64 kept-alive connections) sends single reports to
     POST /api/ingest/uplink at R/s, report i at t0 + i/R, devices round robin (each device's
     next report a second later, so never a replay); each report's send time is stamped with
     time.monotonic() just before it is written. Latency = the callback's arrival at the sink
     - the report's send time. Also: the ingest answer's latency (the report durable).
Checks: every report answered 200 "accepted", every callback arrived (waiting up to 30 s after
the last report), the generator kept its pace (the achieved rate within 5 % of R).
Pinning (2 or more CPUs): roost (and its postgres processes) on the first CPU, the generator
and the sink on the second.
"""

import asyncio
import json
import os
import sys
import time

from http_bench_support import build_roost, machine_line, percentile, smoke
import pgfixture  # noqa: E402 (on the path through http_bench_support)
from pipeline_bench_support import (Sink, add_url_callback, basic, cpus, engines, loadavg, metric,
                                    paced, prepare, print_result, report, say, say_checks,
                                    start_site, take_flag)

FIRST_ID = 0x30000000
DEVICES = 1000
CONNECTIONS = 64


def summary(latencies_s):
    v = sorted(latencies_s)
    return {"p50": percentile(v, 50) * 1e3, "p99": percentile(v, 99) * 1e3,
            "max": (v[-1] if v else float("nan")) * 1e3}


def fmt(s):
    return "p50 %.2f ms, p99 %.2f ms, max %.1f ms" % (s["p50"], s["p99"], s["max"])


def achieved(t0, results):
    sends = [r[0] for r in results]
    return (len(sends) - 1) / (max(sends) - min(sends)) if len(sends) > 1 else 0.0


def run_engine(roost, engine, rate, seconds, cpu_a, cpu_b):
    out = {"engine": engine}
    sink = Sink(pgfixture.free_port(), cpu_b)
    if cpu_b is not None:
        os.sched_setaffinity(0, {cpu_b})  # the generator: this process
    try:
        site = start_site(roost, engine, 1, cpu_a)
    except BaseException:
        sink.close()
        raise
    try:
        tid, ids, station, admin = prepare(site, DEVICES, FIRST_ID)
        add_url_callback(admin, tid, sink.port)
        admin.close()
        n = int(rate * seconds)
        now = int(time.time() * 1000)
        keys = [(ids[i % DEVICES], i // DEVICES + 1) for i in range(n)]
        bodies = [report(d, s, now - n + i) for i, (d, s) in enumerate(keys)]

        # Baseline: the same generator and pace straight to the sink.
        load = loadavg()
        sink.arrivals()
        t0, res = asyncio.run(paced(sink.port, None, None, bodies, rate, CONNECTIONS,
                                    paths=["/cb/%s/%d" % k for k in keys]))
        time.sleep(0.5)
        got, _ = sink.arrivals()
        lat = [got["/cb/%s/%d" % k] - r[0] for k, r in zip(keys, res) if "/cb/%s/%d" % k in got]
        base = summary(lat)
        base["rate"] = achieved(t0, res)
        base["missing"] = n - len(lat)
        out["baseline"] = base
        say("%-8s baseline, generator -> sink directly: %d requests at %.0f/s: %s (%d missing; "
            "load average %s)" % (engine, n, base["rate"], fmt(base), base["missing"], load))

        # Roost.
        load = loadavg()
        d0 = metric(site, "roost_callback_deliveries_total", "delivered")
        t0, res = asyncio.run(paced(site.port, basic(station), "/api/ingest/uplink", bodies, rate,
                                    CONNECTIONS))
        answers = [json.loads(r[3]) if r[2] == 200 else {"status": r[2]} for r in res]
        refused = [a for a in answers if a.get("result") != "accepted"]
        deadline = time.time() + 30
        got = {}
        while time.time() < deadline:
            more, _ = sink.arrivals()
            got.update({p: t for p, t in more.items() if p not in got})
            if len(got) >= n:
                break
            time.sleep(0.2)
        lat = [got["/cb/%s/%d" % k] - r[0] for k, r in zip(keys, res) if "/cb/%s/%d" % k in got]
        cb = summary(lat)
        cb["rate"] = achieved(t0, res)
        cb["missing"] = n - len(lat)
        cb["ingest"] = summary([r[1] for r in res])
        cb["delivered"] = metric(site, "roost_callback_deliveries_total", "delivered") - d0
        out["roost"] = cb
        say("%-8s roost, report sent -> callback received: %d reports at %.0f/s: %s (%d "
            "missing; load average %s)" % (engine, n, cb["rate"], fmt(cb), cb["missing"], load))
        say("%-8s roost, report sent -> ingest answered (durable): %s"
            % (engine, fmt(cb["ingest"])))
        problems = []
        if refused:
            problems.append("%d reports not accepted, e.g. %s" % (len(refused), refused[:2]))
        if cb["missing"]:
            problems.append("%d callbacks did not arrive within 30 s" % cb["missing"])
        for label, r in (("baseline", base), ("roost", cb)):
            if r["rate"] < 0.95 * rate:
                problems.append("%s: the generator fell behind (%.0f/s of %.0f/s)"
                                % (label, r["rate"], rate))
        out["problems"] = problems
        say_checks(engine, problems)
    finally:
        site.close()
        sink.close()
    return out


def main():
    args = sys.argv[1:]
    engine = take_flag(args, "--engine") or "both"
    rate = take_flag(args, "--rate", float) or (200.0 if smoke() else 1000.0)
    seconds = take_flag(args, "--seconds", float) or (2.0 if smoke() else 30.0)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    roost = build_roost(args[0] if args else os.path.join(root, "build"))
    cpu_a, cpu_b = cpus()
    say(machine_line())
    say("pinning: %s" % ("none (one CPU)" if cpu_a is None else
                         "roost (+ postgres) on CPU %d, generator and sink on CPU %d"
                         % (cpu_a, cpu_b)))
    say("generator: %.0f single reports/s for %.0f s over %d connections, %d devices"
        % (rate, seconds, CONNECTIONS, DEVICES))
    results, failed = [], False
    for eng in engines(engine):
        r = run_engine(roost, eng, rate, seconds, cpu_a, cpu_b)
        results.append(r)
        failed = failed or bool(r["problems"])
    parts = ["%s p50 %.1f ms, p99 %.1f ms (apparatus alone p50 %.2f ms, p99 %.2f ms; ingest "
             "answer p99 %.1f ms)%s"
             % (r["engine"], r["roost"]["p50"], r["roost"]["p99"], r["baseline"]["p50"],
                r["baseline"]["p99"], r["roost"]["ingest"]["p99"],
                "" if r["roost"]["p99"] <= 50 else " [target NOT met]") for r in results]
    print_result("ingest -> callback at %.0f/s: %s; checks %s; target p99 <= 50 ms"
                 % (rate, "; ".join(parts), "FAILED" if failed else "passed"),
                 "%.0f s at %.0f/s checks that it works" % (seconds, rate))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
