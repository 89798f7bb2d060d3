"""Shared by the pipeline benchmarks (bench/run_ingest_bench.py, run_callback_*.py,
run_message_list_bench.py, run_message_memory_bench.py): their command line and report lines,
CPU pinning and usage, a roost site started on its CPU, with a station and a device type,
devices registered through the API, reports generated and sent in batches, nginx and wrk for
the baselines, a callback sink that records when each callback arrives, and a paced report
generator. Standard library only.

Reports made here follow the ingest rules the benchmarks must not trip over: a device's
sequence numbers go up by one (mod 4096) and its next report is sent only after its previous
one was answered, so nothing is refused as a replay."""

import asyncio
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from http_bench_support import Client, Site, machine_line, smoke
import pgfixture  # noqa: E402 (on the path through http_bench_support)

STATION = "0A1B"
BATCH = 1000  # reports per request when filling: the most one request takes


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])

# --- the command line and the report ---------------------------------------------------------

def say(line):
    print(line, flush=True)


def take_flag(args, name, conv=str):
    """The value after `name` in `args` (both removed), converted; None when absent."""
    if name not in args:
        return None
    i = args.index(name)
    value = conv(args[i + 1])
    del args[i:i + 2]
    return value


def take_switch(args, name):
    """Whether `name` is in `args` (removed)."""
    if name not in args:
        return False
    args.remove(name)
    return True


def engines(choice):
    """The engines of --engine sqlite|postgres|both."""
    return ["sqlite", "postgres"] if choice == "both" else [choice]


def say_checks(engine, problems):
    for p in problems:
        say("  CHECK FAILED (%s): %s" % (engine, p))


def print_result(result, smoke_note):
    """The closing lines: the machine, the RESULT line, and in smoke mode `smoke_note`."""
    print(machine_line())
    print("RESULT " + result)
    if smoke():
        print("(smoke mode: %s; the figures mean nothing)" % smoke_note)


# --- CPUs: pinning and usage -------------------------------------------------------------------

def cpus():
    """(server CPU, load CPU), or (None, None) on a machine with one CPU."""
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        return None, None
    return allowed[0], allowed[1]


def pin(pid, cpu):
    """Pins every thread of process `pid` to `cpu` (threads and children made later inherit).
    A process or thread that ended meanwhile (a PostgreSQL worker that finished between the
    listing and the pinning) is skipped: there is nothing left to pin."""
    if cpu is None:
        return
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except FileNotFoundError:
        return
    for tid in tids:
        try:
            os.sched_setaffinity(int(tid), {cpu})
        except ProcessLookupError:
            pass


def pin_postgres(pg, cpu):
    """Pins the postmaster and every process it started; backends forked later inherit it."""
    if cpu is not None:
        for pid in postgres_pids(pg):
            pin(pid, cpu)


def postgres_pids(pg):
    with open(os.path.join(pg.data_dir, "postmaster.pid")) as f:
        master = int(f.readline())
    return [master] + children(master)


def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError):
                pass  # the process ended meanwhile
    return found


