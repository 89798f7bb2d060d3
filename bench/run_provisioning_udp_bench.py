#!/usr/bin/env python3
"""LoRaWAN zero-touch provisioning through UDP: complete (accepted) provisionings per second of
`roost serve` driven by `roost simulate provisioning`, beside `openssl speed ecdhk233` measured
in the same run.

Usage: bench/run_provisioning_udp_bench.py [BUILD_DIR] [--devices N] [--gateways G]
                                           [--concurrency C] [--runs R] [--threads T]
       (defaults: 6 000 devices, 2 gateways, concurrency 256, 3 runs, 1 event-loop thread)
       ROOST_BENCH_SMOKE=1 ...   (20 devices, one run, 1 s of OpenSSL: checks that it works
                                  and that every device is provisioned; figures meaningless)

Each run:
  1. `openssl speed -seconds 3 ecdhk233`: K-233 ECDH operations per second of one core (one
     operation = one scalar multiplication), with the server idle;
  2. N fresh Provision IDs are imported through POST /api/provisioning/ids/import (a report
     CSV, not timed) into one `roost serve` (all runs) on SQLite with a fresh data directory, a devEUI
     pool, Hello limits raised far above the load (provisioning.hellos_per_second,
     hello_burst and the per-gateway pair at 100 000 / 1 000 000, max_sessions to match) and a
     20 ms de-duplication window (the default 200 ms makes every exchange wait 400 ms, so the
     rate would be the simulator's concurrency / 0.4 s);
  3. `roost simulate provisioning --devices N --gateways G --report ... --json --concurrency C`
     (every device heard by every gateway, over loopback UDP): provisionings/s = accepted
     devices / wall time of the simulator process (its start, the gateways' PULL_DATA and
     the check of every downlink included). The run fails unless every device is accepted
     with every downlink in its RX1 (the simulator's own checks, unchanged).

The target of the issue: provisionings/s x 2 >= 0.4 x OpenSSL's op/s (each provisioning costs
the server two K-233 multiplications: the Hello response's key pair and the shared point).

The simulator runs on the same machine and does K-233 work of its own (each device makes a
key pair and the shared point: two multiplications too, on one thread), so the CPU is shared
by the two. Each run therefore prints the CPU seconds of the server and of the simulator
(from /proc and the simulator's resource usage), the rates per CPU-second of each, and the
server's K-233 multiplications per CPU-second beside OpenSSL's op/s; the median of the runs
is printed last.
"""

import base64
import hashlib
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

from http_bench_support import Site, build_roost, machine_line, smoke
from pipeline_bench_support import cpu_seconds, loadavg, say, take_flag

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
POOL = "70b3d57ed0000000/40"


def new_pid(rng):
    return "".join(rng.choice(ALPHABET) for _ in range(20))


def report_csv(pids, serial_base):
    """A Provision ID report as the factory hands it over (tests/api/test_api_provisioning.py)."""
    lines = ["MatchX Device Provisioning,,,,,,", "manufacturerName,MatchX GmbH,,,,,",
             "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI,provisionIdHash"]
    for i, pid in enumerate(pids):
        digest = hashlib.sha256((pid + ".MatchX").encode()).hexdigest()
        lines.append("%s,M-1234,S-%d,N,,0000000000000000,%s" % (pid, serial_base + i, digest))
    return "\n".join(lines) + "\n"


def import_ids(site, admin, text):
    token = base64.b64encode(("%s:%s" % (admin["login"], admin["password"])).encode()).decode()
    conn = http.client.HTTPConnection(site.host, site.port, timeout=600)
    conn.request("POST", "/api/provisioning/ids/import", body=text.encode(),
                 headers={"Authorization": "Basic " + token, "Content-Type": "text/csv"})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    if resp.status != 200:
        raise RuntimeError("import: %d %s" % (resp.status, body[:300]))


