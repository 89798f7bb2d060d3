#!/usr/bin/env python3
"""Series upload and bulk edit over HTTP against a real `roost serve` on SQLite.

  bench/run_device_edits_http.py [BUILD_DIR]        (default: build, the release build)
  ROOST_BENCH_SMOKE=1 bench/run_device_edits_http.py   quick check (2 000 devices)

Issues N device credentials (`roost cra issue`), imports them (not timed), then times:
  1. POST /api/devicetypes/{id}/devices/bulk/create/series with the ID;PAC file (text/csv):
     until 202, and until the job is done;
  2. POST /api/devices/bulk/edit renaming all N devices: until 202, and until done.
Jobs are polled every 50 ms at /api/jobs/{jobId}.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
os.environ.setdefault("ROOST_BIN", os.path.join(BUILD, "roost"))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))

import base64  # noqa: E402

from roostcli import run  # noqa: E402
from roostserver import Server  # noqa: E402

SMOKE = os.environ.get("ROOST_BENCH_SMOKE") == "1"
N = 2000 if SMOKE else 200000
KEY = "00112233445566778899AABBCCDDEEFF"


def main():
    subprocess.run(["cmake", "-S", ROOT, "-B", BUILD, "-G", "Ninja",
                    "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", BUILD, "roost"], check=True, stdout=subprocess.DEVNULL)
    print("machine: %d cores, load average: %s" % (os.cpu_count(),
                                                   open("/proc/loadavg").read().split()[:3]))
    with tempfile.TemporaryDirectory(prefix="roost-bench-") as tmp:
        data = os.path.join(tmp, "data")
        server = Server(data, env={"ROOST_ADMIN_PASSWORD": "bench bench bench"})
        try:
            bench(server, tmp, data)
        finally:
            server.kill()


def bench(server, tmp, data):
    r = run(["api-user", "create", "--name", "bench", "--role", "DEVICE_MANAGER",
             "--data-dir", data])
    assert r.returncode == 0, r.stderr
    user = json.loads(r.stdout)
    auth = {"Authorization": "Basic " + base64.b64encode(
        ("%s:%s" % (user["login"], user["password"])).encode()).decode()}
    batch = os.path.join(tmp, "batch")
    r = run(["cra", "issue", "--count", N, "--first-id", "1000000", "--enc-key", KEY,
             "--out-dir", batch], timeout=600)
    assert r.returncode == 0, r.stderr
    r = run(["credentials", "import", "--enc-key", KEY, "--id-key",
             os.path.join(batch, "id_key_encrypted.bin"), "--id-pac",
             os.path.join(batch, "id_pac.txt"), "--data-dir", data], timeout=600)
    assert r.returncode == 0, r.stderr
    pairs = [line.strip().split(";") for line in open(os.path.join(batch, "id_pac.txt"))
             if ";" in line]
    assert len(pairs) == N

    def call(method, path, body, content_type="application/json"):
        status, _, payload = server.request(method, path, body=body,
                                            headers={**auth, "Content-Type": content_type})
        return status, json.loads(payload) if payload else None

    def timed_job(method, path, body, content_type):
        start = time.monotonic()
        status, started = call(method, path, body, content_type)
        accepted = time.monotonic() - start
        assert status == 202, (status, started)
        while True:
            status, st = call("GET", "/api/jobs/" + started["jobId"], None)
            if st["jobDone"]:
                break
            time.sleep(0.05)
        done = time.monotonic() - start
        assert st["status"]["success"] == N, st["status"]["failed"][:5]
        return accepted, done

    _, t1 = call("POST", "/api/devicetypes/create", json.dumps({"name": "bench"}).encode())
    series = ("id;pac\r\n" + "".join("%s;%s\r\n" % (d, p) for d, p in pairs)).encode()
    accepted, done = timed_job("POST", "/api/devicetypes/%s/devices/bulk/create/series" % t1["id"],
                               series, "text/csv")
    print("series upload, %d devices (%.1f MB text/csv): 202 after %.2f s, jobDone after %.2f s"
          % (N, len(series) / 1e6, accepted, done))
    # Compact items: 200 000 of them must stay under the 10 MiB body limit.
    edits = json.dumps([{"id": d, "name": "e" + d} for d, _ in pairs],
                       separators=(",", ":")).encode()
    accepted, done = timed_job("POST", "/api/devices/bulk/edit", edits, "application/json")
    print("bulk edit, %d devices (%.1f MB JSON): 202 after %.2f s, jobDone after %.2f s"
          % (N, len(edits) / 1e6, accepted, done))


if __name__ == "__main__":
    main()