def cpu_seconds(pids):
    """User + system CPU seconds of the processes (all their threads)."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def cpu_busy(cpu):
    """Seconds CPU `cpu` has been busy (not idle, not waiting for I/O) since boot."""
    if cpu is None:
        return 0.0
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu%d " % cpu):
                v = [int(x) for x in line.split()[1:]]
                return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")
    return 0.0


class Usage:
    """CPU used by the server under test, and by anything on its CPU, during a run."""

    def __init__(self, pids, cpu):
        self.pids, self.cpu = pids, cpu
        self.t0 = time.perf_counter()
        self.server0, self.busy0 = cpu_seconds(pids()), cpu_busy(cpu)

    def done(self):
        wall = time.perf_counter() - self.t0
        return ((cpu_seconds(self.pids()) - self.server0) / wall,
                (cpu_busy(self.cpu) - self.busy0) / wall)


def taskset(cpu):
    return [] if cpu is None else ["taskset", "-c", str(cpu)]



# --- the site ---------------------------------------------------------------------------------

def start_site(roost, engine, threads, cpu, extra=()):
    """`roost serve --threads threads` on a fresh site, pinned (and its postgres) to `cpu`;
    `extra`: more arguments."""
    site = Site(roost, engine)
    try:
        if site.pg:
            pin_postgres(site.pg, cpu)
        site.start(threads=threads, extra=("--gwmp-listen", "off", *extra))
        pin(site.proc.pid, cpu)
    except BaseException:
        site.close()
        raise
    return site


def add_url_callback(admin, tid, port):
    """One URL callback of device type `tid`: POST http://127.0.0.1:<port>/cb/{device}/{seqNumber}
    with the default JSON body."""
    url = "http://127.0.0.1:%d/cb/{device}/{seqNumber}" % port
    admin.json("POST", "/api/devicetypes/%s/callbacks/new" % tid,
               json.dumps([{"url": url, "httpMethod": "POST",
                            "contentType": "application/json"}]))



def metric(site, name, label=None):
    """A counter or gauge of the server's /metrics: the sum over its series, or the series whose
    one label has the value `label`."""
    with urllib.request.urlopen("http://%s:%d/metrics" % (site.host, site.port),
                                timeout=30) as r:
        text = r.read().decode()
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        key, _, value = line.rpartition(" ")
        rest = key[len(name):]
        if rest and not rest.startswith("{"):
            continue  # another metric whose name starts the same
        if label is not None and ('"%s"' % label) not in rest:
            continue
        total += float(value)
    return total


def sql(site, query):
    """One value of a query on the site's database."""
    if site.engine == "sqlite":
        out = subprocess.run(["sqlite3", "-batch", os.path.join(site.data_dir, "roost.db"),
                              query], check=True, capture_output=True, text=True).stdout
    else:
        out = subprocess.run([os.path.join(site.pg.bin, "psql"), "-X", "-A", "-t", "-v",
                              "ON_ERROR_STOP=1", "-d", site.pg.conninfo("bench"), "-c", query],
                             check=True, capture_output=True, text=True).stdout
    return out.strip()


def basic(user):
    return base64.b64encode(("%s:%s" % (user["login"], user["password"])).encode()).decode()


def prepare(site, n_devices, first_id, type_name="bench", payload_config=None):
    """Registers n_devices (bulk requests of at most 200 000: the bulk body limit is 32 MiB),
    of a device type whose payload is decoded with `payload_config` (a Custom format) when
    given, creates the station and a STATION API user. Returns (type id, device IDs in hex,
    STATION user, ADMIN client)."""
    admin = Client(site, site.api_user("ADMIN"))
    new_type = {"name": type_name}
    if payload_config:
        new_type.update(payloadType="Custom", payloadConfig=payload_config)
    tid = admin.json("POST", "/api/devicetypes/create", json.dumps(new_type))["id"]
    ids = []
    chunk = 200_000
    for start in range(0, n_devices, chunk):
        n = min(chunk, n_devices - start)
        pairs = site.import_credentials(n, "%X" % (first_id + start))
        body = json.dumps({"prefix": "b-", "productCertificate": "P_0004_D356_03",
                           "ids": [{"id": d, "pac": p} for d, p in pairs]})
        job = admin.json("POST", "/api/devicetypes/%s/devices/bulk/create/async" % tid, body,
                         expect=202)["jobId"]
        while True:
            st = admin.json("GET", "/api/jobs/" + job)
            if st["jobDone"]:
                break
            time.sleep(0.05)
        if st["status"]["success"] != n:
            raise RuntimeError("registration: %d of %d devices" % (st["status"]["success"], n))
        ids += [d for d, _ in pairs]
    admin.json("POST", "/api/stations/create", json.dumps(
        {"id": STATION, "name": "bench", "lat": 43.6, "lng": 1.44}), expect=201)
    station = site.api_user("STATION")
    # The station's password is checked once (Argon2id) and cached before anything is timed.
    warm = Client(site, station)
    # Now: a report older than the message retention is refused before its device is looked at.
    now_ms = int(time.time() * 1000)
    if warm.json("POST", "/api/ingest/uplink", report("FFFFFFFF", 0, now_ms)).get("reason") != \
            "unknown_device":
        raise RuntimeError("the warm-up report was not refused as unknown_device")
    warm.close()
    return tid, ids, station, admin


def report(device, seq, t):
    """One report of `device` (hex) at epoch ms `t`: 6 bytes of data from the time."""
    return ('{"device":"%s","seqNumber":%d,"data":"%012d","time":%d,"station":"%s",'
            '"rssi":-98.5,"snr":11.25}' % (device, seq % 4096, t % 10**12, t, STATION))


