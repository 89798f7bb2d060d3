#!/usr/bin/env python3
"""Callback delivery: callbacks delivered per second to one kept-alive loopback sink (nginx,
`return 200`), beside wrk against the same nginx in the same run. Target: >= 20 000/s.

Usage: bench/run_callback_delivery_bench.py [BUILD_DIR] [--engine sqlite|postgres|both]
                                            [--messages N] [--profile | --strace]
                                            [--statements]
       ROOST_BENCH_SMOKE=1 ...   (2 000 messages: checks that it works; figures meaningless)

For each engine:
  1. nginx starts (one worker, access log off, `return 200 "{}"`); `roost serve` starts with
     --send-callbacks false (it stores and queues, sends nothing), 1 000 devices are registered
     through the bulk API, and the device type gets one URL callback,
     POST http://127.0.0.1:<nginx>/cb/{device}/{seqNumber} with the default JSON body;
  2. N messages are ingested in batches of 1 000 reports on one connection: N deliveries are
     queued, durable, and nothing is sent. The server stops (SIGTERM);
  3. `roost serve` starts again on the same database, as configured by default (--threads 1;
     callbacks sent from its event loop, at most 64 in flight, 2 at once to a host, 16 to a
     host that answers within 50 ms): it claims the backlog from the store and sends it.
     roost_callback_deliveries_total{outcome="delivered"} is polled every 50 ms from the
     moment the server answers; delivered/s = deliveries from the first sample to the last /
     the time between them. Then, by SQL: every message has one delivery and all are done,
     and no attempt failed;
  4. baseline, same nginx, just after: wrk -t1 with 2 connections (the dispatcher's limit per
     host) and with 64, POSTing a body of the same size to the same kind of URL.
Pinning (2 or more CPUs): roost (and its postgres processes) and wrk on the first CPU, nginx on
the second: the client side of each comparison has one core, the sink the other.
--profile: records the drain with `perf record -e cpu-clock -g` and prints where the time went;
--strace: counts the system calls of the drain (`strace -c -f`) per delivery.
--statements: PostgreSQL runs with pg_stat_statements, and the drain's statements are listed by
the time PostgreSQL spent executing them, per delivery (the extension costs a few per cent).
"""

import json
import os
import shutil
import sys
import tempfile
import time

from http_bench_support import Site, build_roost, machine_line, smoke
from pipeline_bench_support import (BATCH, Nginx, Usage, add_url_callback, children, cpus, pin,
                                    engines, loadavg, metric, postgres_pids, prepare,
                                    print_result, profile_report, profile_start, report, say,
                                    say_checks, send_batches, sql, start_site, strace_report,
                                    strace_start, take_flag, take_switch, wrk)

FIRST_ID = 0x20000000
DEVICES = 1000

