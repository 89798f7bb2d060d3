#!/usr/bin/env python3
"""Message list of one device with 100 000 messages: p50/p99 of GET /api/devices/{id}/messages,
first page and a deep page (through the `after` cursor), under wrk --latency, beside the same
wrk against nginx serving a body of the same size in the same run. Target: p99 <= 20 ms.

Usage: bench/run_message_list_bench.py [BUILD_DIR] [--engine sqlite|postgres|both]
                                       [--messages N] [--seconds D] [--profile]
                                       [--callbacks]
       ROOST_BENCH_SMOKE=1 ...   (2 000 messages, 2 s runs: checks that it works)

For each engine:
  1. `roost serve` (release build, --threads 2) starts; one device is registered through the
     bulk API and N messages are ingested for it in batches of 1 000 reports (sequence numbers
     one after the other, wrapping at 4096, 10 s apart), all checked `accepted`;
  2. the pages: the first (newest 100: no parameter), and a deep one: the cursor walk
     (`paging.next`, limit 1 000) is followed to the page that starts 90 % of the way down,
     whose URL is then requested with limit=100 — the same cursor, 100 messages. Each page's
     content is checked (count, newest first, continuous sequence numbers);
  3. each page under `wrk --latency` for D seconds with 1 connection (one request at a time)
     and with 8 (2 wrk threads), as an ADMIN API user (HTTP Basic, its hash cached after the
     first request);
  4. baseline, just before each: nginx (one worker, access log off) serving the page's exact
     bytes as a static file, under the same wrk.
--callbacks: the device type has a URL callback (POST http://127.0.0.1:9/cb/{device}/{seqNumber}),
so every message has one queued delivery (the server runs with --send-callbacks false) and each
listed message carries it with its expanded url: the page then also reads the page's deliveries
and renders their destinations. Each page is checked to list its message's own url.
Pinning (2 or more CPUs): roost (and its postgres processes), or nginx, on the first CPU, wrk
on the second. --profile: `perf record -e cpu-clock` of roost during the one-connection runs,
printed by library and by symbol.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from http_bench_support import build_roost, machine_line, smoke
import pgfixture  # noqa: E402 (on the path through http_bench_support)
from pipeline_bench_support import (BATCH, Usage, add_url_callback, children, cpus, engines, loadavg,
                                    postgres_pids, prepare, print_result, profile_report,
                                    profile_start, report, say, say_checks, send_batches,
                                    start_site, take_flag, take_switch, taskset, Nginx)

FIRST_ID = 0x40000000
GAP_MS = 10_000

LUA = r"""
wrk.headers["Authorization"] = "Basic %s"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK-RESULT {"duration_us":%%d,"requests":%%d,"non2xx":%%d,"errors":%%d,' ..
    '"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d,"mean_us":%%d,"bytes":%%d}\n',
    summary.duration, summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, summary.bytes))
