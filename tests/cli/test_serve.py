"""roost serve: the real binary on an ephemeral port, spoken to over TCP."""

import json
import os
import re
import signal
import socket
import subprocess
import time
import unittest

import roostcli
from roostserver import Server, metric_value


def read_response(sock):
    """Reads one HTTP response from a raw socket: (status, head, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed before a response: %r" % data)
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    head = head.decode()
    length = int(re.search(r"(?im)^content-length:\s*(\d+)", head).group(1))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(head.split(" ", 2)[1]), head, body[:length]


class ServeTest(unittest.TestCase):
    def setUp(self):
        self.tmp = roostcli.temp_dir()
        self.data_dir = os.path.join(self.tmp.name, "data")
        self.server = Server(self.data_dir)

    def tearDown(self):
        self.server.kill()
        self.server.proc.stderr.close()
        self.server.proc.stdout.close()
        self.tmp.cleanup()

    def test_operational_endpoints_errors_and_clean_stop(self):
        s = self.server
        self.assertEqual(s.host, "127.0.0.1")
        self.assertGreater(s.port, 0)
        self.assertTrue(os.path.isdir(self.data_dir))

        status, headers, body = s.request("GET", "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(json.loads(body), {"status": "ok"})

        status, _, body = s.request("GET", "/readyz")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"status": "ready"})

        status, headers, body = s.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        text = body.decode()
        healthz = 'roost_http_requests_total{method="GET",route="/healthz",code="200"}'
        self.assertEqual(metric_value(text, healthz), 1)
        self.assertIn("# TYPE roost_http_request_duration_seconds histogram", text)
        self.assertIsNotNone(metric_value(text, "roost_http_connections_open"))
        self.assertEqual(metric_value(text, 'roost_build_info{version="0.1.0"}'), 1)
        started = metric_value(text, "process_start_time_seconds")
        self.assertLess(abs(started - time.time()), 60)

        s.request("GET", "/healthz")
        _, _, body = s.request("GET", "/metrics")
        self.assertEqual(metric_value(body.decode(), healthz), 2)
        self.assertEqual(metric_value(
            body.decode(), 'roost_http_requests_total{method="GET",route="/metrics",code="200"}'), 1)

        # (A GET of /no/such/thing is a deep link into the web console: test_api_console.py.)
        status, headers, body = s.request("GET", "/api/no/such/thing?x=1")
        self.assertEqual(status, 404)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(json.loads(body), {"message": "no resource at /api/no/such/thing",
                                            "errors": []})

        status, headers, body = s.request("POST", "/healthz", body=b"{}")
        self.assertEqual(status, 405)
        self.assertEqual(headers["Allow"], "GET, HEAD")
        self.assertIn("not allowed", json.loads(body)["message"])

        # 413 as soon as the header announces 11 MB; the body is never sent. The limit is
        # the route's: 4 KiB for the public log-in route.
        with socket.create_connection((s.host, s.port), timeout=5) as sock:
            sock.sendall(b"POST /api/session/login HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 11534336\r\n\r\n")
            status, head, body = read_response(sock)
            self.assertEqual(status, 413)
            self.assertRegex(head, r"(?im)^connection: close")
            self.assertEqual(json.loads(body)["errors"], [])
            self.assertIn("larger than 4096 bytes", json.loads(body)["message"])

        with socket.create_connection((s.host, s.port), timeout=5) as sock:
            sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            status, _, body = read_response(sock)
            self.assertEqual(status, 400)
            self.assertTrue(json.loads(body)["message"].startswith("malformed request"))

        started = time.monotonic()
        self.assertEqual(s.stop(signal.SIGTERM), 0)
        self.assertLess(time.monotonic() - started, 5)

        entries = [json.loads(line) for line in s.drain_log()]
        requests = [e for e in entries if e["msg"] == "request"]
        # At info, a line for each refusal or failure (404, 405, 413, 400); the answered
        # requests (/healthz, /readyz, /metrics) have theirs at debug.
        self.assertGreaterEqual(len(requests), 4)
        for e in requests:
            self.assertEqual(e["level"], "info")
            self.assertGreaterEqual(e["status"], 400)
            self.assertEqual(set(e) - {"ts"},
                             {"level", "msg", "method", "path", "status", "duration_ms",
                              "remote", "earlier_refusals_not_logged"})
        self.assertIn({"method": "GET", "path": "/api/no/such/thing", "status": 404},
                      [{k: e[k] for k in ("method", "path", "status")} for e in requests])
        self.assertEqual(entries[-1]["msg"], "stopped")
        self.assertTrue(entries[-1]["drained"])

    def test_sigterm_drains_a_request_in_flight(self):
        s = self.server
        with socket.create_connection((s.host, s.port), timeout=5) as sock:
            # The request head arrives before SIGTERM, its body after.
            sock.sendall(b"POST /api/session/login HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n")
            time.sleep(0.3)
            s.proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            self.assertIsNone(s.proc.poll(), "exited without waiting for the request")
            with self.assertRaises(OSError):  # no longer accepting
                socket.create_connection((s.host, s.port), timeout=2).close()
            sock.sendall(b"{}")
            status, head, body = read_response(sock)
        self.assertEqual(status, 400)  # answered while draining: the login lacks its fields
        self.assertIn("email", json.loads(body)["message"])
        self.assertRegex(head, r"(?im)^connection: close")
        self.assertEqual(s.proc.wait(timeout=5), 0)
        msgs = [json.loads(line)["msg"] for line in s.drain_log()]
        self.assertEqual(msgs[-3:], ["shutting down", "request", "stopped"])

    def test_help_offers_only_settings_that_work(self):
        r = roostcli.run(["serve", "--help"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--listen", r.stdout)
        # Provisioning, ingest de-duplication and message retention all run in `roost serve`.
        for flag in ("--gwmp-listen", "--region", "--join-eui", "--dev-eui-pool",
                     "--lns-upstream", "--dedup-window-ms", "--retention-days",
                     "--retention-period-s"):
            self.assertIn(flag, r.stdout)
        # Values are checked.
        bad = roostcli.run(["serve", "--region", "MARS", "--listen", "127.0.0.1:0",
                            "--data-dir", os.path.join(self.tmp.name, "help")])
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("--region: expected EU868, US915 or CN470", bad.stderr)

    def test_sigint_stops_too(self):
        self.assertEqual(self.server.request("GET", "/healthz")[0], 200)
        self.assertEqual(self.server.stop(signal.SIGINT), 0)

    def test_port_in_use_is_a_clear_error(self):
        r = roostcli.run(["serve", "--listen", "127.0.0.1:%d" % self.server.port,
                          "--data-dir", self.data_dir], timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stderr.strip(),
                         "roost: listen 127.0.0.1:%d: Address already in use" % self.server.port)


class ServeArgumentsTest(unittest.TestCase):
    def check_fails(self, args, expected):
        with roostcli.temp_dir() as tmp:
            r = roostcli.run(["serve", *args], cwd=tmp, timeout=10)
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertIn(expected, r.stderr)
        return r

    def test_bad_listen_addresses(self):
        self.check_fails(["--listen", "8080"], 'roost: --listen: "8080": expected HOST:PORT')
        self.check_fails(["--listen", "127.0.0.1:99999"], "port must be a number from 0 to 65535")
        self.check_fails(["--listen", "::1:80"], "write an IPv6 address in brackets")

    def test_bad_threads(self):
        self.check_fails(["--threads", "-1"], "--threads")
        self.check_fails(["--threads", "many"], "--threads")

    def test_a_downlink_callback_deadline_longer_than_the_hold_is_refused(self):
        with roostcli.temp_dir() as tmp:
            r = self.check_fails(["--listen", "127.0.0.1:0", "--data-dir", tmp,
                                  "--downlink-hold-ms", "500",
                                  "--downlink-callback-timeout-ms", "600"],
                                 "pipeline.downlink_callback_timeout_ms (600) must not exceed "
                                 "pipeline.downlink_hold_ms (500)")
            self.assertEqual(os.listdir(tmp), [], "refused before anything was made")

    def test_a_callback_lease_shorter_than_two_sends_is_refused(self):
        # A send starts only with its timeout and a second of lease left: a 10 s lease
        # and 5 s sends could see one outlive its lease and go out twice.
        with roostcli.temp_dir() as tmp:
            self.check_fails(["--listen", "127.0.0.1:0", "--data-dir", tmp,
                              "--callback-lease-s", "10"],
                             "pipeline.callback_lease_s (10) must be at least twice "
                             "(pipeline.callback_timeout_ms + 1 s): 2 x (5000 + 1000) ms = "
                             "12000 ms")
            self.assertEqual(os.listdir(tmp), [], "refused before anything was made")

    def test_a_session_table_smaller_than_one_ttl_of_hellos_is_refused(self):
        # 200 + 1000 x 60 sessions can be live at once: a table of 10 000 would evict
        # sessions whose devices are still answering.
        with roostcli.temp_dir() as tmp:
            self.check_fails(["--listen", "127.0.0.1:0", "--data-dir", tmp,
                              "--gwmp-listen", "127.0.0.1:0", "--hellos-per-second", "1000"],
                             "provisioning.max_sessions (10000) must be at least "
                             "provisioning.hello_burst + provisioning.hellos_per_second x "
                             "provisioning.session_ttl_s (200 + 1000 x 60 = 60200)")
            self.assertEqual(os.listdir(tmp), [], "refused before anything was made")

    def test_data_dir_that_is_a_file(self):
        with roostcli.temp_dir() as tmp:
            path = os.path.join(tmp, "file")
            open(path, "w").close()
            r = roostcli.run(["serve", "--listen", "127.0.0.1:0", "--data-dir", path], timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stderr.strip(), "roost: %s: data directory is not a directory" % path)

    def test_bad_configuration_is_a_clear_error(self):
        self.check_fails(["--config", "missing.toml"], "missing.toml")
        with roostcli.temp_dir() as tmp:
            path = os.path.join(tmp, "roost.toml")
            with open(path, "w") as f:
                f.write('[http]\nlisen = "127.0.0.1:1"\n')
            r = roostcli.run(["serve", "--config", path], cwd=tmp, timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("line 2", r.stderr)
        self.assertIn("http.lisen", r.stderr)
        self.check_fails(["--database", "mysql://x"], "database")


class FirstStartTest(unittest.TestCase):
    """First start on an empty store: master key, root group, admin user; API users."""

    def setUp(self):
        self.tmp = roostcli.temp_dir()
        self.data_dir = os.path.join(self.tmp.name, "data")

    def tearDown(self):
        self.tmp.cleanup()

    def start_and_stop(self, env=None):
        server = Server(self.data_dir, env=env)
        try:
            self.assertEqual(server.stop(), 0)
            out = server.proc.stdout.read()
            log = "".join(server.drain_log())
        finally:
            server.kill()
            server.proc.stdout.close()
            server.proc.stderr.close()
        return out, log

    def db_bytes(self):
        with open(os.path.join(self.data_dir, "roost.db"), "rb") as f:
            return f.read()

    def test_generated_admin_password_is_shown_once_and_never_stored(self):
        out, log = self.start_and_stop()
        m = re.search(r"admin user admin@localhost, password \(shown once\): (\S+)", out)
        self.assertIsNotNone(m, out)
        password = m.group(1)
        self.assertGreaterEqual(len(password), 24)
        self.assertNotIn(password, log)
        self.assertIn("generated a new master key", log)
        self.assertNotIn(password.encode(), self.db_bytes())
        key_path = os.path.join(self.data_dir, "master.key")
        self.assertEqual(os.stat(key_path).st_mode & 0o777, 0o600)
        with open(key_path) as f:
            key = f.read().strip()
        self.assertRegex(key, r"^[0-9a-f]{64}$")
        self.assertNotIn(key, log)

        out, log = self.start_and_stop()  # second start: nothing new
        self.assertNotIn("password", out)
        self.assertNotIn("generated a new master key", log)
        with open(key_path) as f:
            self.assertEqual(f.read().strip(), key)

    def modes(self):
        names = ["roost.db", "roost.db-wal", "roost.db-shm", "master.key"]
        found = {n: os.stat(os.path.join(self.data_dir, n)).st_mode & 0o777
                 for n in names if os.path.exists(os.path.join(self.data_dir, n))}
        found["."] = os.stat(self.data_dir).st_mode & 0o777
        return found

    def test_data_directory_and_database_files_are_private(self):
        # A fresh data directory and its database files: nobody but the owner reads them.
        server = Server(self.data_dir)
        try:
            modes = self.modes()  # while serving, so that -wal and -shm exist
            self.assertEqual(server.stop(), 0)
        finally:
            server.kill()
            server.proc.stdout.close()
            server.proc.stderr.close()
        self.assertEqual(modes.pop("."), 0o700)
        self.assertIn("roost.db-wal", modes)
        for name, mode in modes.items():
            self.assertEqual(mode, 0o600, name)

        # Made readable by someone else meanwhile: the next start makes them private again
        # and says so in the log.
        os.chmod(self.data_dir, 0o755)
        os.chmod(os.path.join(self.data_dir, "roost.db"), 0o644)
        out, log = self.start_and_stop()
        self.assertEqual(self.modes()["."], 0o700)
        self.assertEqual(self.modes()["roost.db"], 0o600)
        self.assertIn("data directory was accessible to other users; made private", log)
        self.assertIn("database file was accessible to other users; made private", log)
        self.assertIn('"mode_was":"644"', log)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to give the directory to another user")
    def test_data_directory_of_another_user_readable_by_all_is_refused(self):
        os.makedirs(self.data_dir, mode=0o755)
        os.chmod(self.data_dir, 0o755)
        os.chown(self.data_dir, 65534, -1)  # nobody
        r = subprocess.run([roostcli.ROOST_BIN, "serve", "--listen", "127.0.0.1:0",
                            "--data-dir", self.data_dir], capture_output=True, text=True,
                           timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("data directory is readable by other users", r.stderr)
        self.assertIn("chmod 700", r.stderr)
        self.assertEqual(os.listdir(self.data_dir), [])  # nothing written

    def test_sqlite_database_url(self):
        db = os.path.join(self.tmp.name, "elsewhere", "site.db")
        os.makedirs(os.path.dirname(db))
        server = Server(self.data_dir, "--database", "sqlite:" + db)
        try:
            self.assertEqual(server.stop(), 0)
            log = "".join(server.drain_log())
        finally:
            server.kill()
            server.proc.stdout.close()
            server.proc.stderr.close()
        self.assertTrue(os.path.getsize(db) > 0)
        self.assertFalse(os.path.exists(os.path.join(self.data_dir, "roost.db")))
        self.assertIn('"database":"sqlite"', log)

    def test_admin_password_from_the_environment(self):
        out, log = self.start_and_stop(env={"ROOST_ADMIN_PASSWORD": "correct horse battery"})
        self.assertNotIn("password", out)
        self.assertNotIn("correct horse battery", log)
        self.assertNotIn(b"correct horse battery", self.db_bytes())
        r = roostcli.run(["serve", "--listen", "127.0.0.1:0", "--data-dir",
                          os.path.join(self.tmp.name, "other")],
                         env={"ROOST_ADMIN_PASSWORD": "short"}, timeout=20)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("at least 12 characters", r.stderr)
        self.assertNotIn("short", r.stderr.replace("at least", ""))

    def test_api_user_create(self):
        r = roostcli.run(["api-user", "create", "--name", "ci", "--role", "READER",
                          "--data-dir", self.data_dir])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("start `roost serve` once", r.stderr)
        self.start_and_stop()
        r = roostcli.run(["api-user", "create", "--name", "ci", "--role", "reader,device_manager",
                          "--data-dir", self.data_dir])
        self.assertEqual(r.returncode, 0, r.stderr)
        creds = json.loads(r.stdout)
        self.assertRegex(creds["login"], r"^[0-9a-f]{24}$")
        self.assertGreaterEqual(len(creds["password"]), 32)
        self.assertIn(creds["login"].encode(), self.db_bytes())
        self.assertNotIn(creds["password"].encode(), self.db_bytes())
        r = roostcli.run(["api-user", "create", "--name", "ci", "--role", "ROOT",
                          "--data-dir", self.data_dir])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("unknown role 'ROOT'", r.stderr)
        r = roostcli.run(["api-user", "create", "--name", "ci", "--role", "READER", "--group",
                          "0" * 24, "--data-dir", self.data_dir])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not found", r.stderr)


if __name__ == "__main__":
    unittest.main()
