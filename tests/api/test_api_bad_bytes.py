"""Bytes that are not text, sent through every kind of input of `roost serve`, on both engines.

Text from a client — JSON strings and member names, CSV cells, multipart field names and
filenames, query parameters, path segments — must be UTF-8 without NUL, or the request is
refused with 400 naming where. Invalid UTF-8 that reached the store would make every list
holding it fail to serialize; NUL is cut short by libpq, so on PostgreSQL "id%00junk" would
name the row "id". A refusal never echoes the raw bytes, and a value stored before these
checks existed is still served (with U+FFFD), not answered with 500.
"""

import http.client
import json
import os
import socket
import sqlite3
import unittest
import urllib.parse
import uuid

from roostcli import basic
from roostsite import KEY, Site, run_ok

CERT_HEADER = b"key,manufacturer,productName,revision\n"


def multipart(fields):
    """fields: [(name bytes, data bytes, filename bytes or None)] -> (content type, body)."""
    boundary = "roost-" + uuid.uuid4().hex
    body = b""
    for name, data, filename in fields:
        disposition = b'form-data; name="' + name + b'"'
        if filename is not None:
            disposition += b'; filename="' + filename + b'"'
        body += b"--" + boundary.encode() + b"\r\nContent-Disposition: " + disposition
        body += b"\r\n\r\n" + data + b"\r\n"
    body += b"--" + boundary.encode() + b"--\r\n"
    return "multipart/form-data; boundary=" + boundary, body


