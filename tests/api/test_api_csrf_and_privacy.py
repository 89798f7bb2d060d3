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
LINK = re.compile(r"(\S*/set-password\S*)")


def link_of(msg):
    body = msg.get_body(preferencelist=("plain",)).get_content()
    m = LINK.search(body)
    assert m, "no set-password link in: %r" % body
    return m.group(1)


def token_of(link):
    m = re.fullmatch(re.escape(PUBLIC_URL) + r"/set-password#token=([A-Za-z0-9_-]+)", link)
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


# --- (9) emails of other groups ---------------------------------------------------


class EmailsOfOtherGroups:
    engine = None

    @classmethod
    def setUpClass(cls):
        cls.site = Site(cls.engine)
        cls.sink = SmtpSink(os.path.join(cls.site.dir, "mail"))
        cls.server = cls.site.serve("--smtp-host", "127.0.0.1", "--smtp-port", str(cls.sink.port),
                                    "--smtp-from", "roost@example.test", "--public-url",
                                    PUBLIC_URL)
        creds = cls.site.api_user("ADMIN")
        cls.root = Client(cls.server, auth=basic(creds["login"], creds["password"]))
        cls.group_a = cls.new_group("A")
        cls.group_b = cls.new_group("B")
        creds = cls.site.api_user("ADMIN", group=cls.group_a, name="a-admin")
        cls.admin_a = Client(cls.server, auth=basic(creds["login"], creds["password"]))
        cls.mails = 0

    @classmethod
    def tearDownClass(cls):
        cls.sink.stop()
        cls.site.close()

    @classmethod
    def new_group(cls, name):
        status, _, body = cls.root.call("POST", "/api/groups/create", {"name": name})
        assert status == 200, body
        return body["id"]

    def next_token(self, address):
        self.__class__.mails += 1
        rcpts, msg = self.sink.message(self.__class__.mails)
        self.assertEqual(rcpts, [address])
        return token_of(link_of(msg))

    def create(self, client, address, group):
        return client.call("POST", "/api/users/create",
                           {"email": address, "name": "Sam", "timezone": "UTC",
                            "roles": ["READER"], "group": group})

    def set_password(self, token, password):
        status, _, body = Client(self.server).call("POST", "/api/users/set-password",
                                                   {"token": token, "password": password})
        self.assertEqual(status, 204, body)

    def shape(self, value):
        """The structure of a JSON value: key names and value types, not the values."""
        if isinstance(value, dict):
            return {k: self.shape(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.shape(v) for v in value[:1]]
        return type(value).__name__

    def test_an_email_of_another_group_is_created_like_a_fresh_one(self):
        status, _, held = self.create(self.root, "held@example.test", self.group_b)
        self.assertEqual(status, 200, held)
        self.next_token("held@example.test")

        answers = {}
        for address in ("held@example.test", "fresh@example.test"):
            status, head, body = self.create(self.admin_a, address, self.group_a)
            self.next_token(address)
            got = self.admin_a.call("GET", "/api/users/" + body["id"])
            answers[address] = (status, self.shape(body), got[0], self.shape(got[2]))
            self.assertEqual(got[2]["email"], address)
            self.assertEqual(got[2]["group"], {"id": self.group_a})
            self.assertFalse(got[2]["passwordSet"])
        self.assertEqual(answers["held@example.test"], answers["fresh@example.test"])
        self.assertEqual(answers["fresh@example.test"][0], 200)
        listed = self.admin_a.call("GET", "/api/users")[2]
        emails = sorted(u["email"] for u in listed["data"])
        self.assertEqual(emails.count("held@example.test"), 1, listed)
        self.assertIn("fresh@example.test", emails)

        # A duplicate the creator can see is still refused.
        status, _, body = self.create(self.admin_a, "held@example.test", self.group_a)
        self.assertEqual(status, 409, body)
        self.assertEqual([e.get("field") for e in body["errors"]], ["email"])
        # The root admin sees one account per group, the other group's untouched.
        held = [u for u in self.root.call("GET", "/api/users")[2]["data"]
                if u["email"] == "held@example.test"]
        self.assertEqual(sorted(u["group"]["id"] for u in held),
                         sorted([self.group_a, self.group_b]))

    def test_login_with_an_email_of_two_groups(self):
        address = "two@example.test"
        self.assertEqual(self.create(self.root, address, self.group_b)[0], 200)
        token_b = self.next_token(address)
        self.assertEqual(self.create(self.admin_a, address, self.group_a)[0], 200)
        token_a = self.next_token(address)
        self.set_password(token_b, "password of the B account")
        self.set_password(token_a, "password of the A account")

        # Each password opens its own account.
        for password, group in (("password of the A account", self.group_a),
                                ("password of the B account", self.group_b)):
            status, _, body = login(self.server, address, password)
            self.assertEqual(status, 200, body)
            self.assertEqual(body["user"]["group"], {"id": group})
        self.assertEqual(login(self.server, address, "neither of the two")[0], 401)

        # One password for both: the login asks which group, naming only those it opened.
        self.set_password(self.reset(address, self.group_a), "one password for both")
        self.set_password(self.reset(address, self.group_b), "one password for both")
        status, _, body = login(self.server, address, "one password for both")
        self.assertEqual(status, 409, body)
        self.assertEqual(sorted(g["id"] for g in body["groups"]),
                         sorted([self.group_a, self.group_b]))
        self.assertNotIn("csrfToken", body)
        for group in (self.group_a, self.group_b):
            status, _, body = login(self.server, address, "one password for both", group=group)
            self.assertEqual(status, 200, body)
            self.assertEqual(body["user"]["group"], {"id": group})
        status, _, body = login(self.server, address, "password of the A account",
                                group=self.group_b)
        self.assertEqual(status, 401, body)

    def reset(self, address, group):
        users = self.root.call("GET", "/api/users")[2]["data"]
        (user,) = [u for u in users if u["email"] == address and u["group"]["id"] == group]
        status, _, body = self.root.call("POST", "/api/users/%s/invite" % user["id"])
        self.assertEqual(status, 200, body)
        return self.next_token(address)


class EmailsOfOtherGroupsSqlite(EmailsOfOtherGroups, unittest.TestCase):
    engine = "sqlite"


class EmailsOfOtherGroupsPostgres(EmailsOfOtherGroups, unittest.TestCase):
    engine = "postgres"


# --- (10) the session cookie, /metrics, set-password links --------------------------


class SecureCookiesTest(unittest.TestCase):
    def setUp(self):
        self.site = Site("sqlite")

    def tearDown(self):
        self.site.close()

    def login_cookie(self, server):
        status, head, body = login(server, "admin@localhost", ADMIN_PASSWORD)
        self.assertEqual(status, 200, body)
        cookie, attrs = cookie_of(head)
        return cookie, attrs, body["csrfToken"]

    def test_secure_cookies_on_uses_the_host_prefix_everywhere(self):
        server = self.site.serve("--secure-cookies", "on")
        cookie, attrs, csrf = self.login_cookie(server)
        name, _, value = cookie.partition("=")
        self.assertEqual(name, "__Host-roost_session")
        self.assertIn("Secure", attrs)
        self.assertIn("Path=/", attrs)
        self.assertFalse([a for a in attrs if a.lower().startswith("domain")], attrs)
        session = Client(server, cookie=cookie, csrf=csrf)
        self.assertEqual(session.call("GET", "/api/session")[0], 200)
        # The unprefixed name is not read: it could have been planted over plain http.
        self.assertEqual(Client(server, cookie="roost_session=" + value).call(
            "GET", "/api/session")[0], 401)
        status, head, _ = session.call("POST", "/api/session/logout")
        self.assertEqual(status, 204)
        cleared, cleared_attrs = cookie_of(head)
        self.assertEqual(cleared, "__Host-roost_session=")
        self.assertIn("Secure", cleared_attrs)
        self.assertEqual(session.call("GET", "/api/session")[0], 401)

    def test_secure_cookies_auto_follows_the_public_url(self):
        server = self.site.serve("--public-url", "https://roost.example.test")
        cookie, attrs, _ = self.login_cookie(server)
        self.assertTrue(cookie.startswith("__Host-roost_session="), cookie)
        self.assertIn("Secure", attrs)
        server.kill()
        server = self.site.serve()
        cookie, attrs, _ = self.login_cookie(server)
        self.assertTrue(cookie.startswith("roost_session="), cookie)
        self.assertNotIn("Secure", attrs)

    def test_secure_cookies_off_keeps_the_plain_cookie_behind_https(self):
        server = self.site.serve("--public-url", "https://roost.example.test",
                                 "--secure-cookies", "off")
        cookie, attrs, csrf = self.login_cookie(server)
        self.assertTrue(cookie.startswith("roost_session="), cookie)
        self.assertNotIn("Secure", attrs)
        self.assertEqual(Client(server, cookie=cookie, csrf=csrf).call("GET", "/api/session")[0],
                         200)


class MetricsAccessTest(unittest.TestCase):
    TOKEN = "metrics-token-4f1d9c2b7a"

    def setUp(self):
        self.site = Site("sqlite")

    def tearDown(self):
        self.site.close()

    def scrape(self, server, headers=None):
        status, head, body = server.request("GET", "/metrics", headers=headers)
        return status, head, body

    def test_loopback_clients_scrape_without_a_token(self):
        server = self.site.serve()
        status, head, body = self.scrape(server)
        self.assertEqual(status, 200, body)
        self.assertIn(b"process_start_time_seconds", body)

    def test_a_metrics_token_is_required_when_set(self):
        server = self.site.serve(env={"ROOST_METRICS_TOKEN": self.TOKEN})
        status, head, _ = self.scrape(server)
        self.assertEqual(status, 401)
        self.assertIn("Bearer", head.get("WWW-Authenticate", ""))
        for wrong in ("Bearer wrong-token", "Bearer " + self.TOKEN[:-1], self.TOKEN,
                      "Basic " + self.TOKEN):
            self.assertEqual(self.scrape(server, {"Authorization": wrong})[0], 401, wrong)
        status, _, body = self.scrape(server, {"Authorization": "Bearer " + self.TOKEN})
        self.assertEqual(status, 200, body)
        self.assertIn(b"process_start_time_seconds", body)
        self.assertNotIn(self.TOKEN, "".join(server.drain_log(0.2)))


class PasswordLinkTest(unittest.TestCase):
    def setUp(self):
        self.site = Site("sqlite")
        self.sink = SmtpSink(os.path.join(self.site.dir, "mail"))
        self.server = self.site.serve("--smtp-host", "127.0.0.1", "--smtp-port",
                                      str(self.sink.port), "--smtp-from", "roost@example.test",
                                      "--public-url", PUBLIC_URL, "--log-level", "debug")
        creds = self.site.api_user("ADMIN")
        self.admin = Client(self.server, auth=basic(creds["login"], creds["password"]))

    def tearDown(self):
        self.sink.stop()
        self.site.close()

    def test_the_token_is_in_the_fragment_and_never_in_a_log_line(self):
        status, _, body = self.admin.call("POST", "/api/users/create",
                                          {"email": "link@example.test", "name": "Lee",
                                           "timezone": "UTC", "roles": ["READER"]})
        self.assertEqual(status, 200, body)
        _, msg = self.sink.message(1)
        link = link_of(msg)
        self.assertNotIn("?", link)
        token = token_of(link)

        public = Client(self.server)
        # The API takes the token from the JSON body only, never from the query.
        status, _, err = public.call("POST", "/api/users/set-password?token=" + token,
                                     {"password": "a long enough password"})
        self.assertEqual(status, 400, err)
        self.assertIn("token", [e.get("field") for e in err["errors"]])
        status, _, err = public.call("POST", "/api/users/set-password",
                                     {"token": token, "password": "a long enough password"})
        self.assertEqual(status, 204, err)
        status, _, _ = login(self.server, "link@example.test", "a long enough password")
        self.assertEqual(status, 200)
        log = "".join(self.server.drain_log(0.2))
        self.assertIn("/api/users/set-password", log)
        self.assertNotIn(token, log)


# --- the console never meets the browser's own password dialog --------------------


class BasicChallengeOnlyOutsidePages(unittest.TestCase):
    """A 401 carries `WWW-Authenticate: Basic` for scripts and for a browser opening an API URL
    (Sec-Fetch-Mode: navigate), but not for a page's own fetch or EventSource (any other
    Sec-Fetch-Mode): a browser would hold such a request behind its password dialog."""

    def setUp(self):
        self.site = Site("sqlite")
        self.server = self.site.serve()

    def tearDown(self):
        self.site.close()

    def challenge(self, headers, path="/api/devices"):
        status, head, body = self.server.request("GET", path, headers=headers)
        self.assertEqual(status, 401, body)
        self.assertRegex(body, rb"authentication required|log in again")
        return head.get("WWW-Authenticate")

    def test_scripts_and_navigations_get_the_basic_challenge(self):
        self.assertEqual(self.challenge({}), 'Basic realm="roost"')
        self.assertEqual(self.challenge({"Sec-Fetch-Mode": "navigate"}), 'Basic realm="roost"')
        self.assertEqual(self.challenge({"Sec-Fetch-Mode": "NAVIGATE"}), 'Basic realm="roost"')

    def test_a_pages_own_requests_get_no_challenge(self):
        for mode in ("cors", "same-origin", "no-cors"):
            self.assertIsNone(self.challenge({"Sec-Fetch-Mode": mode}), mode)
        # Wrong Basic credentials from a page's script: still no dialog.
        self.assertIsNone(self.challenge({"Sec-Fetch-Mode": "cors", **basic("nobody", "wrong")}))
        # An ended session cookie, as the console meets after a logout elsewhere.
        self.assertIsNone(self.challenge({"Sec-Fetch-Mode": "same-origin",
                                          "Cookie": "roost_session=" + "A" * 43},
                                         path="/api/session"))


if __name__ == "__main__":
    unittest.main()