WRK_LUA = r"""
local body = '%s'
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
local n = 0
function request()
  n = n + 1
  return wrk.format(nil, "/cb/200003E8/" .. (n %% 4096))
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK-RESULT {"duration_us":%%d,"requests":%%d,"non2xx":%%d,"connect":%%d,"read":%%d,' ..
    '"write":%%d,"timeout":%%d,"made":0,"reports":0,"p50_us":%%d,"p99_us":%%d}\n',
    summary.duration, summary.requests, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""

def run_engine(roost, engine, n_messages, cpu_a, cpu_b, work, profile):
    out = {"engine": engine}
    nginx = Nginx(cpu_b)
    try:
        site = start_site(roost, engine, 1, cpu_a, extra=("--send-callbacks", "false"))
    except BaseException:
        nginx.close()
        raise
    try:
        tid, ids, station, admin = prepare(site, DEVICES, FIRST_ID)
        add_url_callback(admin, tid, nginx.port)
        admin.close()
        t0 = int(time.time() * 1000) - n_messages  # one ms apart, all in the past
        rounds = (n_messages + DEVICES - 1) // DEVICES
        batches = []
        for r in range(rounds):
            reports = [report(ids[k], r + 1, t0 + r * DEVICES + k)
                       for k in range(min(DEVICES, n_messages - r * DEVICES))]
            batches += ["[" + ",".join(reports[i:i + BATCH]) + "]"
                        for i in range(0, len(reports), BATCH)]

        def delivered():
            return metric(site, "roost_callback_deliveries_total", "delivered")

        t_ingest = time.perf_counter()
        sent = send_batches(site, station, batches)
        out["ingest_s"] = time.perf_counter() - t_ingest
        queued = int(sql(site, "SELECT count(*) FROM deliveries WHERE state = 0"))
        site.stop()
        # The backlog is in the store; a server that sends starts on it.
        load = loadavg()
        if site.pg and Site.pg_options:
            sql(site, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            sql(site, "SELECT pg_stat_statements_reset()")
        site.start(threads=1)
        pin(site.proc.pid, cpu_a)
        usage = Usage(lambda: [site.proc.pid] + (postgres_pids(site.pg) if site.pg else []),
                      cpu_a)
        roost_usage = Usage(lambda: [site.proc.pid], cpu_a)
        perf = profile_start(site.proc.pid, os.path.join(work, "perf-%s.data" % engine)) \
            if profile == "perf" else None
        trace = strace_start(site.proc.pid, os.path.join(work, "strace-%s.txt" % engine)) \
            if profile == "strace" else None
        t_first = time.perf_counter()
        samples = [delivered()]
        deadline = time.time() + max(120, n_messages / 100)
        while samples[-1] < n_messages and time.time() < deadline:
            time.sleep(0.05)
            samples.append(delivered())
        t_last = time.perf_counter()
        # Stalls: 50 ms samples in which nothing was delivered, though the backlog was not empty.
        steps = [b - a for a, b in zip(samples, samples[1:])]
        out["stalled"] = sum(1 for s in steps if s == 0) / max(1, len(steps))
        out["step_max"] = max(steps or [0])
        profile_report(perf, os.path.join(work, "perf-%s.data" % engine), "the drain")
        strace_report(trace, os.path.join(work, "strace-%s.txt" % engine),
                      samples[-1] - samples[0])
        out["server_cpu"], out["cpu_busy"] = usage.done()
        out["roost_cpu"] = roost_usage.done()[0]
        out["before_first"] = samples[0]
        out["drain_s"] = t_last - t_first
        out["timed"] = samples[-1] - samples[0]
        out["rate"] = out["timed"] / out["drain_s"] if out["drain_s"] > 0 else float("inf")
        out["load"] = load
        problems = []
        if sent != n_messages:
            problems.append("%d reports sent, %d meant" % (sent, n_messages))
        if queued != n_messages:
            problems.append("%d deliveries queued by the ingest-only server, %d messages"
                            % (queued, n_messages))
        if samples[-1] != n_messages:
            problems.append("%d deliveries done, %d messages" % (samples[-1], n_messages))
        if site.pg and Site.pg_options:
            statements_report(site, samples[-1] - samples[0])
        states = sql(site, "SELECT state || ':' || count(*) FROM deliveries GROUP BY state "
                           "ORDER BY state")
        if states.split() != ["1:%d" % n_messages]:
            problems.append("deliveries by state: %s" % states.split())
        failed = metric(site, "roost_callback_deliveries_total", "failed")
        if failed:
            problems.append("%d attempts failed" % failed)
        out["problems"] = problems
        say_checks(engine, problems)
        say("%-8s roost: %d messages ingested and their callbacks queued (none sent) in %.2f s; "
            "restarted, it delivered %d (%d before its first answer) in %.2f s: %.0f "
            "deliveries/s (roost%s CPU %.0f%% of a core%s, CPU busy %.0f%%; load average %s)"
            % (engine, n_messages, out["ingest_s"], out["timed"], out["before_first"],
               out["drain_s"], out["rate"], " + postgres" if site.pg else "",
               100 * out["server_cpu"],
               ", roost alone %.0f%%" % (100 * out["roost_cpu"]) if site.pg else "",
               100 * out["cpu_busy"], load))
        say("%-8s drain sampled every 50 ms: %.0f%% of the samples delivered nothing, the most "
            "in one sample %d" % (engine, 100 * out["stalled"], out["step_max"]))
        site.stop()
        # Baseline: the same nginx, a body of the size roost sends.
        body = json.dumps({"device": "2000ABCD", "time": t0 // 1000, "data": "0" * 12,
                           "seqNumber": 4095})
        script = os.path.join(work, "cb-%s.lua" % engine)
        with open(script, "w") as f:
            f.write(WRK_LUA % body.replace("'", "\\'"))
        secs = 2 if smoke() else 10
        for conns in (2, 64):
            load = loadavg()
            u = Usage(lambda: [nginx.proc.pid] + children(nginx.proc.pid), cpu_b)
            r = wrk(script, nginx.port, 1, conns, secs, cpu_a)
            r["server_cpu"], r["cpu_busy"] = u.done()
            rate = r["ok"] / r["seconds"]
            out["wrk%d" % conns] = rate
            say("%-8s wrk -t1 -c%d, same nginx (baseline): %.0f requests/s (%d non-2xx, p50 "
                "%.2f ms, p99 %.2f ms; nginx CPU %.0f%%; load average %s)"
                % (engine, conns, rate, r["non2xx"], r["p50_us"] / 1e3, r["p99_us"] / 1e3,
                   100 * r["server_cpu"], load))
        say("%-8s ratio roost/wrk: %.3f (2 connections), %.3f (64 connections)"
            % (engine, out["rate"] / out["wrk2"], out["rate"] / out["wrk64"]))
    finally:
        site.close()
        nginx.close()
    return out


def statements_report(site, deliveries):
    """The drain's statements by execution time in PostgreSQL, per delivery."""
    rows = sql(site, "SELECT string_agg(format('%s|%s|%s|%s', total_exec_time, calls, rows, "
                     "left(regexp_replace(query, '\\s+', ' ', 'g'), 90)), chr(10) "
                     "ORDER BY total_exec_time DESC) FROM (SELECT * FROM pg_stat_statements "
                     "ORDER BY total_exec_time DESC LIMIT 8) t")
    total = float(sql(site, "SELECT sum(total_exec_time) FROM pg_stat_statements") or 0)
    say("  PostgreSQL executing the drain's statements: %.1f µs per delivery in all; the most:"
        % (1000 * total / max(1, deliveries)))
    for line in rows.splitlines():
        ms, calls, n, query = line.split("|", 3)
        say("    %6.1f µs per delivery (%s calls, %s rows): %s"
            % (1000 * float(ms) / max(1, deliveries), calls, n, query))