class BadBytesBase:
    engine = None

    @classmethod
    def setUpClass(cls):
        cls.site = Site(cls.engine)
        cls.server = cls.site.serve()
        cls.users = cls.site.api_users(("ADMIN", "DEVICE_MANAGER", "FACTORY"))
        cls.pairs = cls.site.issue_and_import(8, "510000")
        # A batch issued but not imported, for the credentials import over HTTP.
        cls.batch = os.path.join(cls.site.dir, "batch-http")
        run_ok(["cra", "issue", "--count", 2, "--first-id", "520000", "--enc-key", KEY,
                "--out-dir", cls.batch])
        # A reader of another group: certificates are global, so a bad row would fail its
        # lists too.
        status, group = cls.call_as(cls.users["ADMIN"], "POST", "/api/groups/create",
                                    json.dumps({"name": "other tenant"}).encode())
        assert status == 200, group
        cls.other = cls.site.api_user("READER", group=group["id"], name="other-reader")

    @classmethod
    def tearDownClass(cls):
        cls.site.close()

    # --- plumbing --------------------------------------------------------------

    @classmethod
    def call_as(cls, user, method, path, body=None, content_type="application/json"):
        """(status, parsed body): the body must be valid UTF-8 JSON whatever was sent."""
        headers = basic(user["login"], user["password"])
        if body is not None:
            headers["Content-Type"] = content_type
        conn = http.client.HTTPConnection(cls.server.host, cls.server.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
        finally:
            conn.close()
        text = payload.decode("utf-8")  # strict: raises on a raw bad byte
        return resp.status, (json.loads(text) if text else None)

    def call(self, role, method, path, body=None, content_type="application/json"):
        return self.call_as(self.users[role], method, path, body, content_type)

    def refused(self, role, method, path, body=None, content_type="application/json",
                where=None, problem=None):
        status, err = self.call(role, method, path, body, content_type)
        self.assertEqual(status, 400, err)
        if where:
            self.assertIn(where, err["message"])
        if problem:
            self.assertIn(problem, err["message"])
        return err

    def raw_request(self, target, method=b"GET"):
        """Sends a request line with raw bytes in the target; returns (status, body bytes)."""
        auth = basic(self.users["ADMIN"]["login"], self.users["ADMIN"]["password"])
        head = method + b" " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        head += b"".join(("%s: %s\r\n" % kv).encode() for kv in auth.items()) + b"\r\n"
        with socket.create_connection((self.server.host, self.server.port), timeout=30) as s:
            s.sendall(head)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split(b" ")[1]), body

    def certificate_exists(self, key):
        status, _ = self.call("DEVICE_MANAGER", "GET", "/api/product-certificates/" + key)
        return status == 200

    def other_tenant_lists_certificates(self):
        status, page = self.call_as(self.other, "GET", "/api/product-certificates?limit=1000")
        self.assertEqual(status, 200, page)
        return page["data"]

    def new_type(self, name):
        status, body = self.call("DEVICE_MANAGER", "POST", "/api/devicetypes/create",
                                 json.dumps({"name": name}).encode())
        self.assertEqual(status, 200, body)
        return body["id"]

    def type_devices(self, type_id):
        status, page = self.call("DEVICE_MANAGER", "GET",
                                 "/api/devicetypes/%s/devices?limit=1000" % type_id)
        self.assertEqual(status, 200, page)
        return page["data"]

    def group_names(self):
        status, page = self.call("ADMIN", "GET", "/api/groups?limit=1000")
        self.assertEqual(status, 200, page)
        return [g["name"] for g in page["data"]]

    # --- (5) invalid UTF-8 ---------------------------------------------------------

    def test_certificate_csv_with_invalid_utf8_is_refused_naming_line_and_column(self):
        csv = CERT_HEADER + b"P_0051_AAAA_01,Good,Name,01\nP_0051_AAAA_02,Bad\xff,Name,02\n"
        err = self.refused("DEVICE_MANAGER", "POST", "/api/product-certificates/import", csv,
                           "text/csv", where="line 3", problem="not valid UTF-8")
        self.assertIn("column manufacturer", err["message"])
        self.assertEqual(err["errors"][0]["line"], 3)
        self.assertFalse(self.certificate_exists("P_0051_AAAA_01"))  # nothing imported
        self.other_tenant_lists_certificates()

    def test_series_prefix_query_not_utf8_is_refused_naming_the_parameter(self):
        tid = self.new_type("bad prefix query")
        dev, pac = self.pairs[0]
        self.refused("FACTORY", "POST",
                     "/api/devicetypes/%s/devices/bulk/create/series?prefix=%%ff" % tid,
                     ("%s;%s\n" % (dev, pac)).encode(), "text/csv",
                     where="query parameter prefix", problem="not valid UTF-8")
        self.assertEqual(self.type_devices(tid), [])

    def test_series_prefix_query_with_a_malformed_escape_is_refused_not_ignored(self):
        # Taken as absent, it would register the devices without their prefix.
        tid = self.new_type("malformed prefix query")
        dev, pac = self.pairs[0]
        for query in ("prefix=%zz", "prefix=dev-%", "pre%zzfix=dev"):
            self.refused("FACTORY", "POST",
                         "/api/devicetypes/%s/devices/bulk/create/series?%s" % (tid, query),
                         ("%s;%s\n" % (dev, pac)).encode(), "text/csv",
                         where="query parameter", problem="malformed percent escape")
        self.assertEqual(self.type_devices(tid), [])
        # A listing filter with a malformed escape is refused, not widened to everything.
        status, err = self.call("ADMIN", "GET", "/api/devices?groupId=%")
        self.assertEqual(status, 400, err)
        self.assertIn("query parameter groupId: malformed percent escape", err["message"])

    def test_series_prefix_form_field_not_utf8_is_refused_naming_the_field(self):
        tid = self.new_type("bad prefix form")
        dev, pac = self.pairs[1]
        ctype, body = multipart([(b"file", ("%s;%s\n" % (dev, pac)).encode(), b"s.csv"),
                                 (b"prefix", b"dev-\xfe", None)])
        self.refused("FACTORY", "POST", "/api/devicetypes/%s/devices/bulk/create/series" % tid,
                     body, ctype, where="prefix", problem="not valid UTF-8")
        ctype, body = multipart([(b"file", ("%s;%s\n" % (dev, pac)).encode(), b"s\xff.csv")])
        self.refused("FACTORY", "POST", "/api/devicetypes/%s/devices/bulk/create/series" % tid,
                     body, ctype, where="filename", problem="not valid UTF-8")
        ctype, body = multipart([(b"file", ("%s;%s\n" % (dev, pac)).encode(), b"s.csv"),
                                 (b"colo\xffur", b"red", None)])
        self.refused("FACTORY", "POST", "/api/devicetypes/%s/devices/bulk/create/series" % tid,
                     body, ctype, where="name", problem="not valid UTF-8")
        self.assertEqual(self.type_devices(tid), [])

    def test_series_csv_with_invalid_utf8_is_refused_naming_line_and_column(self):
        tid = self.new_type("bad series cell")
        dev, pac = self.pairs[2]
        csv = ("id;pac\n%s;%s\n" % (dev, pac)).encode() + b"41A2\xc3;712DF9A8B59CC7EB\n"
        self.refused("FACTORY", "POST", "/api/devicetypes/%s/devices/bulk/create/series" % tid,
                     csv, "text/csv", where="line 3: column id", problem="not valid UTF-8")
        self.assertEqual(self.type_devices(tid), [])

    def test_refusals_never_echo_raw_bytes(self):
        # Raw bytes in the request target, on a route and off any route: the body is
        # valid UTF-8 (call/raw_request decode it strictly) and quotes them escaped.
        status, body = self.raw_request(b"/api/devices/\xff\xfe")
        self.assertIn(status, (400, 404))
        text = body.decode("utf-8")
        self.assertNotIn("\ufffd", text)
        status, body = self.raw_request(b"/nowhere/\xff" + b"x" * 5000, method=b"POST")
        self.assertEqual(status, 404)
        message = json.loads(body.decode("utf-8"))["message"]
        self.assertIn("\\xFF", message)
        self.assertLess(len(message), 400)
        # A GET off any route is the web console's (a deep link): refused as not text, naming
        # where, before anything looks at it.
        status, body = self.raw_request(b"/nowhere/\xff" + b"x" * 5000)
        self.assertEqual(status, 400)
        message = json.loads(body.decode("utf-8"))["message"]
        self.assertEqual(message, "path segment 2: not valid UTF-8")
        # Percent-encoded bytes that decode to something that is not text.
        status, err = self.call("ADMIN", "GET", "/api/groups/ab%C0%AFcd")
        self.assertEqual(status, 400, err)
        self.assertIn("path segment 3: not valid UTF-8", err["message"])
        # A JSON member name with control characters, quoted escaped and bounded.
        err = self.refused("ADMIN", "POST", "/api/groups/create",
                           json.dumps({"name": "g", "x\u0001" * 300: 1}).encode())
        self.assertNotIn("\u0001", err["message"])
        self.assertLess(len(err["message"]), 300)

    # --- (6) NUL through each kind of input ------------------------------------------

    def test_nul_in_a_json_string_is_refused_naming_its_path(self):
        before = self.group_names()
        self.refused("ADMIN", "POST", "/api/groups/create",
                     json.dumps({"name": "nul description", "description": "a\u0000b"}).encode(),
                     where="$.description", problem="contains a NUL byte")
        self.refused("ADMIN", "POST", "/api/groups/create",
                     json.dumps({"name": "nul\u0000name"}).encode(),
                     where="$.name", problem="contains a NUL byte")
        self.assertEqual(self.group_names(), before)

    def test_nul_in_a_query_parameter_is_refused_naming_it(self):
        self.refused("DEVICE_MANAGER", "GET",
                     "/api/devices?namePrefix=a%00b", where="query parameter namePrefix",
                     problem="contains a NUL byte")
        tid = self.new_type("nul prefix query")
        dev, pac = self.pairs[3]
        self.refused("FACTORY", "POST",
                     "/api/devicetypes/%s/devices/bulk/create/series?prefix=dev%%00x" % tid,
                     ("%s;%s\n" % (dev, pac)).encode(), "text/csv",
                     where="query parameter prefix", problem="contains a NUL byte")
        self.assertEqual(self.type_devices(tid), [])

    def test_nul_in_a_path_segment_is_refused_and_names_nothing(self):
        tid = self.new_type("nul path target")
        # On PostgreSQL, libpq would stop at the NUL and delete the type itself.
        self.refused("DEVICE_MANAGER", "DELETE", "/api/devicetypes/%s%%00junk" % tid,
                     where="path segment 3", problem="contains a NUL byte")
        status, got = self.call("DEVICE_MANAGER", "GET", "/api/devicetypes/" + tid)
        self.assertEqual(status, 200, got)
        dev, pac = self.pairs[4]
        self.refused("FACTORY", "POST",
                     "/api/devicetypes/%s%%00/devices/bulk/create/async" % tid,
                     json.dumps({"prefix": "d-", "ids": [{"id": dev, "pac": pac}]}).encode(),
                     where="path segment 3", problem="contains a NUL byte")
        self.assertEqual(self.type_devices(tid), [])

    def test_nul_in_a_csv_cell_is_refused_naming_line_and_column(self):
        csv = CERT_HEADER + b"P_0052_AAAA_01,Nul\x00Co,Name,01\n"
        self.refused("DEVICE_MANAGER", "POST", "/api/product-certificates/import", csv,
                     "text/csv", where="line 2", problem="contains a NUL byte")
        self.assertFalse(self.certificate_exists("P_0052_AAAA_01"))
        tid = self.new_type("nul series cell")
        dev, pac = self.pairs[5]
        csv = ("%s;%s\x00\n" % (dev, pac)).encode()
        self.refused("FACTORY", "POST", "/api/devicetypes/%s/devices/bulk/create/series" % tid,
                     csv, "text/csv", where="line 1: column pac", problem="contains a NUL byte")
        self.assertEqual(self.type_devices(tid), [])

    def test_nul_in_an_id_pac_comment_refuses_the_credentials_import(self):
        # A comment line is otherwise skipped: the NUL must not pass unnoticed.
        with open(os.path.join(self.batch, "id_key_encrypted.bin"), "rb") as f:
            id_key = f.read()
        with open(os.path.join(self.batch, "id_pac.txt"), "rb") as f:
            id_pac = f.read()
        ctype, body = multipart([(b"encryptionKey", KEY.encode(), None),
                                 (b"idKey", id_key, b"id_key.bin"),
                                 (b"idPac", b"# batch \x00\n" + id_pac, b"id_pac.txt")])
        self.refused("ADMIN", "POST", "/api/credentials/import", body, ctype,
                     where="idPac: line 1", problem="contains a NUL byte")
        # Nothing was stored: the clean files then import both credentials.
        ctype, body = multipart([(b"encryptionKey", KEY.encode(), None),
                                 (b"idKey", id_key, b"id_key.bin"),
                                 (b"idPac", id_pac, b"id_pac.txt")])
        status, report = self.call("ADMIN", "POST", "/api/credentials/import", body, ctype)
        self.assertEqual((status, report["imported"]), (200, 2), report)