end
"""


def run_wrk(script, port, path, threads, conns, seconds, cpu):
    cmd = [*taskset(cpu), "wrk", "-t", str(threads), "-c", str(conns), "-d", "%ds" % seconds,
           "--latency", "--timeout", "10s", "-s", script, "http://127.0.0.1:%d%s" % (port, path)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"^WRK-RESULT (\{.*\})$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        raise RuntimeError("wrk failed: %s %s" % (p.stdout[-2000:], p.stderr[-2000:]))
    r = json.loads(m.group(1))
    r["rate"] = r["requests"] / (r["duration_us"] / 1e6)
    return r


def server_buckets(site):
    """The cumulative buckets of roost_http_request_duration_seconds for GET of a device's
    messages: {upper bound in s: requests}."""
    with urllib.request.urlopen("http://%s:%d/metrics" % (site.host, site.port),
                                timeout=30) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r'roost_http_request_duration_seconds_bucket\{(.*)\} (\S+)$', line)
        if not m or 'method="GET"' not in m.group(1) or "/messages" not in m.group(1) or \
                "/devices/" not in m.group(1):
            continue
        le = re.search(r'le="([^"]+)"', m.group(1)).group(1)
        bound = float("inf") if le == "+Inf" else float(le)
        out[bound] = out.get(bound, 0) + float(m.group(2))
    return out


def server_p99(before, after):
    """From two server_buckets readings: the bucket bound (ms) under which 99 % of the
    requests between them were answered, and how many took more than 20 ms."""
    delta = {b: after.get(b, 0) - before.get(b, 0) for b in after}
    total = delta.get(float("inf"), 0)
    if total <= 0:
        return float("nan"), 0
    p99 = next(b for b in sorted(delta) if delta[b] >= 0.99 * total)
    over = total - max((v for b, v in delta.items() if b <= 0.02), default=0)
    return p99 * 1e3, int(over)


def check_page(page, first_seq, n, label, with_callbacks):
    data = page["data"]
    seqs = [m["seqNumber"] for m in data]
    want = [(first_seq - k) % 4096 for k in range(n)]
    times = [m["time"] for m in data]
    if seqs != want or times != sorted(times, reverse=True):
        raise RuntimeError("%s: unexpected page (seq %s..., want %s...)" % (label, seqs[:5],
                                                                            want[:5]))
    if with_callbacks:
        for m in data:
            urls = [c.get("url") for c in m.get("callbacks", [])]
            if urls != ["http://127.0.0.1:9/cb/%s/%d" % (m["device"], m["seqNumber"])]:
                raise RuntimeError("%s: message %d lists callbacks %s" % (label, m["seqNumber"],
                                                                          urls))


def run_engine(roost, engine, n, seconds, cpu_a, cpu_b, work, profile, with_callbacks):
    out = {"engine": engine, "pages": []}
    site = start_site(roost, engine, 2, cpu_a,
                      extra=("--send-callbacks", "false") if with_callbacks else ())
    try:
        tid, ids, station, admin = prepare(site, 1, FIRST_ID)
        if with_callbacks:
            add_url_callback(admin, tid, 9)
        dev = ids[0]
        t0 = int(time.time() * 1000) - n * GAP_MS
        batches = ["[" + ",".join(report(dev, i, t0 + i * GAP_MS)
                                  for i in range(s, min(n, s + BATCH))) + "]"
                   for s in range(0, n, BATCH)]
        fill_s = time.perf_counter()
        send_batches(site, station, batches)
        fill_s = time.perf_counter() - fill_s
        say("%-8s %d messages of one device ingested in %.1f s (%.0f/s, one connection, batches "
            "of %d)%s" % (engine, n, fill_s, n / fill_s, BATCH,
                          ", each with a queued URL callback delivery" if with_callbacks else ""))
        base = "/api/devices/%s/messages" % dev
        first = admin.json("GET", base)
        check_page(first, (n - 1) % 4096, 100, "first page", with_callbacks)
        # Walk the cursor 1 000 at a time to 90 % of the way down.
        path = base + "?limit=1000"
        walked = 0
        target = int(n * 0.9) // 1000 * 1000
        while walked < target:
            page = admin.json("GET", path)
            walked += len(page["data"])
            nxt = page["paging"]["next"]
            u = urllib.parse.urlsplit(nxt)
            path = u.path + "?" + u.query
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))
        q["limit"] = "100"
        deep_path = base + "?" + urllib.parse.urlencode(q)
        deep = admin.json("GET", deep_path)
        check_page(deep, (n - 1 - walked) % 4096, 100, "deep page", with_callbacks)
        admin_user = admin.headers["Authorization"].split(" ", 1)[1]
        script = os.path.join(work, "list-%s.lua" % engine)
        with open(script, "w") as f:
            f.write(LUA % admin_user)
        for name, p in (("first page", base), ("page at message %d" % walked, deep_path)):
            _, body = admin.call("GET", p)
            for threads, conns in ((1, 1), (2, 8)):
                ng = Nginx(cpu_a, page=body)
                try:
                    load = loadavg()
                    u = Usage(lambda: [ng.proc.pid] + children(ng.proc.pid), cpu_a)
                    b = run_wrk(script, ng.port, "/", threads, conns, seconds, cpu_b)
                    b["cpu"], _ = u.done()
                    b["load"] = load
                finally:
                    ng.close()
                load = loadavg()
                u = Usage(lambda: [site.proc.pid] + (postgres_pids(site.pg) if site.pg else []),
                          cpu_a)
                perf = None
                if profile and conns == 1:
                    perf = profile_start(site.proc.pid, os.path.join(work, "perf.data"))
                    time.sleep(0.5)  # perf attached before the load starts
                hist0 = server_buckets(site)
                r = run_wrk(script, site.port, p, threads, conns, seconds, cpu_b)
                r["cpu"], _ = u.done()
                r["server_p99_ms"], r["server_over_20ms"] = server_p99(hist0, server_buckets(site))
                profile_report(perf, os.path.join(work, "perf.data"), "%s, 1 connection" % name)
                r["load"] = load
                problems = []
                if r["non2xx"] or r["errors"] or b["non2xx"] or b["errors"]:
                    problems.append("non-2xx or socket errors: roost %d/%d, nginx %d/%d" % (
                        r["non2xx"], r["errors"], b["non2xx"], b["errors"]))
                row = {"page": name, "conns": conns, "bytes": len(body), "roost": r,
                       "nginx": b, "problems": problems}
                out["pages"].append(row)
                # Little's law: at `conns` requests always in flight the mean latency is
                # conns / rate; a wrk mean far above it means wrk's clock, not the server,
                # made the tail (a wrk thread held off its core).
                say("%-8s %s (%d bytes), %d connection%s: roost p50 %.2f ms, p99 %.2f ms, "
                    "mean %.2f ms (conns/rate %.2f ms), %.0f req/s (server CPU %.0f%%; load %s; "
                    "server-side: 99%% within %.1f ms, %d over 20 ms) | nginx, same bytes: "
                    "p50 %.3f ms, p99 %.3f ms, %.0f req/s (load %s) | p99 ratio %.1fx"
                    % (engine, name, len(body), conns, "" if conns == 1 else "s",
                       r["p50_us"] / 1e3, r["p99_us"] / 1e3, r["mean_us"] / 1e3,
                       1e3 * conns / r["rate"], r["rate"], 100 * r["cpu"], r["load"],
                       r["server_p99_ms"], r["server_over_20ms"], b["p50_us"] / 1e3,
                       b["p99_us"] / 1e3, b["rate"], b["load"],
                       r["p99_us"] / max(1, b["p99_us"])))
                say_checks(engine, problems)
        admin.close()
    finally:
        site.close()
    return out


def main():
    args = sys.argv[1:]
    engine = take_flag(args, "--engine") or "both"
    profile = take_switch(args, "--profile")
    with_callbacks = take_switch(args, "--callbacks")
    n = take_flag(args, "--messages", int) or (2000 if smoke() else 100_000)
    seconds = take_flag(args, "--seconds", int) or (1 if smoke() else 10)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    roost = build_roost(args[0] if args else os.path.join(root, "build"))
    if not shutil.which("wrk") or not shutil.which("nginx"):
        raise SystemExit("wrk and nginx are needed (scripts/deps.sh installs them)")
    cpu_a, cpu_b = cpus()
    say(machine_line())
    say("pinning: %s" % ("none (one CPU)" if cpu_a is None else
                         "roost (+ postgres) or nginx on CPU %d, wrk on CPU %d" % (cpu_a, cpu_b)))
    work = tempfile.mkdtemp(prefix="roost-list-bench-", dir=os.environ.get("TMPDIR", "/tmp"))
    os.chmod(work, 0o755)  # nginx's worker runs as nobody when started as root
    results, failed = [], False
    try:
        for eng in engines(engine):
            r = run_engine(roost, eng, n, seconds, cpu_a, cpu_b, work, profile, with_callbacks)
            results.append(r)
            failed = failed or any(p["problems"] for p in r["pages"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    parts = []
    for r in results:
        for p in r["pages"]:
            parts.append("%s %s c=%d p99 %.2f ms (nginx %.3f ms)%s"
                         % (r["engine"], p["page"], p["conns"], p["roost"]["p99_us"] / 1e3,
                            p["nginx"]["p99_us"] / 1e3,
                            "" if p["roost"]["p99_us"] <= 20000 else " [target NOT met]"))
    print_result("message list at %d messages%s: %s; checks %s; target p99 <= 20 ms"
                 % (n, ", each with a callback delivery" if with_callbacks else "",
                    "; ".join(parts), "FAILED" if failed else "passed"),
                 "%d messages, %d s runs check that it works" % (n, seconds))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
