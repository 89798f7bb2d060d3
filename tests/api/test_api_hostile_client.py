"""A hostile client and a legitimate one at the same time, over real HTTP.

For ROOST_HOSTILE_SECONDS (default 30) seconds, attacker threads send garbage bytes,
oversized and deeply nested bodies, slow (trickled) requests, unauthenticated uploads and
wrong passwords, while a legitimate API user lists and creates device types. The legitimate
requests must all succeed with a bounded p99 latency, the server's RSS must stay bounded,
and nothing the attackers sent may be stored.
"""

import json
import os
import random
import threading
import time
import unittest

from loopback import connect_from
from roostcli import basic
from roostsite import Client, Site

SECONDS = float(os.environ.get("ROOST_HOSTILE_SECONDS", "30"))
MB = 1024 * 1024
# Bounds for a 2-core machine shared with the attackers: generous, yet far below what the
# findings this defends against produced (2 s requests, 700 MB of heap). Wrong passwords are
# checked with Argon2id, 64 MiB each, in at most one slot per CPU (accounts.password_hash_slots):
# the test sets 2 slots, 128 MiB, which the bound on RSS growth allows for on top of 64 MiB of
# buffers. Growth, not the absolute figure: what the server takes before any attack depends on the
# machine (allocator arenas, page sizes), what an attacker adds must not.
P99_BOUND_S = 1.0
HASH_SLOTS = 2
RSS_GROWTH_BOUND = (64 + 64 * HASH_SLOTS) * MB
# Under AddressSanitizer freed memory is held in a quarantine (256 MiB by default) before it is
# reused, so the server runs here with a small one, and the bound allows for it and for the
# sanitizer's allocator caches.
SANITIZED = os.environ.get("ROOST_SANITIZED") == "1"
ASAN_QUARANTINE_MB = 16
if SANITIZED:
    RSS_GROWTH_BOUND += (ASAN_QUARANTINE_MB + 64) * MB


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def memory_breakdown(pid):
    """What the RSS is made of, for the message when the bound is passed."""
    fields = {}
    for name in ("status", "smaps_rollup"):
        with open("/proc/%d/%s" % (pid, name)) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("Threads", "RssAnon", "RssFile", "RssShmem", "AnonHugePages"):
                    fields[key] = value.strip()
    return fields