def send_batches(site, station, batches, expect_accepted=True):
    """Sends each body (a JSON array of reports) in order on one keep-alive connection; checks
    that every report was accepted. Returns the number of reports sent."""
    c = Client(site, station)
    n = 0
    for body in batches:
        status, data = c.call("POST", "/api/ingest/uplink", body)
        while status == 503:  # the writer's queue is full: send again, as a station does
            time.sleep(0.2)
            status, data = c.call("POST", "/api/ingest/uplink", body)
        if status != 200:
            raise RuntimeError("ingest: %d %s" % (status, data[:300]))
        r = json.loads(data)
        if expect_accepted and r["accepted"] != len(r["results"]):
            raise RuntimeError("ingest: %d of %d accepted: %s" % (
                r["accepted"], len(r["results"]),
                [x for x in r["results"] if x["result"] != "accepted"][:3]))
        n += len(r["results"])
    c.close()
    return n


def rss_kb(pid):
    """(VmRSS, VmHWM) of process `pid` in kB."""
    vals = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                vals[key] = int(rest.split()[0])
    return vals["VmRSS"], vals["VmHWM"]


# --- profiles of the server during a measurement ----------------------------------------------

def profile_start(pid, out):
    """perf record (cpu-clock: hardware counters are not available in every guest) of `pid`."""
    if not shutil.which("perf"):
        return None
    return subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "999", "-g", "-o", out,
                             "-p", str(pid)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def strace_start(pid, out):
    """strace -c -f of `pid`: system calls counted, all threads."""
    if not shutil.which("strace"):
        return None
    return subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p", str(pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def strace_report(proc, out, count, unit="delivery", during="the drain"):
    """Prints the system calls counted, per `unit` (`count` of them were done)."""
    if proc is None:
        return
    proc.send_signal(2)
    proc.wait(timeout=60)
    with open(out) as f:
        lines = f.read().splitlines()
    print("  strace -c -f (roost process, %s; slows it down), calls per %s:" % (during, unit),
          flush=True)
    for line in lines[2:14]:
        parts = line.split()
        if len(parts) >= 5 and parts[3].isdigit():
            print("    %-18s %7.2f per %s, %5s%% of the system-call time"
                  % (parts[-1], int(parts[3]) / max(1, count), unit, parts[0]), flush=True)


def profile_report(proc, out, what):
    """Stops the recording and prints the share of each library, then of each symbol."""
    if proc is None:
        return
    proc.send_signal(2)
    proc.wait(timeout=60)
    for sort, limit in (("dso", "1"), ("dso,symbol", "0.7")):
        rep = subprocess.run(["perf", "report", "-i", out, "--no-children", "--stdio", "-g",
                              "none", "--percent-limit", limit, "--sort", sort],
                             capture_output=True, text=True).stdout
        print("  perf (cpu-clock, roost process, %s), by %s:" % (what, sort), flush=True)
        for line in rep.splitlines():
            if line.strip() and not line.startswith("#"):
                print("    " + line.rstrip()[:150], flush=True)


# --- baselines: nginx and wrk ------------------------------------------------------------------

