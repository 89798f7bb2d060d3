#!/usr/bin/env python3
"""Uplink ingest over HTTP: messages/s through POST /api/ingest/uplink, one report per request
and 500 per request, on SQLite and on PostgreSQL, each beside a baseline measured in the same
run.

Usage: bench/run_ingest_bench.py [BUILD_DIR] [--engine sqlite|postgres|both] [--seconds D]
                                 [--connections N] [--profile | --strace]
       ROOST_BENCH_SMOKE=1 ...   (2 s runs, few connections: checks that it works and that
                                  every report was answered 200 and stored; figures meaningless)

For each engine:
  1. start `roost serve` (release build, 1 event-loop thread), register devices with one bulk
     request (`roost cra issue`, `roost credentials import`, bulk create; not timed), create a
     station (ADMIN) and a STATION API user whose credentials the load uses. What the issue
     names is measured: de-duplication, decoding, storing and a callback per message. The
     devices' type decodes each payload with a Custom format of 3 fields (PAYLOAD_CONFIG) and
     has one URL callback, POST with the default JSON body, to a sink on loopback: nginx
     answering 200 on kept-alive connections, on the load's CPU. The callbacks are sent while
     the load runs (each line gives the rate they were delivered at meanwhile); after each run
     the script waits, untimed, for every pending delivery, so that one run's backlog is not
     sent during the next;
  2. single reports: `wrk` (N connections, D seconds) with a generated Lua script that POSTs one
     report per request. Each wrk thread owns its own devices and sends them round robin, each
     device's seqNumber going up by 1 per report (wrapping at 4096) and `time` increasing, so
     every report is a new message (`accepted`). Messages/s counts 200 answers only;
  3. the baseline for (2), just before it: nginx (one worker process, `return 200 "{}"`,
     access log off) under the same wrk script and connections: requests/s and roost/nginx;
  4. batches: the same generator with arrays of 500 reports per request (one wrk thread per
     connection); the rows Roost stored are then exported and loaded again, as the baseline:
     on PostgreSQL with `psql \\copy` into `CREATE TABLE ... (LIKE messages INCLUDING ALL)`,
     on SQLite with `sqlite3 .import --csv` (one transaction, pinned to the server's CPU) into a
     fresh WAL database made with the messages table's own definition and indexes: rows/s and
     the ratio. (The baseline stores the rows only; Roost also decides each report, updates
     its device and adds to its statistics.)
After each wrk run the script checks, by SQL and /metrics, that nothing acknowledged is lost and
nothing was refused: every answer was 200, the stored messages are at least the 200 answers
and at most the reports generated (the difference is requests still in flight when wrk
stopped, which the server commits afterwards), and the server counted every decided report as
accepted; every stored message has its decoding and one queued delivery. Any failure of these
checks exits non-zero. Each line also gives the server's CPU
use (roost plus its postgres processes, or nginx) as a share of one core, how busy the server's
CPU was in all (the difference is other work on the machine), the rate per CPU-second of the
server (messages or requests / server CPU seconds: on a shared machine steadier than the rate),
the load average before the run, and for roost the reports per commit
(roost_ingest_batches_total).

wrk runs for D seconds and stops with requests in flight; those are not counted as answered,
and the server commits them after the stop: "stored = answered + in flight" on each line.
Single reports: 64 connections over 2 wrk threads; each thread's devices (2 048) are far more
than its connections, and the writer answers every queued request at each commit, so a device's
next report is sent long after its previous one was answered (a report overtaking its
predecessor would be refused as a replay, which the checks catch). Batches: one wrk thread per
connection, so each connection sends its own 2 500 devices strictly in order.

Pinning (on a machine with 2 or more CPUs): the server under test — roost and, on PostgreSQL,
every postgres process, or nginx — runs on the first allowed CPU; wrk (and psql for the \\copy)
on the second. Each comparison is therefore one core of server against one core of load.

--ingest-only: `roost serve --send-callbacks false`, an instance that only ingests (as in a
deployment that gives ingest and delivery to different instances on one database): each
message's callback delivery is still queued, durably, in the message's transaction, and the
checks still require it, but none is sent during the runs (the delivery benchmark measures
sending such a backlog).

--profile: records each Roost run with `perf record -e cpu-clock -g` and prints where the time
went (the recording costs the server a few per cent); the recordings are kept.
--strace: counts the system calls of each Roost run (`strace -c -f`), per request answered 200
(strace slows the server down a lot: the rates of such a run are not figures).

The PostgreSQL server is tests/support/pgfixture.py's throwaway one (fsync off, synchronous_commit
off): both sides of the PostgreSQL ratio run on it. SQLite runs as Roost configures it (WAL).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from http_bench_support import build_roost, machine_line, smoke, timed
from pipeline_bench_support import (STATION, Nginx, Usage, add_url_callback, basic, children,
                                    cpus, engines, loadavg, metric, postgres_pids, prepare,
                                    print_result, say,
                                    profile_report, profile_start, say_checks, sql, start_site,
                                    strace_report, strace_start, take_flag, take_switch,
                                    taskset, wrk)

BATCH = 500  # reports per request in the batched runs
FIRST_ID = 0x10000000
# The devices' payload format: each report's 6 bytes decoded into 3 fields.
PAYLOAD_CONFIG = "a::uint:16 b::uint:16 c::uint:16"

# One generator for every run: globals `groups` (one list of device IDs per wrk thread),
# `per_request`, `auth`, `t0` are prepended by write_lua(). A thread takes the next of its
# devices round robin for each report.
LUA = r"""
local head = "POST /api/ingest/uplink HTTP/1.1\r\nHost: 127.0.0.1\r\n" ..
  "Authorization: Basic " .. auth .. "\r\nContent-Type: application/json\r\nContent-Length: "
