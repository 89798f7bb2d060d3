#!/usr/bin/env python3
"""Cost of authentication in `roost serve`: console login, and a request authenticated by
HTTP Basic (API user, verify cache warm) against the same request with a session cookie.

Usage: bench/run_auth_bench.py [BUILD_DIR]      (default: build, the release build)
       ROOST_BENCH_SMOKE=1 ...                  (a few requests: checks it works)

Starts `roost serve` on SQLite in a temporary directory (2 event-loop threads) and measures, one
request at a time over one keep-alive connection, the wall time of:
  POST /api/session/login                  (one Argon2id verification + a session row)
  GET  /api/groups/{id}  with HTTP Basic    (verify-cache hit + API user lookup)
  GET  /api/groups/{id}  with the cookie    (session + user lookups, CSRF not needed)
  POST /api/groups/edit  with cookie + CSRF (the same, plus the check and an UPDATE)
and prints the median and p99 of each in milliseconds. Each response's status is checked.
"""

import base64
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ADMIN_PASSWORD = "benchmark admin password"


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build")
    roost = os.path.join(build, "roost")
    smoke = os.environ.get("ROOST_BENCH_SMOKE") == "1"
    subprocess.run(["ninja", "-C", build, "roost"], check=True, stdout=subprocess.DEVNULL)
    os.environ["ROOST_BIN"] = roost
    sys.path.insert(0, os.path.join(root, "tests", "support"))
    from roostserver import Server  # noqa: E402 (needs ROOST_BIN first)

    work = tempfile.mkdtemp(prefix="roost-auth-bench-")
    data = os.path.join(work, "data")
    server = Server(data, env={"ROOST_ADMIN_PASSWORD": ADMIN_PASSWORD})
    try:
        r = subprocess.run([roost, "api-user", "create", "--name", "bench", "--role", "ADMIN",
                            "--data-dir", data], check=True, capture_output=True, text=True)
        creds = json.loads(r.stdout)
        basic = "Basic " + base64.b64encode(
            ("%s:%s" % (creds["login"], creds["password"])).encode()).decode()
        conn = http.client.HTTPConnection(server.host, server.port, timeout=30)

        def call(method, path, body=None, headers=None, expect=200):
            h = dict(headers or {})
            data_ = json.dumps(body) if body is not None else None
            if data_ is not None:
                h["Content-Type"] = "application/json"
            t0 = time.perf_counter()
            conn.request(method, path, body=data_, headers=h)
            resp = conn.getresponse()
            payload = resp.read()
            dt = (time.perf_counter() - t0) * 1000
            if resp.status != expect:
                raise SystemExit("%s %s: %d %r" % (method, path, resp.status, payload))
            return dt, resp, payload

        _, _, payload = call("POST", "/api/groups/create", {"name": "bench"},
                             {"Authorization": basic})
        group = json.loads(payload)["id"]
        n_login = 3 if smoke else 20
        n = 20 if smoke else 1000

        logins = []
        for _ in range(n_login):
            dt, resp, payload = call("POST", "/api/session/login",
                                     {"email": "admin@localhost", "password": ADMIN_PASSWORD})
            logins.append(dt)
        cookie = resp.getheader("Set-Cookie").split(";", 1)[0]
        csrf = json.loads(payload)["csrfToken"]

        call("GET", "/api/groups/" + group, headers={"Authorization": basic})  # warm the cache
        results = [("POST /api/session/login", logins)]
        for label, method, path, body, headers in [
                ("GET /api/groups/{id}, HTTP Basic", "GET", "/api/groups/" + group, None,
                 {"Authorization": basic}),
                ("GET /api/groups/{id}, cookie", "GET", "/api/groups/" + group, None,
                 {"Cookie": cookie}),
                ("POST /api/groups/edit, cookie + CSRF", "POST", "/api/groups/edit",
                 {"id": group, "name": "bench"}, {"Cookie": cookie, "X-CSRF-Token": csrf})]:
            times = [call(method, path, body, headers)[0] for _ in range(n)]
            results.append((label, times))
        conn.close()
        print("roost serve, SQLite, 2 threads; one request at a time on one connection")
        for label, times in results:
            times.sort()
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            print("%-40s n=%-5d median %7.3f ms   p99 %7.3f ms" %
                  (label, len(times), statistics.median(times), p99))
    finally:
        server.kill()
        server.proc.stderr.close()
        server.proc.stdout.close()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