def wrk(script, port, threads, connections, seconds, cpu):
    """Runs wrk; returns the counts its done() prints."""
    cmd = [*taskset(cpu), "wrk", "-t", str(threads), "-c", str(connections), "-d",
           "%ds" % seconds, "--timeout", "30s", "-s", script, "http://127.0.0.1:%d/" % port]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    m = re.search(r"^WRK-RESULT (\{.*\})$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        raise RuntimeError("wrk failed (%d): %s %s" % (p.returncode, p.stdout[-2000:],
                                                     p.stderr[-2000:]))
    r = json.loads(m.group(1))
    r["seconds"] = r["duration_us"] / 1e6
    r["ok"] = r["requests"] - r["non2xx"]
    r["socket_errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return r


class Nginx:
    """nginx in the foreground with a generated configuration: one worker process that answers
    every request (POST bodies included) 200 "{}" — or, given `page` (bytes), that file's bytes —
    access log off; files in its own directory. As root its worker runs as nobody."""

    def __init__(self, cpu, page=None):
        self.dir = tempfile.mkdtemp(prefix="roost-bench-nginx-",
                                    dir=os.environ.get("TMPDIR", "/tmp"))
        if page is None:
            location = 'location / { default_type application/json; return 200 "{}"; }'
        else:
            with open(os.path.join(self.dir, "page.json"), "wb") as f:
                f.write(page)
            os.chmod(self.dir, 0o755)  # readable by the worker (nobody)
            location = ("root %s;\n    location / { default_type application/json; "
                        "try_files /page.json =404; }" % self.dir)
        self.port = pgfixture.free_port()
        temp = "\n".join("  %s_temp_path %s;" % (k, os.path.join(self.dir, k))
                         for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""%sworker_processes 1;
daemon off;
pid %s;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
%s
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_max_body_size 1m;
  client_body_buffer_size 1m;
  server {
    listen 127.0.0.1:%d;
    %s
  }
}
""" % ("user nobody nogroup;\n" if os.geteuid() == 0 else "",
                os.path.join(self.dir, "nginx.pid"), temp, self.port, location))
        self.proc = subprocess.Popen([*taskset(cpu), shutil.which("nginx") or "nginx", "-p",
                                      self.dir, "-e", "stderr", "-c", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 20
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited: %s" % self.proc.stderr.read().strip())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("nginx did not listen on port %d" % self.port)
                time.sleep(0.05)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the callback sink -------------------------------------------------------------------------
#
# A separate process (python3 pipeline_bench_support.py sink PORT) so that the generator's work
# never delays the timestamp of an arrival. It answers every request 200 "{}" at once on
# kept-alive connections and records, per request, time.monotonic() (the same clock in every
# process of the machine) when the whole request was read, and its path. GET /__arrivals
# answers the records so far as "path seconds" lines and forgets them.

async def _sink_connection(reader, writer, arrivals):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            now = time.monotonic()
            path = head.split(b" ", 2)[1].decode()
            if path == "/__arrivals":
                body = "".join("%s %.6f\n" % a for a in arrivals).encode()
                arrivals.clear()
            else:
                arrivals.append((path, now))
                body = b"{}"
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _sink_main(port):
    arrivals = []

    async def serve():
        server = await asyncio.start_server(
            lambda r, w: _sink_connection(r, w, arrivals), "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


class Sink:
    """The callback sink in its own process, optionally pinned to a CPU."""

    def __init__(self, port, cpu=None):
        self.port = port
        pin = [] if cpu is None else ["taskset", "-c", str(cpu)]
        self.proc = subprocess.Popen([*pin, sys.executable, os.path.abspath(__file__), "sink",
                                      str(port)])
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("the callback sink did not start")
                time.sleep(0.05)

    def arrivals(self):
        """{path: monotonic seconds} of the requests received since the last call (the first
        arrival of a path when it came more than once), and how many came twice or more."""
        with urllib.request.urlopen("http://127.0.0.1:%d/__arrivals" % self.port,
                                    timeout=30) as r:
            text = r.read().decode()
        out, again = {}, 0
        for line in text.splitlines():
            path, t = line.rsplit(" ", 1)
            if path in out:
                again += 1
            else:
                out[path] = float(t)
        return out, again

    def close(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


# --- the paced generator -----------------------------------------------------------------------

async def paced(port, auth, path, bodies, rate, connections, paths=None):
    """Sends bodies[i] (one POST each to `path`, or to paths[i], HTTP Basic `auth` or none) at
    t0 + i / rate
    over up to `connections` kept-alive connections: the request due next goes out on the first
    free connection. Returns (t0, per request: (monotonic send time, answer latency s, status,
    body)). A request that found every connection busy goes out late; its send time is when it
    went out, so lateness shows as a lower achieved rate, never as smaller latencies."""
    head = "HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    if auth:
        head += "Authorization: Basic %s\r\n" % auth
    results = [None] * len(bodies)
    nxt = [0]
    t0 = time.monotonic() + 0.2

    async def worker():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while nxt[0] < len(bodies):
                i = nxt[0]
                nxt[0] += 1
                delay = t0 + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                body = bodies[i].encode()
                sent = time.monotonic()
                writer.write(("POST %s %sContent-Length: %d\r\n\r\n"
                              % (paths[i] if paths else path, head, len(body))).encode() + body)
                await writer.drain()
                line = await reader.readuntil(b"\r\n\r\n")
                status = int(line.split(b" ", 2)[1])
                length = 0
                for h in line.split(b"\r\n")[1:]:
                    if h[:15].lower() == b"content-length:":
                        length = int(h[15:])
                data = await reader.readexactly(length) if length else b""
                results[i] = (sent, time.monotonic() - sent, status, data)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return t0, results


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "sink":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    _sink_main(int(sys.argv[2]))