local tail = ',"station":"' .. station .. '","rssi":-98.5,"snr":11.25}'
local threads = {}
local created = 0

function setup(thread)
  thread:set("index", created)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  ids = groups[index + 1]
  seqs = {}
  pre = {}
  for i = 1, #ids do
    seqs[i] = 0
    pre[i] = '{"device":"' .. ids[i] .. '","seqNumber":'
  end
  nxt = 0
  t = t0
  sent = 0
  requests_made = 0
end

-- One report of the next device: seqNumber one more than its last (mod 4096), time one ms
-- after the thread's previous report, data the last 12 decimal digits of the time (6 bytes).
local function report()
  local i = nxt + 1
  nxt = i % #ids
  local s = seqs[i]
  seqs[i] = (s + 1) % 4096
  t = t + 1
  sent = sent + 1
  local ts = tostring(t)
  return pre[i] .. s .. ',"data":"' .. string.sub(ts, -12) .. '","time":' .. ts .. tail
end

function request()
  local body
  if per_request == 1 then
    body = report()
  else
    local parts = {}
    for k = 1, per_request do parts[k] = report() end
    body = "[" .. table.concat(parts, ",") .. "]"
  end
  requests_made = requests_made + 1
  return head .. #body .. "\r\n\r\n" .. body
end

function done(summary, latency, requests)
  local made, reports = 0, 0
  for _, th in ipairs(threads) do
    made = made + th:get("requests_made")
    reports = reports + th:get("sent")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK-RESULT {"duration_us":%d,"requests":%d,"non2xx":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"timeout":%d,"made":%d,"reports":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.duration, summary.requests, e.status, e.connect, e.read, e.write, e.timeout,
    made, reports, latency:percentile(50), latency:percentile(99)))