def main():
    args = sys.argv[1:]
    engine = take_flag(args, "--engine") or "both"
    n = take_flag(args, "--messages", int) or (2000 if smoke() else 50_000)
    perf, strace = take_switch(args, "--profile"), take_switch(args, "--strace")
    profile = "perf" if perf else "strace" if strace else None
    if take_switch(args, "--statements"):
        Site.pg_options = ("-c shared_preload_libraries=pg_stat_statements "
                           "-c pg_stat_statements.track=all")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    roost = build_roost(args[0] if args else os.path.join(root, "build"))
    if not shutil.which("wrk") or not shutil.which("nginx"):
        raise SystemExit("wrk and nginx are needed (scripts/deps.sh installs them)")
    cpu_a, cpu_b = cpus()
    say(machine_line())
    say("pinning: %s" % ("none (one CPU)" if cpu_a is None else
                         "roost (+ postgres) and wrk on CPU %d, nginx on CPU %d" % (cpu_a, cpu_b)))
    work = tempfile.mkdtemp(prefix="roost-delivery-bench-", dir=os.environ.get("TMPDIR", "/tmp"))
    results, failed = [], False
    try:
        for eng in engines(engine):
            r = run_engine(roost, eng, n, cpu_a, cpu_b, work, profile)
            results.append(r)
            failed = failed or bool(r["problems"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    def part(r):
        text = ("%s %.0f deliveries/s (wrk -c2 %.0f req/s, %.3fx; wrk -c64 %.0f req/s, %.3fx)"
                % (r["engine"], r["rate"], r["wrk2"], r["rate"] / r["wrk2"], r["wrk64"],
                   r["rate"] / r["wrk64"]))
        return text + ("" if r["rate"] >= 20000 else " [target NOT met]")

    parts = [part(r) for r in results]
    print_result("callback delivery: %s; checks %s; target >= 20000 deliveries/s"
                 % ("; ".join(parts), "FAILED" if failed else "passed"),
                 "%d messages check that it works" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
