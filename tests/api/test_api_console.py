"""The web console's files and settings served by `roost serve`: content types, gzip, ETag and
304, caching, deep links answered with index.html, the API's JSON 404 kept, nothing outside the
console directory reachable, the page shown when the console was not built, the tile origin in
the Content-Security-Policy and GET /api/console/config. Files and settings only: one engine
(SQLite) is enough."""

import gzip
import json
import os
import unittest

import roostcli
from roostcli import temp_dir
from roostserver import Server

INDEX = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Roost</title>"
         "<script type=\"module\" src=\"/assets/x-1234abcd.js\"></script></head>"
         "<body><div id=\"app\"></div></body></html>\n" + " " * 300)
SCRIPT = "export const roost = 'console';\n" + "console.log(roost);\n" * 200
IMMUTABLE = "public, max-age=31536000, immutable"


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


class ConsoleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = temp_dir()
        cls.data = os.path.join(cls.tmp.name, "data")
        cls.console = os.path.join(cls.tmp.name, "web")
        write(os.path.join(cls.console, "index.html"), INDEX)
        write(os.path.join(cls.console, "assets", "x-1234abcd.js"), SCRIPT)
        write(os.path.join(cls.console, "favicon.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>")
        # Beside the data directory's database: never reachable through the console.
        write(os.path.join(cls.tmp.name, "secret.txt"), "not for the web")
        cls.server = Server(cls.data, "--console-dir", cls.console, "--gwmp-listen", "off",
                            "--console-tile-url", "https://tile.example.org/{z}/{x}/{y}.png",
                            env={"ROOST_ADMIN_PASSWORD": "correct horse battery"})

    @classmethod
    def tearDownClass(cls):
        cls.server.kill()
        cls.server.proc.stderr.close()
        cls.server.proc.stdout.close()
        cls.tmp.cleanup()

    def get(self, path, **headers):
        return self.server.request("GET", path, headers=headers)

    def test_index_at_root(self):
        status, headers, body = self.get("/")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "text/html; charset=utf-8")
        self.assertEqual(headers["Cache-Control"], "no-cache")
        self.assertEqual(body.decode(), INDEX)
        self.assertIn("ETag", headers)
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")

    def test_hashed_asset_is_immutable_and_gzipped(self):
        status, headers, body = self.get("/assets/x-1234abcd.js")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "text/javascript; charset=utf-8")
        self.assertEqual(headers["Cache-Control"], IMMUTABLE)
        self.assertEqual(headers["Vary"], "Accept-Encoding")
        self.assertNotIn("Content-Encoding", headers)
        self.assertEqual(body.decode(), SCRIPT)

        status, zheaders, zbody = self.get("/assets/x-1234abcd.js", **{"Accept-Encoding": "gzip"})
        self.assertEqual(status, 200)
        self.assertEqual(zheaders["Content-Encoding"], "gzip")
        self.assertEqual(zheaders["Vary"], "Accept-Encoding")
        self.assertLess(len(zbody), len(SCRIPT))
        self.assertEqual(int(zheaders["Content-Length"]), len(zbody))
        self.assertEqual(gzip.decompress(zbody).decode(), SCRIPT)
        self.assertNotEqual(zheaders["ETag"], headers["ETag"])

        status, _, _ = self.get("/favicon.svg")
        self.assertEqual(status, 200)

    def test_if_none_match_gives_304(self):
        _, headers, _ = self.get("/assets/x-1234abcd.js", **{"Accept-Encoding": "gzip"})
        status, again, body = self.get("/assets/x-1234abcd.js", **{
            "Accept-Encoding": "gzip", "If-None-Match": headers["ETag"]})
        self.assertEqual(status, 304)
        self.assertEqual(body, b"")
        self.assertEqual(again["ETag"], headers["ETag"])
        status, _, _ = self.get("/", **{"If-None-Match": "\"something-else\""})
        self.assertEqual(status, 200)

    def test_head(self):
        status, headers, body = self.server.request("HEAD", "/devices/1234AB")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        self.assertEqual(int(headers["Content-Length"]), len(INDEX))

    def test_deep_links_get_index(self):
        for path in ("/devices/1234AB/messages", "/set-password", "/devicetypes",
                     "/devices/1234AB/messages?limit=10"):
            with self.subTest(path=path):
                status, headers, body = self.get(path)
                self.assertEqual(status, 200)
                self.assertEqual(headers["Cache-Control"], "no-cache")
                self.assertEqual(body.decode(), INDEX)

    def test_api_paths_keep_their_json_404(self):
        for path in ("/api/nope", "/api", "/api/devices/x/nothing/here"):
            with self.subTest(path=path):
                status, headers, body = self.get(path)
                self.assertEqual(status, 404)
                self.assertTrue(headers["Content-Type"].startswith("application/json"))
                self.assertIn("message", json.loads(body))
        # Other methods on unknown paths stay 404 too; known routes keep their answers.
        status, _, _ = self.server.request("POST", "/devices")
        self.assertEqual(status, 404)
        status, _, _ = self.get("/healthz")
        self.assertEqual(status, 200)
        status, _, _ = self.get("/api/devices")
        self.assertEqual(status, 401)

    def test_nothing_outside_the_directory(self):
        for path in ("/assets/../roost.db", "/../secret.txt", "/assets/..%2F..%2Fsecret.txt",
                     "/%2e%2e/secret.txt", "/data/roost.db", "/data/master.key",
                     "/assets/missing-00000000.js", "/.env"):
            with self.subTest(path=path):
                status, headers, body = self.get(path)
                self.assertIn(status, (400, 404), body)
                self.assertNotIn(b"not for the web", body)
                self.assertNotIn(b"SQLite", body)

    def test_bad_paths_are_400(self):
        status, _, body = self.get("/devices/%zz")
        self.assertEqual(status, 400)
        status, _, body = self.get("/devices/a%00b")
        self.assertEqual(status, 400)
        self.assertIn("NUL", json.loads(body)["message"])

    def test_content_security_policy(self):
        _, headers, _ = self.get("/")
        csp = headers["Content-Security-Policy"]
        self.assertIn("script-src 'self';", csp)
        self.assertIn("style-src 'self';", csp)
        self.assertIn("img-src 'self' data: https://tile.example.org;", csp)
        self.assertNotIn("unsafe-inline", csp)
        _, api_headers, _ = self.get("/api/console/config")
        self.assertEqual(api_headers["Content-Security-Policy"], csp)

    def test_console_config(self):
        status, headers, body = self.get("/api/console/config")
        self.assertEqual(status, 200)
        config = json.loads(body)
        self.assertEqual(config, {"version": config["version"],
                                  "tileUrl": "https://tile.example.org/{z}/{x}/{y}.png",
                                  "provisioning": False})
        self.assertRegex(config["version"], r"^\d+\.\d+\.\d+")