end
"""


def write_lua(path, groups, per_request, auth):
    lines = ["groups = {"]
    for g in groups:
        lines.append("  {" + ",".join('"%s"' % d for d in g) + "},")
    lines.append("}")
    lines.append("per_request = %d" % per_request)
    lines.append('auth = "%s"' % auth)
    lines.append('station = "%s"' % STATION)
    # Two hours back: each thread's times go forward 1 ms a report, and Roost refuses a time
    # more than 10 minutes ahead of its clock.
    lines.append("t0 = %d" % (int(time.time() * 1000) - 2 * 3600 * 1000))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n" + LUA)
    return path


def stored(site, lo, hi):
    """Messages stored for devices lo..hi (integers)."""
    return int(sql(site, "SELECT count(*) FROM messages WHERE device_id BETWEEN %d AND %d"
                   % (lo, hi)))


def undecoded(site, lo, hi):
    """Messages of devices lo..hi stored without a decoding."""
    return int(sql(site, "SELECT count(*) FROM messages WHERE device_id BETWEEN %d AND %d "
                   "AND decoded = ''" % (lo, hi)))


def deliveries(site, lo, hi):
    """Callback deliveries queued for the messages of devices lo..hi."""
    return int(sql(site, "SELECT count(*) FROM deliveries WHERE device_id BETWEEN %d AND %d"
                   % (lo, hi)))


def delivered(site):
    return int(metric(site, "roost_callback_deliveries_total", "delivered"))


def drain(site, timeout=600):
    """Waits (untimed) until no callback delivery is pending, so that one run's backlog is not
    sent during the next; returns False when some are still pending at the timeout."""
    deadline = time.time() + timeout
    while int(sql(site, "SELECT count(*) FROM deliveries WHERE state = 0")):
        if time.time() > deadline:
            return False
        time.sleep(0.5)
    return True


def ingest_counts(site, name="roost_ingest_reports_total"):
    """A counter from /metrics by its label's value ("" when it has none): by default the
    reports decided by ingest, by result."""
    with urllib.request.urlopen("http://%s:%d/metrics" % (site.host, site.port),
                                timeout=30) as r:
        text = r.read().decode()
    counts = {}
    for m in re.finditer(r'^%s(?:\{\w+="(\w*)"\})? (\S+)$' % name, text, re.M):
        counts[m.group(1) or ""] = int(float(m.group(2)))
    return counts


def settle(site, before, lo, hi, timeout=60):
    """Waits until the server is done with what wrk left in flight: the writer's queue empty and
    the decided reports and stored messages unchanged over 0.25 s, read in one pass (metrics,
    count, metrics). Returns (reports decided since `before` by result, messages stored)."""
    deadline = time.time() + timeout
    last = None
    while True:
        m1 = ingest_counts(site)
        queued = ingest_counts(site, "roost_ingest_queue_reports").get("", 0)
        count = stored(site, lo, hi)
        m2 = ingest_counts(site)
        if (m1 == m2 and queued == 0 and (m1, count) == last) or time.time() > deadline:
            return {k: m2.get(k, 0) - before.get(k, 0) for k in m2}, count
        last = (m1, count)
        time.sleep(0.25)


def check(label, r, per_request, count, decided, site, lo, hi):
    """The checks of a roost run; returns a list of problems (empty when all is well)."""
    problems = []
    plain = undecoded(site, lo, hi)
    if plain:
        problems.append("%d stored messages have no decoding" % plain)
    queued = deliveries(site, lo, hi)
    if queued != count:
        problems.append("%d callback deliveries queued for %d messages stored"
                        % (queued, count))
    answered = r["ok"] * per_request
    if r["non2xx"]:
        problems.append("%d answers were not 2xx" % r["non2xx"])
    if r["socket_errors"]:
        problems.append("socket errors: connect %d, read %d, write %d, timeout %d" % (
            r["connect"], r["read"], r["write"], r["timeout"]))
    if count < answered:
        problems.append("%d messages stored, fewer than the %d reports answered 200"
                        % (count, answered))
    if count > r["reports"]:
        problems.append("%d messages stored, more than the %d reports generated"
                        % (count, r["reports"]))
    others = {k: v for k, v in decided.items() if k != "accepted" and v}
    if others:
        problems.append("reports not accepted: %s" % others)
    if decided.get("accepted", 0) != count:
        problems.append("the server accepted %d reports but %d messages are stored"
                        % (decided.get("accepted", 0), count))
    say_checks(label, problems)
    return problems


def roost_run(site, label, script, threads, connections, seconds, per_request, lo, hi, cpus_,
              profile=None, sends_callbacks=True, trace=None):
    """One wrk run against `site`; with `sends_callbacks` (the server's default), then waits
    for every delivery the run queued."""
    server_cpu, load_cpu = cpus_
    before_count = stored(site, lo, hi)
    before = ingest_counts(site)
    commits = ingest_counts(site, "roost_ingest_batches_total")
    delivered0 = delivered(site)
    load = loadavg()
    usage = Usage(lambda: [site.proc.pid] + (postgres_pids(site.pg) if site.pg else []),
                  server_cpu)
    perf = profile_start(site.proc.pid, profile) if profile else None
    tracer = strace_start(site.proc.pid, trace) if trace else None
    r = wrk(script, site.port, threads, connections, seconds, load_cpu)
    r["server_cpu"], r["cpu_busy"] = usage.done()
    r["delivered"] = delivered(site) - delivered0
    profile_report(perf, profile, label)
    strace_report(tracer, trace, r["ok"], "request", label)
    decided, count = settle(site, before, lo, hi)
    count -= before_count
    r["commits"] = ingest_counts(site, "roost_ingest_batches_total").get("", 0) - commits.get("", 0)
    r["stored"] = count
    r["rate"] = r["ok"] * per_request / r["seconds"]
    r["problems"] = check(label, r, per_request, count, decided, site, lo, hi)
    if sends_callbacks and not drain(site):
        r["problems"].append("callback deliveries still pending 600 s after the run")
    r["load"] = load
    return r


def copy_baseline(site, lo, hi, n, cpu):
    """The messages Roost stored for devices lo..hi, exported and loaded again with psql \\copy
    into a table of the same definition; returns seconds."""
    psql = [*taskset(cpu), os.path.join(site.pg.bin, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
            "-d", site.pg.conninfo("bench")]
    csv = os.path.join(site.dir, "messages.csv")

    def q(*args):
        return subprocess.run([*psql, *args], check=True, capture_output=True, text=True).stdout

    q("-c", "\\copy (SELECT * FROM messages WHERE device_id BETWEEN %d AND %d) TO '%s' CSV"
      % (lo, hi, csv))
    q("-c", "CREATE TABLE messages_raw (LIKE messages INCLUDING ALL)")
    t, _ = timed(lambda: q("-c", "\\copy messages_raw FROM '%s' CSV" % csv))
    count = int(q("-A", "-t", "-c", "SELECT count(*) FROM messages_raw").strip())
    if count != n:
        raise RuntimeError("psql \\copy loaded %d rows, expected %d" % (count, n))
    return t


def import_baseline(site, lo, hi, n, cpu):
    """The messages Roost stored for devices lo..hi, exported and loaded again with sqlite3
    `.import --csv` (one transaction) into a fresh WAL database with the messages table's
    definition and indexes; returns seconds."""
    db = os.path.join(site.data_dir, "roost.db")
    csv = os.path.join(site.dir, "messages.csv")
    subprocess.run(["sqlite3", "-batch", "-bail", "-csv", db, ".output " + csv,
                    "SELECT * FROM messages WHERE device_id BETWEEN %d AND %d" % (lo, hi)],
                   check=True)
    schema = subprocess.run(["sqlite3", "-batch", db, ".schema messages"], check=True,
                            capture_output=True, text=True).stdout
    raw = os.path.join(site.dir, "raw.db")
    subprocess.run(["sqlite3", "-batch", "-bail", raw, "PRAGMA journal_mode=WAL;", schema],
                   check=True, stdout=subprocess.DEVNULL)
    script = "PRAGMA synchronous=NORMAL;\nBEGIN;\n.import --csv %s messages\nCOMMIT;\n" % csv
    t, _ = timed(lambda: subprocess.run([*taskset(cpu), "sqlite3", "-batch", "-bail", raw],
                                        input=script, text=True, check=True,
                                        stdout=subprocess.DEVNULL))
    count = int(subprocess.run(["sqlite3", raw, "SELECT count(*) FROM messages"], check=True,
                               capture_output=True, text=True).stdout.strip())
    if count != n:
        raise RuntimeError("sqlite3 .import loaded %d rows, expected %d" % (count, n))
    return t


def fmt_cpu(r, cpu):
    """The server's CPU share, and the rate per CPU-second of the server (steadier than the
    rate on a shared machine, where other work takes part of the server's core)."""
    text = "server CPU %.0f%% of a core" % (100 * r["server_cpu"])
    if cpu is not None:
        text += ", CPU %d busy %.0f%%" % (cpu, 100 * r["cpu_busy"])
    if r["server_cpu"] > 0:
        text += ", %.0f per server CPU-second" % (r["rate"] / r["server_cpu"])
    return text


def fmt_run(r, per_request, cpu):
    return ("%9.0f messages/s (%d requests answered 200 in %.1f s, %d non-2xx; p50 %.1f ms, "
            "p99 %.1f ms; %d stored = %d answered + %d in flight at the stop; %.0f reports per "
            "commit; callbacks delivered during the run %.0f/s; %s; load average %s)"
            % (r["rate"], r["ok"], r["seconds"], r["non2xx"], r["p50_us"] / 1e3,
               r["p99_us"] / 1e3, r["stored"], r["ok"] * per_request,
               r["stored"] - r["ok"] * per_request, r["stored"] / max(1, r["commits"]),
               r["delivered"] / r["seconds"], fmt_cpu(r, cpu), r["load"]))


def run_engine(roost, engine, opts, server_cpu, load_cpu, work):
    s = opts
    n_single = s["single_threads"] * s["single_devices"]
    n_batch = s["batch_connections"] * s["batch_devices"]
    # The callback receiver: nginx answering 200 on keep-alive connections, beside the load.
    sink = Nginx(load_cpu)
    try:
        site = start_site(roost, engine, 1, server_cpu,
                          extra=("--send-callbacks", "false") if s["ingest_only"] else ())
    except BaseException:
        sink.close()
        raise
    out = {"engine": engine}
    try:
        # The station's password is verified (and cached) by prepare's warm-up report.
        tid, ids, station, admin = prepare(site, n_single + n_batch, FIRST_ID, type_name="ingest",
                                           payload_config=PAYLOAD_CONFIG)
        add_url_callback(admin, tid, sink.port)
        admin.close()
        auth = basic(station)
        single_ids, batch_ids = ids[:n_single], ids[n_single:]
        single_groups = [single_ids[i::s["single_threads"]] for i in range(s["single_threads"])]
        batch_groups = [batch_ids[i * s["batch_devices"]:(i + 1) * s["batch_devices"]]
                        for i in range(s["batch_connections"])]
        single_lua = write_lua(os.path.join(work, "single-%s.lua" % engine), single_groups, 1,
                               auth)
        batch_lua = write_lua(os.path.join(work, "batch-%s.lua" % engine), batch_groups, BATCH,
                              auth)
        lo_s, hi_s = FIRST_ID, FIRST_ID + n_single - 1
        lo_b, hi_b = FIRST_ID + n_single, FIRST_ID + n_single + n_batch - 1

        eng = engine
        # nginx first, with the same script and connections, just before roost's run.
        if shutil.which("nginx"):
            nginx = Nginx(server_cpu)
            try:
                load = loadavg()
                usage = Usage(lambda: [nginx.proc.pid] + children(nginx.proc.pid), server_cpu)
                ng = wrk(single_lua, nginx.port, s["single_threads"], s["connections"],
                         s["seconds"], load_cpu)
                ng["server_cpu"], ng["cpu_busy"] = usage.done()
                ng["load"] = load
                ng["rate"] = ng["ok"] / ng["seconds"]
            finally:
                nginx.close()
            say("%-8s nginx (baseline), same script: %9.0f requests/s (%d non-2xx; p50 %.1f ms, "
                "p99 %.1f ms; %s; load average %s)"
                % (eng, ng["rate"], ng["non2xx"], ng["p50_us"] / 1e3, ng["p99_us"] / 1e3,
                   fmt_cpu(ng, server_cpu), ng["load"]))
        elif smoke():
            ng = None
            say("%-8s nginx baseline skipped: nginx is not installed" % eng)
        else:
            raise RuntimeError("nginx not found: install it (scripts/deps.sh does)")
        out["nginx"] = ng

        single = roost_run(site, "%s single" % eng, single_lua, s["single_threads"],
                           s["connections"], s["seconds"], 1, lo_s, hi_s, (server_cpu, load_cpu),
                           s["profile"] and os.path.join(work, "perf-single-%s.data" % engine),
                           not s["ingest_only"],
                           s["strace"] and os.path.join(work, "strace-single-%s.txt" % engine))
        out["single"] = single
        say("%-8s single reports: %s" % (eng, fmt_run(single, 1, server_cpu)))
        if ng is not None:
            per_cpu = ""
            if single["server_cpu"] > 0 and ng["server_cpu"] > 0:
                per_cpu = " (per server CPU-second %.2f)" % (
                    (single["rate"] / single["server_cpu"]) / (ng["rate"] / ng["server_cpu"]))
            say("%-8s single reports: ratio roost/nginx %.2f%s"
                % (eng, single["rate"] / ng["rate"], per_cpu))
        batch = roost_run(site, "%s batch" % eng, batch_lua, s["batch_connections"],
                          s["batch_connections"], s["seconds"], BATCH, lo_b, hi_b,
                          (server_cpu, load_cpu),
                          s["profile"] and os.path.join(work, "perf-batch-%s.data" % engine),
                          not s["ingest_only"],
                          s["strace"] and os.path.join(work, "strace-batch-%s.txt" % engine))
        out["batch"] = batch
        say("%-8s batches of %d:  %s" % (eng, BATCH, fmt_run(batch, BATCH, server_cpu)))
        site.stop()
        if site.pg:
            out["copy"] = copy_baseline(site, lo_b, hi_b, batch["stored"], load_cpu)
            copy_rate = batch["stored"] / out["copy"]
            say("%-8s psql \\copy of the same %d rows into (LIKE messages INCLUDING ALL): "
                "%.3f s, %.0f rows/s; ratio roost/\\copy %.2f"
                % (eng, batch["stored"], out["copy"], copy_rate, batch["rate"] / copy_rate))
        else:
            # The baseline runs on the server's CPU: the same one core the server had.
            out["copy"] = import_baseline(site, lo_b, hi_b, batch["stored"], server_cpu)
            copy_rate = batch["stored"] / out["copy"]
            say("%-8s sqlite3 .import of the same %d rows into the messages table's definition "
                "and indexes: %.3f s, %.0f rows/s; ratio roost/.import %.2f"
                % (eng, batch["stored"], out["copy"], copy_rate, batch["rate"] / copy_rate))
    finally:
        site.close()
        sink.close()
    return out


def main():
    args = sys.argv[1:]
    opts = {"seconds": 2 if smoke() else 15, "connections": 4 if smoke() else 64}

    engine = take_flag(args, "--engine") or "both"
    opts["seconds"] = take_flag(args, "--seconds", int) or opts["seconds"]
    opts["connections"] = take_flag(args, "--connections", int) or opts["connections"]
    opts["profile"] = take_switch(args, "--profile")
    opts["strace"] = take_switch(args, "--strace")
    opts["ingest_only"] = take_switch(args, "--ingest-only")
    opts["single_threads"] = 1 if smoke() else 2
    # Per wrk thread, sent round robin. Many, in smoke mode too: two reports of one device in
    # flight at once on different connections may be committed out of order (a handler thread
    # preempted on the one pinned core) and the later-sent one refused as a replay, so a
    # device's next report must come long after its previous one.
    opts["single_devices"] = 2048
    opts["batch_connections"] = 2 if smoke() else 8
    opts["batch_devices"] = 1000 if smoke() else 2500  # per connection: 2 or 5 batches' worth
    if opts["connections"] % opts["single_threads"]:
        raise SystemExit("--connections must be a multiple of %d" % opts["single_threads"])
    if opts["single_devices"] < opts["connections"]:
        raise SystemExit("more connections than devices per wrk thread")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    build = args[0] if args else os.path.join(root, "build")
    roost = build_roost(build)
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: install it (scripts/deps.sh does)")
    server_cpu, load_cpu = cpus()
    say(machine_line())
    if server_cpu is None:
        say("pinning: none (one CPU): server and wrk share it")
    else:
        say("pinning: server under test (roost and its postgres processes, or nginx) on CPU "
              "%d; wrk and psql on CPU %d" % (server_cpu, load_cpu))
    say("single reports: %d connections over %d wrk threads, %d s; batches of %d: %d "
          "connections (one wrk thread each), %d s; roost serve --threads 1"
          % (opts["connections"], opts["single_threads"], opts["seconds"], BATCH,
             opts["batch_connections"], opts["seconds"]))
    work = tempfile.mkdtemp(prefix="roost-ingest-bench-", dir=os.environ.get("TMPDIR", "/tmp"))
    results = []
    failed = False
    try:
        for eng in engines(engine):
            r = run_engine(roost, eng, opts, server_cpu, load_cpu, work)
            results.append(r)
            failed = failed or bool(r["single"]["problems"] or r["batch"]["problems"])
    finally:
        if opts["profile"]:
            say("profiles kept in %s (perf report -i ...)" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    parts = []
    for r in results:
        ng = r["nginx"]
        text = "%s single %.0f msg/s" % (r["engine"], r["single"]["rate"])
        if ng is not None:
            text += " (nginx %.0f req/s, %.2fx)" % (ng["rate"], r["single"]["rate"] / ng["rate"])
        text += ", batch %.0f msg/s" % r["batch"]["rate"]
        if "copy" in r:
            rate = r["batch"]["stored"] / r["copy"]
            text += " (%s %.0f rows/s, %.2fx)" % ("\\copy" if r["engine"] == "postgres" else
                                                  ".import", rate, r["batch"]["rate"] / rate)
        if r["engine"] == "sqlite":
            met = [r["single"]["rate"] >= 20000, r["batch"]["rate"] >= 150000]
            if ng is not None:
                met.append(r["single"]["rate"] >= 0.3 * ng["rate"])
            text += " [SQLite targets: %s]" % ("met" if all(met) else "NOT met")
        parts.append(text)
    print_result("ingest%s: %s; checks %s; targets on SQLite: single >= 20000 msg/s and >= "
                 "0.30x nginx, batch >= 150000 msg/s"
                 % (" (callbacks queued, sent by no instance during the runs)"
                    if opts["ingest_only"] else "", "; ".join(parts),
                    "FAILED" if failed else "passed"),
                 "%d s runs check that it works" % opts["seconds"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
