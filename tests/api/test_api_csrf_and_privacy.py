"""A hostile client against the real `roost serve`, on SQLite and PostgreSQL where storage is
involved: state changes need the CSRF header whatever their method, HEAD runs nothing that
changes state, a group admin learns nothing about the emails of other groups, the session
cookie is Secure with the __Host- name behind https, /metrics is not public, and set-password
tokens stay out of URLs that servers and proxies log."""

import json
import os
import re
import unittest

from roostsite import ADMIN_PASSWORD, Site, basic
from test_api_accounts import Client, SmtpSink, cookie_of

PUBLIC_URL = "http://console.example.test"
LINK = re.compile(r"(\S*/console/set-password\S*)")


def link_of(msg):
    body = msg.get_body(preferencelist=("plain",)).get_content()
    m = LINK.search(body)
    assert m, "no set-password link in: %r" % body
    return m.group(1)


def token_of(link):
    m = re.fullmatch(re.escape(PUBLIC_URL) + r"/console/set-password#token=([A-Za-z0-9_-]+)", link)
    assert m, "not a fragment link: %r" % link
    return m.group(1)


def login(server, address, password, **extra):
    return Client(server).call("POST", "/api/session/login",
                               {"email": address, "password": password, **extra})


def session_of(server, address, password):
    """A Client with the session cookie and CSRF token of a fresh login."""
    status, head, body = login(server, address, password)
    assert status == 200, (status, body)
    cookie, _ = cookie_of(head)
    return Client(server, cookie=cookie, csrf=body["csrfToken"])


# --- (8) a GET that changes state -------------------------------------------------


class DisengageNeedsCsrf:
    engine = None

    @classmethod
    def setUpClass(cls):
        cls.site = Site(cls.engine)
        first = "3A0000" if cls.engine == "sqlite" else "3B0000"
        cls.server = cls.site.serve()  # creates the master key the import needs
        cls.pairs = cls.site.issue_and_import(4, first)
        creds = cls.site.api_user("ADMIN")
        cls.admin = Client(cls.server, auth=basic(creds["login"], creds["password"]))
        cls.person = session_of(cls.server, "admin@localhost", ADMIN_PASSWORD)
        cls.used = 0

    @classmethod
    def tearDownClass(cls):
        cls.site.close()

    def ok(self, client, method, path, body=None, expect=200):
        status, _, parsed = client.call(method, path, body)
        self.assertEqual(status, expect, parsed)
        return parsed

    def type_with_a_device(self):
        """A new device type holding one registered device: (type id, device id)."""
        dev, pac = self.pairs[self.__class__.used]
        self.__class__.used += 1
        tid = self.ok(self.admin, "POST", "/api/devicetypes/create", {"name": "t-" + dev})["id"]
        self.ok(self.admin, "POST", "/api/devices/create",
                {"id": dev, "pac": pac, "name": "d", "type": tid})
        return tid, dev

    def flagged(self, dev):
        rows = self.site.sql("SELECT count(*) FROM sequence_check_disengaged WHERE device_id = %d"
                             % int(dev, 16))
        return int(rows[0][0])

    def test_cookie_without_csrf_header_cannot_disengage(self):
        tid, dev = self.type_with_a_device()
        status, _, body = self.person.call("GET", "/api/devicetypes/%s/disengage" % tid,
                                           csrf=False)
        self.assertEqual(status, 403, body)
        self.assertIn("X-CSRF-Token", body["message"])
        status, _, body = self.person.call("GET", "/api/devicetypes/%s/disengage" % tid,
                                           csrf=False, headers={"X-CSRF-Token": "0" * 64})
        self.assertEqual(status, 403, body)
        self.assertEqual(self.flagged(dev), 0)

    def test_cookie_with_csrf_header_disengages(self):
        tid, dev = self.type_with_a_device()
        self.assertEqual(self.ok(self.person, "GET", "/api/devicetypes/%s/disengage" % tid),
                         {"disengaged": 1})
        self.assertEqual(self.flagged(dev), 1)

    def test_head_never_disengages(self):
        tid, dev = self.type_with_a_device()
        for client in (self.person, self.admin):
            status, head, _ = client.call("HEAD", "/api/devicetypes/%s/disengage" % tid)
            self.assertEqual(status, 405)
            self.assertEqual(head.get("Allow"), "GET")
        self.assertEqual(self.flagged(dev), 0)
        # HEAD still works where GET only reads.
        status, _, _ = self.admin.call("HEAD", "/api/devicetypes/" + tid)
        self.assertEqual(status, 200)
        status, _, _ = self.person.call("HEAD", "/api/devicetypes", csrf=False)
        self.assertEqual(status, 200)


class DisengageNeedsCsrfSqlite(DisengageNeedsCsrf, unittest.TestCase):
    engine = "sqlite"


class DisengageNeedsCsrfPostgres(DisengageNeedsCsrf, unittest.TestCase):
    engine = "postgres"


if __name__ == "__main__":
    unittest.main()