class ConsoleSettingsTest(unittest.TestCase):
    def serve(self, tmp, *extra):
        return Server(os.path.join(tmp, "data"), *extra,
                      env={"ROOST_ADMIN_PASSWORD": "correct horse battery"})

    def close(self, server):
        server.kill()
        server.proc.stderr.close()
        server.proc.stdout.close()

    def test_not_built_page(self):
        with temp_dir() as tmp:
            empty = os.path.join(tmp, "web")
            os.makedirs(empty)
            server = self.serve(tmp, "--console-dir", empty, "--gwmp-listen", "127.0.0.1:0")
            try:
                status, headers, body = server.request("GET", "/")
                self.assertEqual(status, 200)
                self.assertEqual(headers["Content-Type"], "text/html; charset=utf-8")
                text = body.decode()
                self.assertIn("/api/openapi.json", text)
                self.assertIn("npm ci &amp;&amp; npm run build", text)
                self.assertIn("scripts/build.sh", text)
                self.assertNotIn("<script", text)
                self.assertNotIn("style", text)
                status, _, _ = server.request("GET", "/api/nope")
                self.assertEqual(status, 404)
                status, _, body = server.request("GET", "/api/console/config")
                config = json.loads(body)
                self.assertIsNone(config["tileUrl"])
                self.assertTrue(config["provisioning"])
                _, headers, _ = server.request("GET", "/")
                self.assertIn("img-src 'self' data:;", headers["Content-Security-Policy"])
                warnings = [json.loads(line) for line in server.drain_log()
                            if "not built" in line]
                self.assertEqual(len(warnings), 1)
                self.assertEqual(warnings[0]["console_dir"], empty)
            finally:
                self.close(server)

    def test_default_directory_is_beside_the_executable(self):
        with temp_dir() as tmp:
            server = self.serve(tmp, "--gwmp-listen", "off")
            try:
                expected = os.path.join(os.path.dirname(os.path.realpath(roostcli.ROOST_BIN)),
                                        "web")
                lines = [json.loads(line) for line in server.drain_log() if "not built" in line]
                if os.path.isfile(os.path.join(expected, "index.html")):
                    self.assertEqual(lines, [])
                else:
                    self.assertEqual(lines[0]["console_dir"], expected)
            finally:
                self.close(server)

    def test_off(self):
        with temp_dir() as tmp:
            server = self.serve(tmp, "--console-dir", "off", "--gwmp-listen", "off")
            try:
                status, headers, _ = server.request("GET", "/")
                self.assertEqual(status, 404)
                self.assertTrue(headers["Content-Type"].startswith("application/json"))
                status, _, _ = server.request("GET", "/api/console/config")
                self.assertEqual(status, 200)
            finally:
                self.close(server)

    def test_bad_settings_refuse_to_start(self):
        with temp_dir() as tmp:
            for flag, value, expected in (
                    ("--console-tile-url", "ftp://tiles/{z}", "expected http://"),
                    ("--console-tile-url", "https://{s}.tile.org/{z}/{x}/{y}.png",
                     "fixed host"),
                    ("--console-tile-url", "https://t.org/x;script-src *", "may not contain"),
            ):
                with self.subTest(value=value):
                    r = roostcli.run(["serve", "--data-dir", os.path.join(tmp, "data"),
                                      "--listen", "127.0.0.1:0", flag, value],
                                     env={"ROOST_ADMIN_PASSWORD": "correct horse battery"},
                                     timeout=30)
                    self.assertNotEqual(r.returncode, 0)
                    self.assertIn("--console-tile-url", r.stderr)
                    self.assertIn(expected, r.stderr)

    def test_too_large_refuses_to_start(self):
        with temp_dir() as tmp:
            web = os.path.join(tmp, "web")
            os.makedirs(os.path.join(web, "assets"))
            with open(os.path.join(web, "index.html"), "w") as f:
                f.write("<!DOCTYPE html>")
            with open(os.path.join(web, "assets", "big.bin"), "wb") as f:
                f.truncate(33 * 1024 * 1024)
            r = roostcli.run(["serve", "--data-dir", os.path.join(tmp, "data"),
                              "--listen", "127.0.0.1:0", "--console-dir", web,
                              "--gwmp-listen", "off"],
                             env={"ROOST_ADMIN_PASSWORD": "correct horse battery"}, timeout=30)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("console.dir", r.stderr)
            self.assertIn("larger than 33554432 bytes", r.stderr)


if __name__ == "__main__":
    unittest.main()
