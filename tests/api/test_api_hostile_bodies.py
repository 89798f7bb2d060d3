"""Request bodies from hostile clients, over real HTTP: what one stranger can make the
server spend in memory, and what an authenticated client's large bodies cost.

Each test names the finding it defends against:
- a deeply nested JSON body (10 MB of '[') sent to the public login route;
- bodies read (and "100 Continue" sent) before the credentials were checked;
- a route's body limit told to a stranger (401/403 come before 413);
- many large bodies at once (a budget for all in-memory bodies in flight: 503 past it);
- uploads larger than the upload limit (refused; nothing stored; on both engines).
"""

import json
import os
import socket
import threading
import time
import unittest

from roostcli import basic
from roostsite import KEY, Site, run_ok

from test_api_credentials import multipart, read

MB = 1024 * 1024


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for %d" % pid)


class RawConnection:
    """A socket that sends a request head and then as much of a body as the test wants."""

    def __init__(self, server, timeout=10):
        self.sock = socket.create_connection((server.host, server.port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def head(self, method, path, headers):
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: roost"]
        lines += ["%s: %s" % (k, v) for k, v in headers.items()]
        return self.send(("\r\n".join(lines) + "\r\n\r\n").encode())

    def response(self):
        """(status, headers, body) of the next response; None when the connection closed."""
        while b"\r\n\r\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                return None
            if not chunk:
                return None
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buf += chunk
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body

    def close(self):
        self.sock.close()


class HostileBodiesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.site = Site("sqlite")
        cls.server = cls.site.serve(env={"ROOST_HTTP_MAX_BODY_BYTES_IN_FLIGHT": str(1 * MB)})
        cls.users = cls.site.api_users(("ADMIN", "DEVICE_MANAGER", "FACTORY"))

    @classmethod
    def tearDownClass(cls):
        cls.site.close()

    def auth(self, role):
        u = self.users[role]
        return basic(u["login"], u["password"])

    def rss(self):
        return rss_bytes(self.server.proc.pid)

    def test_deeply_nested_json_costs_no_memory(self):
        before = self.rss()
        # The public login route: 10 MB of '[' after {"email": is refused on its length.
        body = b'{"email":' + b"[" * (9 * MB)
        c = RawConnection(self.server)
        c.head("POST", "/api/session/login",
               {"Content-Type": "application/json", "Content-Length": len(body)})
        started = time.time()
        c.send(body[:64 * 1024])
        status, headers, payload = c.response()
        c.close()
        self.assertEqual(status, 413, payload)
        self.assertLess(time.time() - started, 2)
        self.assertIn("larger than 4096 bytes", json.loads(payload)["message"])
        # An authenticated route: nesting within the size limit is refused before parsing.
        deep = b'{"name":' + b"[" * 30000 + b"]" * 30000 + b"}"
        c = RawConnection(self.server)
        c.head("POST", "/api/devicetypes/create",
               {"Content-Type": "application/json", "Content-Length": len(deep),
                **self.auth("DEVICE_MANAGER")})
        c.send(deep)
        status, _, payload = c.response()
        c.close()
        self.assertEqual(status, 400, payload)
        self.assertIn("nested deeper than 32 levels", json.loads(payload)["message"])
        self.assertLess(self.rss() - before, 20 * MB)
        # The server still answers, and a normal body still works.
        status, _, _ = self.server.request("GET", "/healthz")
        self.assertEqual(status, 200)

    def test_bodies_are_not_read_before_authentication(self):
        # The wrong-role user's password is checked once here (Argon2id), then cached, so the
        # parallel requests below are refused for their role, not for want of a hashing slot.
        status, _, _ = self.server.request("GET", "/api/devicetypes",
                                           headers=self.auth("DEVICE_MANAGER"))
        self.assertEqual(status, 200)
        before = self.rss()
        results = []
        lock = threading.Lock()

        def upload(i):
            c = RawConnection(self.server)
            headers = {"Content-Type": "multipart/form-data; boundary=x",
                       "Content-Length": 10 * MB}
            if i % 2 == 0:
                headers["Expect"] = "100-continue"
            if i % 4 == 1:
                headers.update(self.auth("DEVICE_MANAGER"))  # authenticated, wrong role: 403
            c.head("POST", "/api/credentials/import", headers)
            if "Expect" not in headers:
                c.send(b"x" * MB)  # a client that does not wait: sends anyway
            r = c.response()
            c.close()
            with lock:
                results.append((i, r[0] if r else None))

        threads = [threading.Thread(target=upload, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(len(results), 20)
        for i, status in results:
            self.assertEqual(status, 403 if i % 4 == 1 else 401, i)
        self.assertLess(self.rss() - before, 30 * MB)

    def test_a_body_limit_is_told_only_to_a_client_that_may_use_the_route(self):
        # Over the limit by its Content-Length: a stranger and a client of the wrong role
        # are refused as such (a 413 would tell them the route's limit); only a client
        # that may use the route learns it.
        self.server.request("GET", "/api/devicetypes", headers=self.auth("FACTORY"))
        cases = (({}, 401), (self.auth("FACTORY"), 403), (self.auth("DEVICE_MANAGER"), 413))
        for headers, expected in cases:
            c = RawConnection(self.server)
            c.head("POST", "/api/devicetypes/create",
                   {"Content-Type": "application/json", "Content-Length": 5 * MB, **headers})
            status, _, payload = c.response()
            c.close()
            self.assertEqual(status, expected, payload)
            self.assertEqual(b"bytes" in payload, expected == 413, payload)

    def test_expect_continue_is_answered_only_after_authentication(self):
        c = RawConnection(self.server)
        c.head("POST", "/api/devicetypes/create",
               {"Content-Type": "application/json", "Content-Length": 14,
                "Expect": "100-continue", **self.auth("DEVICE_MANAGER")})
        status, _, _ = c.response()
        self.assertEqual(status, 100)
        c.send(b'{"name":"t-1"}')
        status, _, payload = c.response()
        c.close()
        self.assertEqual(status, 200, payload)
        c = RawConnection(self.server)
        c.head("POST", "/api/devicetypes/create",
               {"Content-Type": "application/json", "Content-Length": 14,
                "Expect": "100-continue", **basic(self.users["ADMIN"]["login"], "wrong")})
        status, _, _ = c.response()
        c.close()
        self.assertEqual(status, 401)

    def test_bodies_in_flight_past_the_budget_get_503(self):
        # The budget is 1 MiB; two slow 400 kB bulk bodies hold 800 kB of it.
        slow = []
        for _ in range(2):
            c = RawConnection(self.server)
            c.head("POST", "/api/devices/bulk/edit",
                   {"Content-Type": "application/json", "Content-Length": 400000,
                    **self.auth("DEVICE_MANAGER")})
            c.send(b" " * 1000)
            slow.append(c)
        time.sleep(0.3)
        third = RawConnection(self.server)
        third.head("POST", "/api/devices/bulk/edit",
                   {"Content-Type": "application/json", "Content-Length": 400000,
                    **self.auth("DEVICE_MANAGER")})
        status, headers, payload = third.response()
        third.close()
        self.assertEqual(status, 503, payload)
        self.assertEqual(headers.get("retry-after"), "1")
        # Small bodies still fit beside them.
        status, _, _ = self.server.request(
            "POST", "/api/devicetypes/create", body=json.dumps({"name": "t-2"}),
            headers={"Content-Type": "application/json", **self.auth("DEVICE_MANAGER")})
        self.assertEqual(status, 200)
        # Once the slow bodies are complete and answered, their share is free again.
        for c in slow:
            c.send(b"[" + b" " * (400000 - 1000 - 2) + b"]")
            status, _, payload = c.response()
            c.close()
            # Read whole and parsed: an empty list is refused on its merits.
            self.assertEqual(status, 400, payload)
            self.assertIn("at least one device", payload.decode())
        fourth = RawConnection(self.server)
        fourth.head("POST", "/api/devices/bulk/edit",
                    {"Content-Type": "application/json", "Content-Length": 400000,
                     **self.auth("DEVICE_MANAGER")})
        fourth.send(b"[" + b" " * (400000 - 2) + b"]")
        status, _, payload = fourth.response()
        fourth.close()
        self.assertEqual(status, 400, payload)
        self.assertIn("at least one device", payload.decode())

    def test_every_api_response_says_nosniff_and_carries_a_policy(self):
        for path in ("/api/openapi.json", "/api/devicetypes", "/api/nothing"):
            status, headers, _ = self.server.request("GET", path, headers=self.auth("ADMIN"))
            self.assertEqual(headers.get("X-Content-Type-Options"), "nosniff", path)
            self.assertIn("frame-ancestors 'none'", headers.get("Content-Security-Policy", ""))


class UploadLimitTest:
    """An upload over http.max_upload_bytes is refused and stores nothing; one under it is
    streamed to a temporary file and imported."""

    engine = None

    @classmethod
    def setUpClass(cls):
        cls.site = Site(cls.engine)
        cls.server = cls.site.serve(env={"ROOST_HTTP_MAX_UPLOAD_BYTES": "8192"})
        cls.factory = cls.site.api_user("FACTORY")

    @classmethod
    def tearDownClass(cls):
        cls.site.close()

    def batch(self, count, first_id, name):
        out = os.path.join(self.site.dir, name)
        run_ok(["cra", "issue", "--count", count, "--first-id", first_id, "--enc-key", KEY,
                "--out-dir", out])
        return multipart([("encryptionKey", KEY.encode(), None),
                          ("idKey", read(os.path.join(out, "id_key_encrypted.bin")), "k.bin"),
                          ("idPac", read(os.path.join(out, "id_pac.txt")), "p.txt")])

    def post(self, content_type, body):
        return self.server.request(
            "POST", "/api/credentials/import", body=body,
            headers={"Content-Type": content_type,
                     **basic(self.factory["login"], self.factory["password"])})

    def stored(self):
        return int(self.site.sql("SELECT COUNT(*) FROM credentials")[0][0])

    def test_upload_over_the_limit_is_refused_and_nothing_is_stored(self):
        content_type, body = self.batch(400, "500000", "big")
        self.assertGreater(len(body), 8192)
        before = self.stored()
        status, _, payload = self.post(content_type, body)
        self.assertEqual(status, 413, payload)
        self.assertIn("larger than 8192 bytes", json.loads(payload)["message"])
        self.assertEqual(self.stored(), before)

    def test_upload_under_the_limit_is_streamed_and_imported(self):
        content_type, body = self.batch(50, "600000", "small")
        self.assertLess(len(body), 8192)
        status, _, payload = self.post(content_type, body)
        self.assertEqual(status, 200, payload)
        self.assertEqual(json.loads(payload)["imported"], 50)
        self.assertGreaterEqual(self.stored(), 50)


class UploadLimitSqliteTest(UploadLimitTest, unittest.TestCase):
    engine = "sqlite"


class UploadLimitPostgresTest(UploadLimitTest, unittest.TestCase):
    engine = "postgres"


if __name__ == "__main__":
    unittest.main()
