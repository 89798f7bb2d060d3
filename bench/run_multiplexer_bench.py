#!/usr/bin/env python3
"""The LNS multiplexer of `roost serve`: the latency it adds to a forwarded uplink and the
packets per second it forwards, each beside the same path without Roost, measured in the same
run.

Usage: bench/run_multiplexer_bench.py [BUILD_DIR] [--uplinks N] [--seconds D] [--gateways G]
                                      [--runs R] [--no-pin]
       (defaults: 5 000 uplinks, 5 s blasts, 4 gateways, 3 runs, medians printed last)
       ROOST_BENCH_SMOKE=1 ...   (200 uplinks, a 1 s blast: checks that it works and that
                                  uplinks arrive intact; figures meaningless)

`roost serve --lns-upstream 127.0.0.1:P` (SQLite, a fresh data directory) with a Python fake
upstream network server on port P and fake gateways speaking GWMP v2 by hand (PULL_DATA, then
PUSH_DATA with one ordinary, non-proprietary LoRaWAN rxpk: an unconfirmed data uplink, which
Roost forwards byte for byte on the gateway's own upstream socket):

  (a) latency: one PUSH_DATA at a time, N of them; the time from just before the gateway's
      sendto to just after the upstream's recvfrom returns (one Python thread does both, so
      one clock and no thread hand-off). The baseline is the same exchange with the gateway
      sending straight to the upstream's socket: Python's own loopback UDP cost. Through-Roost
      and direct exchanges alternate, so both see the same machine. Roost's added latency is
      the difference of the two distributions' p50 and of their p99 (target: p99 <= 1 ms);
  (b) packets/s: G gateway sockets, spread over two sender processes, send PUSH_DATA as fast
      as they can for D seconds; a third process (the upstream) counts what arrives until it
      has been quiet for 0.5 s. Forwarded packets/s = arrived / D. The baseline is the same
      blast straight to the upstream. Roost's own counters (/metrics: roost_gwmp_datagrams_total,
      roost_gwmp_rxpk_total{kind="forwarded"}, roost_gwmp_dropped_total) show where the rest
      went: loopback loses nothing on the way, so sent - received is what Roost's full socket
      buffer dropped (it cannot count those) and forwarded - arrived the upstream's.

Pinning (on a machine with 2 or more CPUs, unless --no-pin): roost runs on the first allowed CPU; the Python
gateways and upstream (the latency loop, or the sender and counting processes) on the second,
for the through-Roost and the direct measurements alike. The blast's senders and counter share
their one CPU, so the direct baseline is bounded by what Python moves through loopback on one
core.
"""

import json
import multiprocessing
import os
import socket
import statistics
import sys
import time

from http_bench_support import Site, build_roost, machine_line, percentile, smoke
from pipeline_bench_support import cpu_seconds, loadavg, metric, pin, say, take_flag, take_switch
import pipeline_bench_support

RXPK = {"tmst": 3512348611, "chan": 2, "rfch": 0, "freq": 866.349812, "stat": 1,
        "modu": "LORA", "datr": "SF7BW125", "codr": "4/6", "rssi": -35, "lsnr": 5.1,
        "size": 12, "data": "QAEAAAGAAQABAgME"}  # MHDR 0x40: unconfirmed data up
BODY = json.dumps({"rxpk": [RXPK]}).encode()


def gateway_eui(i):
    return bytes.fromhex("aa555a00000%05x" % i)


def push_data(token, eui):
    return bytes([2, token >> 8, token & 0xff, 0]) + eui + BODY


