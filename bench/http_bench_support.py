"""Shared by the HTTP benchmark scripts (bench/run_http_*.py): the release binary, a `roost serve`
on SQLite or on a throwaway PostgreSQL (tests/support/pgfixture.py), API users and timing helpers.
Standard library only."""

import base64
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
import pgfixture  # noqa: E402

ENC_KEY = "00112233445566778899AABBCCDDEEFF"
ADMIN_PASSWORD = "benchmark admin password"


def smoke():
    return os.environ.get("ROOST_BENCH_SMOKE") == "1"


def build_roost(build):
    subprocess.run(["ninja", "-C", build, "roost"], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(build, "roost")


def machine_line():
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return "machine: %d cores (%s), load average %s" % (os.cpu_count(), model, load)


def run(roost, *args, timeout=600):
    p = subprocess.run([roost, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("roost %s: %s" % (" ".join(map(str, args)), p.stderr.strip()))
    return p.stdout


class Site:
    """A data directory and (for engine "postgres") a throwaway PostgreSQL database."""

    # More PostgreSQL server settings for the sites made after it is set (diagnostics).
    pg_options = ""

    def __init__(self, roost, engine):
        self.roost = roost
        self.engine = engine
        self.dir = tempfile.mkdtemp(prefix="roost-http-bench-", dir=os.environ.get("TMPDIR",
                                                                                   "/tmp"))
        self.data_dir = os.path.join(self.dir, "data")
        self.pg = None
        self.url = None
        if engine == "postgres":
            self.pg = pgfixture.PgServer(options=Site.pg_options)
            self.url = self.pg.create_database("bench")
        self.proc = None

    def store_args(self):
        return ["--database", self.url] if self.url else ["--data-dir", self.data_dir]

    def start(self, threads=2, log_level="info", extra=("--gwmp-listen", "off")):
        """Starts `roost serve` on a free port; returns when /healthz answers. `extra`: more
        arguments (by default the provisioning listener is off)."""
        self.host, self.port = "127.0.0.1", pgfixture.free_port()
        args = [self.roost, "serve", "--listen", "%s:%d" % (self.host, self.port), "--data-dir",
                self.data_dir, "--threads", str(threads), "--log-level", log_level, *extra]
        if self.url:
            args += ["--database", self.url]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     env={**os.environ, "ROOST_ADMIN_PASSWORD": ADMIN_PASSWORD})
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()  # drain the log
        deadline = time.time() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("roost serve exited with %d" % self.proc.returncode)
            try:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return self
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("roost serve did not answer /healthz")
            time.sleep(0.05)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.proc = None

    def api_user(self, role="ADMIN"):
        return json.loads(run(self.roost, "api-user", "create", "--name", "bench", "--role", role,
                              *self.store_args()))

    def import_credentials(self, count, first_id):
        """`roost cra issue` a batch and `roost credentials import` it; returns [(id, pac)]."""
        out = os.path.join(self.dir, "batch-%s" % first_id)
        run(self.roost, "cra", "issue", "--count", count, "--first-id", first_id, "--enc-key",
            ENC_KEY, "--out-dir", out)
        args = ["credentials", "import", "--enc-key", ENC_KEY, "--id-key",
                os.path.join(out, "id_key_encrypted.bin"), "--id-pac",
                os.path.join(out, "id_pac.txt"), *self.store_args()]
        if self.url:
            args += ["--master-key-file", os.path.join(self.data_dir, "master.key")]
        run(self.roost, *args)
        pairs = []
        with open(os.path.join(out, "id_pac.txt")) as f:
            for line in f:
                if ";" in line:
                    pairs.append(tuple(line.strip().split(";")))
        return pairs

    def rss_kb(self):
        """(VmRSS, VmHWM) of the server process in kB."""
        vals = {}
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    vals[key] = int(rest.split()[0])
        return vals["VmRSS"], vals["VmHWM"]

    def close(self):
        self.stop()
        if self.pg:
            self.pg.stop()
        subprocess.run(["rm", "-rf", self.dir])


class Client:
    """One keep-alive connection with HTTP Basic credentials."""

    def __init__(self, site, user):
        token = base64.b64encode(("%s:%s" % (user["login"], user["password"])).encode()).decode()
        self.headers = {"Authorization": "Basic " + token}
        self.conn = http.client.HTTPConnection(site.host, site.port, timeout=120)

    def call(self, method, path, body=None):
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        return resp.status, data

    def json(self, method, path, body=None, expect=200):
        status, data = self.call(method, path, body)
        if status != expect:
            raise RuntimeError("%s %s: %d %s" % (method, path, status, data[:300]))
        return json.loads(data)

    def close(self):
        self.conn.close()


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out