def openssl_ecdhk233(seconds):
    """op/s of `openssl speed -seconds S ecdhk233` (one core)."""
    out = subprocess.run(["openssl", "speed", "-seconds", str(seconds), "ecdhk233"],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if "ecdh" in line and "k233" in line.lower():
            return float(line.split()[-1])
    raise RuntimeError("no ecdh K-233 line in openssl's output: %r" % out)


def kernel_udp_rcvbuf_errors():
    with open("/proc/net/snmp") as f:
        lines = [line.split() for line in f if line.startswith("Udp:")]
    return int(lines[1][lines[0].index("RcvbufErrors")])


def nonzero_drops(site):
    """The server's drop counters that are not zero, "reason=count, ..."."""
    with urllib.request.urlopen("http://%s:%d/metrics" % (site.host, site.port),
                                timeout=30) as r:
        text = r.read().decode()
    out = []
    for line in text.splitlines():
        if line.startswith(("roost_gwmp_dropped_total{", "roost_provisioning_dropped_total{")):
            key, _, value = line.rpartition(" ")
            if float(value) != 0:
                out.append("%s %s" % (key, value))
    return ", ".join(out) or "nothing dropped"


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def simulate(roost, gwmp_port, n, gateways, concurrency, path, out_path):
    """Runs the simulator; (exit code, wall seconds, its CPU seconds, its JSON)."""
    with open(out_path, "w") as out, open(out_path + ".err", "w") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [roost, "simulate", "provisioning", "--server", "127.0.0.1:%d" % gwmp_port,
             "--devices", str(n), "--gateways", str(gateways), "--report", path, "--json",
             "--concurrency", str(concurrency)], stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    with open(out_path) as f:
        text = f.read()
    try:
        result = json.loads(text)
    except ValueError:
        with open(out_path + ".err") as f:
            raise RuntimeError("simulate printed no JSON: %r %r" % (text[:300], f.read()[:300]))
    return proc.returncode, wall, usage.ru_utime + usage.ru_stime, result


def main():
    args = sys.argv[1:]
    n = take_flag(args, "--devices", int)
    gateways = take_flag(args, "--gateways", int) or 2
    concurrency = take_flag(args, "--concurrency", int)
    runs = take_flag(args, "--runs", int)
    threads = take_flag(args, "--threads", int) or 1
    build = args[0] if args else "build"
    if smoke():
        n, concurrency, runs, openssl_seconds = n or 20, concurrency or 8, runs or 1, 1
    else:
        n, concurrency, runs, openssl_seconds = n or 6000, concurrency or 256, runs or 3, 3
    roost = build_roost(build)
    say(machine_line())
    say("provisioning over UDP: %d devices, %d gateways hearing each, concurrency %d, %d run(s)"
        % (n, gateways, concurrency, runs))

    site = Site(roost, "sqlite")
    gwmp_port = free_udp_port()
    rng = random.Random()
    problems = []
    rows = []
    try:
        site.start(threads=threads, extra=(
            "--gwmp-listen", "127.0.0.1:%d" % gwmp_port, "--dev-eui-pool", POOL,
            "--hellos-per-second", "100000", "--hello-burst", "1000000",
            "--gateway-hellos-per-second", "100000", "--gateway-hello-burst", "1000000",
            "--provisioning-session-ttl-s", "60", "--max-provisioning-sessions", "10000000",
            "--gwmp-dedup-window-ms", "20", "--max-queued-uplinks", "4096"))
        admin = site.api_user("ADMIN")
        kernel0 = kernel_udp_rcvbuf_errors()
        for r in range(runs):
            pids = [new_pid(rng) for _ in range(n)]
            text = report_csv(pids, r * n)
            import_ids(site, admin, text)
            path = os.path.join(site.dir, "report-%d.csv" % r)
            with open(path, "w") as f:
                f.write(text)
            load = loadavg()
            ops = openssl_ecdhk233(openssl_seconds)
            server_cpu0 = cpu_seconds([site.proc.pid])
            code, wall, sim_cpu, out = simulate(roost, gwmp_port, n, gateways, concurrency, path,
                                                os.path.join(site.dir, "sim-%d.json" % r))
            server_cpu = cpu_seconds([site.proc.pid]) - server_cpu0
            accepted = out["accepted"]
            if code != 0 or accepted != n or out["rx1ChecksFailed"] != 0:
                problems.append("run %d: %d of %d accepted, %d timed out, %d rejected, %d RX1 "
                                "checks failed (exit %d)" % (r + 1, accepted, n, out["timedOut"],
                                                            out["rejected"],
                                                            out["rx1ChecksFailed"], code))
            rate = accepted / wall
            retried = sum(1 for d in out["results"] if d.get("attempts", 1) > 1)
            row = {"rate": rate, "ops": ops, "wall": wall, "server_cpu": server_cpu,
                   "sim_cpu": sim_cpu, "p50": out["exchangeMsP50"], "p99": out["exchangeMsP99"]}
            rows.append(row)
            say("run %d: %d accepted in %.2f s = %.0f provisionings/s; openssl ecdhk233 %.0f op/s; "
                "2 x prov/s = %.0f vs 0.4 x op/s = %.0f (%s); exchange p50 %.0f ms, p99 %.0f ms, "
                "%d devices retried; "
                "CPU: server %.2f s (%.0f%% of one core, %.0f prov per CPU-s, %.0f K-233 mult "
                "per CPU-s = %.2f x OpenSSL), simulator %.2f s (%.0f%% of one core, %.0f prov "
                "per CPU-s); load average before %s"
                % (r + 1, accepted, wall, rate, ops, 2 * rate, 0.4 * ops,
                   "met" if 2 * rate >= 0.4 * ops else "not met", row["p50"], row["p99"], retried,
                   server_cpu, 100 * server_cpu / wall, accepted / max(server_cpu, 1e-9),
                   2 * accepted / max(server_cpu, 1e-9),
                   2 * accepted / max(server_cpu, 1e-9) / ops, sim_cpu, 100 * sim_cpu / wall,
                   accepted / max(sim_cpu, 1e-9), load))
        say("server, all runs: %s; kernel UDP receive-buffer drops (whole machine) %d"
            % (nonzero_drops(site), kernel_udp_rcvbuf_errors() - kernel0))
    finally:
        site.close()

    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]} if rows else {}
    if med:
        say("median of %d: %.0f provisionings/s, openssl %.0f op/s; 2 x prov/s = %.0f, "
            "0.4 x op/s = %.0f: ratio (2 x prov/s) / op/s = %.2f, target 0.40 %s; server CPU "
            "%.2f s, simulator CPU %.2f s per run of %.2f s"
            % (runs, med["rate"], med["ops"], 2 * med["rate"], 0.4 * med["ops"],
               2 * med["rate"] / med["ops"],
               "met" if 2 * med["rate"] >= 0.4 * med["ops"] else "not met",
               med["server_cpu"], med["sim_cpu"], med["wall"]))
    if smoke():
        say("(smoke run: figures meaningless)")
    if problems:
        for p in problems:
            say("FAILED: " + p)
        sys.exit(1)


if __name__ == "__main__":
    main()