def udp_socket(rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # capped at rmem_max
    s.bind(("127.0.0.1", 0))
    return s


def pull(gw, eui, target):
    """PULL_DATA until Roost's PULL_ACK: the gateway is known and has its upstream socket."""
    gw.settimeout(1)
    for _ in range(10):
        gw.sendto(bytes([2, 0x12, 0x34, 2]) + eui, target)
        try:
            while True:
                data, _ = gw.recvfrom(65535)
                if data[:4] == bytes([2, 0x12, 0x34, 4]):
                    return
        except socket.timeout:
            continue
    raise RuntimeError("no PULL_ACK from roost")


def drain(sock):
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        while True:
            sock.recvfrom(65535)
    except BlockingIOError:
        pass
    finally:
        sock.settimeout(timeout)


# --- (a) latency ---------------------------------------------------------------------------

def latency(roost_target, upstream, n):
    """(through-Roost samples in µs, direct samples in µs, lost uplinks); `upstream` is the
    socket bound to roost's --lns-upstream."""
    gw = udp_socket()
    eui = gateway_eui(1)
    pull(gw, eui, roost_target)
    upstream.settimeout(2)
    # The upstream sees the PULL_DATA too; from then on only PUSH_DATA.
    drain(upstream)
    direct_target = upstream.getsockname()
    through, direct, lost = [], [], 0
    clock = time.perf_counter_ns
    for i in range(n):
        token = i & 0xffff
        packet = push_data(token, eui)
        for target, out in ((roost_target, through), (direct_target, direct)):
            t0 = clock()
            gw.sendto(packet, target)
            try:
                while True:
                    data, _ = upstream.recvfrom(65535)
                    if data == packet:
                        break
            except socket.timeout:
                lost += 1
                continue
            out.append((clock() - t0) / 1000.0)
        drain(gw)  # Roost's PUSH_ACKs
    return through, direct, lost


# --- (b) packets/s -------------------------------------------------------------------------

PINNED = True  # --no-pin: let the scheduler place everything


def cpus():
    """(roost's CPU, the Python side's CPU), or (None, None) unpinned."""
    return pipeline_bench_support.cpus() if PINNED else (None, None)


def on_load_cpu():
    load_cpu = cpus()[1]
    if load_cpu is not None:
        os.sched_setaffinity(0, {load_cpu})


def count_upstream(port_queue, result_queue, stop):
    on_load_cpu()
    sock = udp_socket(rcvbuf=4 << 20)
    port_queue.put(sock.getsockname()[1])
    sock.settimeout(0.5)
    count = 0
    while True:
        try:
            data, _ = sock.recvfrom(65535)
            count += len(data) > 3 and data[3] == 0  # PUSH_DATA (not the PULL_DATA keep-alives)
        except socket.timeout:
            if stop.is_set():
                break
    result_queue.put(count)


def blast(target, first_gateway, gateways, seconds, pulled, go, result_queue):
    on_load_cpu()
    socks = []
    for g in range(gateways):
        s = udp_socket()
        eui = gateway_eui(first_gateway + g)
        if pulled:
            pull(s, eui, target)
        socks.append((s, eui))
    go.wait()
    sent = 0
    token = 0
    deadline = time.monotonic() + seconds
    packets = [[push_data(t, eui) for t in range(256)] for _, eui in socks]
    while time.monotonic() < deadline:
        for _ in range(64):
            for (s, _), ps in zip(socks, packets):
                try:
                    s.sendto(ps[token & 0xff], target)
                    sent += 1
                except OSError:
                    pass  # the send buffer is full: the sender is faster than loopback
            token += 1
    result_queue.put(sent)


def throughput(target_fn, gateways, seconds, pulled):
    """(sent, arrived) of one blast; target_fn(upstream port) -> the senders' target."""
    ctx = multiprocessing.get_context("fork")
    ports, results, sent_q = ctx.Queue(), ctx.Queue(), ctx.Queue()
    stop, go = ctx.Event(), ctx.Event()
    counter = ctx.Process(target=count_upstream, args=(ports, results, stop))
    counter.start()
    port = ports.get(timeout=10)
    target = target_fn(port)
    per = [gateways // 2 + gateways % 2, gateways // 2]
    senders = []
    first = 100
    for k in per:
        if k == 0:
            continue
        p = ctx.Process(target=blast, args=(target, first, k, seconds, pulled, go, sent_q))
        p.start()
        senders.append(p)
        first += k
    time.sleep(0.5 if pulled else 0.1)  # the PULL_DATA exchanges
    go.set()
    for p in senders:
        p.join()
    stop.set()
    sent = sum(sent_q.get(timeout=10) for _ in senders)
    arrived = results.get(timeout=30)
    counter.join()
    return sent, arrived, port


def run_latency(roost, n, problems):
    upstream = udp_socket()
    up_port = upstream.getsockname()[1]
    site = Site(roost, "sqlite")
    try:
        gw_port = free_port()
        site.start(threads=1, extra=("--gwmp-listen", "127.0.0.1:%d" % gw_port,
                                     "--lns-upstream", "127.0.0.1:%d" % up_port))
        server_cpu, load_cpu = cpus()
        pin(site.proc.pid, server_cpu)
        mine = os.sched_getaffinity(0)
        if load_cpu is not None:
            os.sched_setaffinity(0, {load_cpu})
        load = loadavg()
        try:
            through, direct, lost = latency(("127.0.0.1", gw_port), upstream, n)
        finally:
            os.sched_setaffinity(0, mine)
    finally:
        upstream.close()
        site.close()
    if lost:
        problems.append("latency: %d uplinks lost" % lost)
    t, d = sorted(through), sorted(direct)
    row = {"p50": percentile(t, 50), "p99": percentile(t, 99), "b50": percentile(d, 50),
           "b99": percentile(d, 99)}
    row["add50"], row["add99"] = row["p50"] - row["b50"], row["p99"] - row["b99"]
    say("latency, %d uplinks one at a time (load average %s): through roost p50 %.0f µs, "
        "p99 %.0f µs; direct (baseline) p50 %.0f µs, p99 %.0f µs; roost adds p50 %.0f µs, "
        "p99 %.0f µs (target p99 <= 1000 µs: %s)"
        % (n, load, row["p50"], row["p99"], row["b50"], row["b99"], row["add50"], row["add99"],
           "met" if row["add99"] <= 1000 else "not met"))
    return row


def run_throughput(roost, gateways, seconds, problems):
    # A fresh server whose upstream is the counting process's port.
    site = Site(roost, "sqlite")
    try:
        gw_port = free_port()
        started = {}

        def through_roost(port):
            site.start(threads=1, extra=("--gwmp-listen", "127.0.0.1:%d" % gw_port,
                                         "--lns-upstream", "127.0.0.1:%d" % port))
            pin(site.proc.pid, cpus()[0])
            started["cpu"] = cpu_seconds([site.proc.pid])
            return ("127.0.0.1", gw_port)

        load = loadavg()
        sent, arrived, _ = throughput(through_roost, gateways, seconds, pulled=True)
        server_cpu = cpu_seconds([site.proc.pid]) - started["cpu"]
        received = metric(site, "roost_gwmp_datagrams_total", "push_data")
        forwarded = metric(site, "roost_gwmp_rxpk_total", "forwarded")
        dropped = metric(site, "roost_gwmp_dropped_total")
        site.stop()
        sent_b, arrived_b, _ = throughput(lambda port: ("127.0.0.1", port), gateways, seconds,
                                          pulled=False)
    finally:
        site.close()
    rate, rate_b = arrived / seconds, arrived_b / seconds
    # Loopback loses nothing on the way: what is missing was dropped by a full receive
    # buffer, Roost's (sent - received) or the upstream's (forwarded - arrived).
    say("packets/s, %d gateways blasting for %.0f s (load average %s): through roost %.0f "
        "packets/s arrived upstream (sent %d; roost received %.0f PUSH_DATA, %.0f lost in its "
        "full socket buffer; forwarded %.0f rxpk, counted %.0f drops; upstream got %d, %.0f lost "
        "in its buffer; roost CPU %.2f s = %.0f%% of one core, %.0f packets per CPU-second); "
        "direct (baseline) %.0f "
        "packets/s (sent %d, got %d); roost / direct = %.2f"
        % (gateways, seconds, load, rate, sent, received, sent - received, forwarded, dropped,
           arrived, forwarded - arrived, server_cpu, 100 * server_cpu / seconds,
           received / max(server_cpu, 1e-9), rate_b, sent_b,
           arrived_b, rate / rate_b if rate_b else float("nan")))
    if arrived == 0:
        problems.append("packets/s: nothing arrived through roost")
    if arrived > forwarded:
        problems.append("packets/s: the upstream got %d, roost forwarded %.0f"
                        % (arrived, forwarded))
    return {"rate": rate, "rate_b": rate_b, "cpu": server_cpu / seconds,
            "per_cpu_s": received / max(server_cpu, 1e-9)}


def main():
    args = sys.argv[1:]
    n = take_flag(args, "--uplinks", int)
    seconds = take_flag(args, "--seconds", float)
    gateways = take_flag(args, "--gateways", int) or 4
    runs = take_flag(args, "--runs", int)
    global PINNED
    PINNED = not take_switch(args, "--no-pin")
    build = args[0] if args else "build"
    if smoke():
        n, seconds, runs = n or 200, seconds or 1.0, runs or 1
    else:
        n, seconds, runs = n or 5000, seconds or 5.0, runs or 3
    roost = build_roost(build)
    say(machine_line())
    problems = []
    lat, thr = [], []
    for _ in range(runs):
        lat.append(run_latency(roost, n, problems))
        thr.append(run_throughput(roost, gateways, seconds, problems))
    med = {k: statistics.median(r[k] for r in lat) for k in lat[0]}
    med.update({k: statistics.median(r[k] for r in thr) for k in thr[0]})
    say("median of %d: roost adds p50 %.0f µs, p99 %.0f µs (through roost p99 %.0f µs, direct "
        "p99 %.0f µs; target p99 <= 1000 µs: %s); %.0f packets/s through roost, %.0f direct, "
        "roost / direct = %.2f, roost at %.0f%% of one core (%.0f packets per CPU-second)"
        % (runs, med["add50"], med["add99"], med["p99"], med["b99"],
           "met" if med["add99"] <= 1000 else "not met", med["rate"], med["rate_b"],
           med["rate"] / med["rate_b"] if med["rate_b"] else float("nan"), 100 * med["cpu"],
           med["per_cpu_s"]))
    if smoke():
        say("(smoke run: figures meaningless)")
    for p in problems:
        say("FAILED: " + p)
    if problems:
        sys.exit(1)


def free_port():
    s = udp_socket()
    port = s.getsockname()[1]
    s.close()
    return port


if __name__ == "__main__":
    main()