class BadBytesSqliteTest(BadBytesBase, unittest.TestCase):
    engine = "sqlite"

    def test_rows_stored_with_bad_bytes_before_the_checks_are_still_served(self):
        csv = CERT_HEADER + b"P_0053_AAAA_01,Legacy,Name,01\n"
        status, body = self.call("DEVICE_MANAGER", "POST", "/api/product-certificates/import",
                                 csv, "text/csv")
        self.assertEqual(status, 200, body)
        # As a release without the checks would have stored it: TEXT with invalid UTF-8.
        conn = sqlite3.connect(os.path.join(self.site.data_dir, "roost.db"), timeout=10,
                               isolation_level=None)
        try:
            conn.execute("UPDATE product_certificates SET manufacturer = CAST(X'4C6567FF' AS TEXT)"
                         " WHERE cert_key = 'P_0053_AAAA_01'")
        finally:
            conn.close()
        listed = {c["key"]: c for c in self.other_tenant_lists_certificates()}
        self.assertEqual(listed["P_0053_AAAA_01"]["manufacturer"], "Leg\ufffd")
        status, got = self.call("DEVICE_MANAGER", "GET",
                                "/api/product-certificates/P_0053_AAAA_01")
        self.assertEqual((status, got["manufacturer"]), (200, "Leg\ufffd"))
        status, page = self.call("DEVICE_MANAGER", "GET", "/api/product-certificates?search=" +
                                 urllib.parse.quote("Leg"))
        self.assertEqual(status, 200, page)


class BadBytesPostgresTest(BadBytesBase, unittest.TestCase):
    engine = "postgres"


if __name__ == "__main__":
    unittest.main()