class Attacks:
    """The attackers' repertoire: each call opens its own connection and never raises."""

    def __init__(self, server, victim_login):
        self.server = server
        self.victim_login = victim_login
        self.rng = random.Random(int(os.environ.get("ROOST_TEST_SEED", "7")))
        self.sent = 0

    def _connect(self, timeout=5):
        # From another address than the legitimate client, as a real attacker would be.
        return connect_from(self.server.host, self.server.port, "127.0.0.2", timeout)

    def _exchange(self, data, read=True, timeout=5):
        try:
            s = self._connect(timeout)
            try:
                s.sendall(data)
                if read:
                    s.recv(4096)
            finally:
                s.close()
        except OSError:
            pass  # a reset or a timeout is an acceptable answer to an attack
        self.sent += 1

    def garbage(self):
        self._exchange(bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(1, 2000))))

    def oversized(self):
        self._exchange(b"POST /api/devices/bulk/edit HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n[")

    def deeply_nested(self):
        body = b'{"email":' + b"[" * 3 * MB
        head = ("POST /api/session/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: %d\r\n\r\n" % len(body)).encode()
        self._exchange(head + body[:256 * 1024])

    def unauthenticated_upload(self):
        head = (b"POST /api/credentials/import HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 10485760\r\n\r\n")
        self._exchange(head + b"x" * MB)

    def wrong_password(self):
        auth = basic(self.victim_login, "guess-%d" % self.rng.randint(0, 1 << 30))
        head = "GET /api/devicetypes HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n" % (
            auth["Authorization"])
        self._exchange(head.encode())

    def bad_json(self):
        body = b'{"name": "x", "name": ' + bytes([0xFF, 0xFE]) + b"}"
        head = ("POST /api/devicetypes/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                "\r\nContent-Length: %d\r\n\r\n" % len(body)).encode()
        self._exchange(head + body)

    def slow(self):
        """Trickles a request head, one byte every 200 ms, until the server gives up on it."""
        try:
            s = self._connect(timeout=15)
            try:
                for b in b"GET /api/devicetypes HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
                    s.sendall(bytes([b]))
                    time.sleep(0.2)
            finally:
                s.close()
        except OSError:
            pass
        self.sent += 1


class HostileClientTest:
    engine = None

    @classmethod
    def setUpClass(cls):
        cls.site = Site(cls.engine)
        env = {"ROOST_ACCOUNTS_PASSWORD_HASH_SLOTS": str(HASH_SLOTS)}
        if SANITIZED:
            env["ASAN_OPTIONS"] = ":".join(
                o for o in (os.environ.get("ASAN_OPTIONS"),
                            "quarantine_size_mb=%d" % ASAN_QUARANTINE_MB) if o)
        cls.server = cls.site.serve(env=env)
        cls.users = cls.site.api_users(("ADMIN", "DEVICE_MANAGER"))

    @classmethod
    def tearDownClass(cls):
        cls.site.close()

    def password_work(self):
        status, _, body = self.server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        text = body.decode() if isinstance(body, bytes) else body
        return {line.split()[0]: line.split()[1] for line in text.splitlines()
                if line.startswith("roost_auth_password_")}

    def counts(self):
        return {table: int(self.site.sql("SELECT COUNT(*) FROM %s" % table)[0][0])
                for table in ("device_types", "devices", "credentials", "groups", "users",
                              "api_users", "jobs", "product_certificates", "sessions")}

    def test_legitimate_traffic_is_served_while_attacked(self):
        before = self.counts()
        stop = threading.Event()
        attacks = Attacks(self.server, self.users["ADMIN"]["login"])
        kinds = [attacks.garbage, attacks.oversized, attacks.deeply_nested,
                 attacks.unauthenticated_upload, attacks.wrong_password, attacks.bad_json]
        client = Client(self.server, self.users["DEVICE_MANAGER"])
        self.assertEqual(client.call("GET", "/api/devicetypes?limit=10")[0], 200)  # warm
        baseline = rss_bytes(self.server.proc.pid)
        baseline_breakdown = memory_breakdown(self.server.proc.pid)
        peak_rss = [baseline]
        peak_breakdown = [baseline_breakdown]

        def attacker(kind):
            while not stop.is_set():
                kind()

        def slow_attacker():
            while not stop.is_set():
                attacks.slow()

        def watch_rss():
            while not stop.is_set():
                rss = rss_bytes(self.server.proc.pid)
                if rss > peak_rss[0]:
                    peak_rss[0] = rss
                    peak_breakdown[0] = memory_breakdown(self.server.proc.pid)
                time.sleep(0.1)

        threads = [threading.Thread(target=attacker, args=(k,)) for k in kinds]
        threads += [threading.Thread(target=slow_attacker) for _ in range(4)]
        threads.append(threading.Thread(target=watch_rss))
        for t in threads:
            t.start()

        latencies = []
        created = 0
        failures = []
        deadline = time.time() + SECONDS
        i = 0
        try:
            while time.time() < deadline:
                start = time.time()
                if i % 4 == 0:
                    status, _, body = client.call("POST", "/api/devicetypes/create",
                                                  {"name": "legit-%d" % i})
                    if status == 200:
                        created += 1
                else:
                    status, _, body = client.call("GET", "/api/devicetypes?limit=10")
                latencies.append(time.time() - start)
                if status != 200:
                    failures.append((i, status, body))
                i += 1
                time.sleep(0.01)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
            client.close()

        self.assertEqual(failures, [])
        self.assertGreater(len(latencies), 50)
        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print("\n%s: %d legitimate requests, p99 %.1f ms, max %.1f ms, %d attacks, RSS %.1f MB "
              "before, peak %.1f MB" % (self.engine, len(latencies), p99 * 1000,
                                        latencies[-1] * 1000, attacks.sent, baseline / MB,
                                        peak_rss[0] / MB))
        self.assertLess(p99, P99_BOUND_S)
        self.assertGreater(attacks.sent, 100)
        print("before: %s\nat the peak: %s\n%s" % (baseline_breakdown, peak_breakdown[0],
                                                   self.password_work()))
        self.assertLess(peak_rss[0] - baseline, RSS_GROWTH_BOUND)
        after = self.counts()
        self.assertEqual(after["device_types"], before["device_types"] + created)
        for table in ("devices", "credentials", "groups", "users", "api_users", "jobs",
                      "product_certificates", "sessions"):
            self.assertEqual(after[table], before[table], table)
        # And the server is still healthy.
        self.assertEqual(self.server.request("GET", "/healthz")[0], 200)


class HostileClientSqliteTest(HostileClientTest, unittest.TestCase):
    engine = "sqlite"


class HostileClientPostgresTest(HostileClientTest, unittest.TestCase):
    engine = "postgres"


if __name__ == "__main__":
    unittest.main()
