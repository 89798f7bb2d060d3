"""Accounts over real HTTP against the real `roost serve`, with a real SMTP sink (aiosmtpd):
groups, API users, users invited by email, one-time password links, console sessions with CSRF."""

import email
import email.policy
import json
import os
import re
import subprocess
import time
import unittest

import roostcli
from roostcli import basic, run, temp_dir
from mailsink import SmtpSink
from roostserver import Server

ADMIN_PASSWORD = "correct horse battery staple"
PUBLIC_URL = "http://console.example.test"
LINK = re.compile(re.escape(PUBLIC_URL) + r"/set-password#token=([A-Za-z0-9_-]+)")



def link_token(msg):
    body = msg.get_body(preferencelist=("plain",)).get_content()
    m = LINK.search(body)
    assert m, "no set-password link in: %r" % body
    return m.group(1)


def cookie_of(headers):
    """(name=value, attributes) of the Set-Cookie header."""
    raw = headers.get("Set-Cookie")
    assert raw, "no Set-Cookie in %r" % headers
    first, _, rest = raw.partition(";")
    attrs = [a.strip() for a in rest.split(";") if a.strip()]
    return first.strip(), attrs


class Client:
    """Requests as one principal: HTTP Basic credentials or a session cookie (+ CSRF token)."""

    def __init__(self, server, auth=None, cookie=None, csrf=None):
        self.server, self.auth, self.cookie, self.csrf = server, auth, cookie, csrf

    def call(self, method, path, body=None, raw=None, csrf=True, headers=None):
        h = dict(headers or {})
        if self.auth:
            h.update(self.auth)
        if self.cookie:
            h["Cookie"] = self.cookie
        if self.csrf and csrf:
            h["X-CSRF-Token"] = self.csrf
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None and "Content-Type" not in h:
            h["Content-Type"] = "application/json"
        status, head, payload = self.server.request(method, path, body=data, headers=h)
        return status, head, (json.loads(payload) if payload else None)


def login(server, address, password):
    status, head, body = Client(server).call("POST", "/api/session/login",
                                             {"email": address, "password": password})
    return status, head, body


class AccountsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = temp_dir()
        cls.sink = SmtpSink(os.path.join(cls.tmp.name, "mail"))
        cls.data_dir = os.path.join(cls.tmp.name, "data")
        cls.server = Server(cls.data_dir, "--smtp-host", "127.0.0.1", "--smtp-port",
                            str(cls.sink.port), "--smtp-from", "roost@example.test",
                            "--public-url", PUBLIC_URL,
                            env={"ROOST_ADMIN_PASSWORD": ADMIN_PASSWORD})
        r = run(["api-user", "create", "--name", "ops", "--role", "ADMIN", "--data-dir",
                 cls.data_dir])
        assert r.returncode == 0, r.stderr
        cls.admin_creds = json.loads(r.stdout)
        cls.admin = Client(cls.server, auth=basic(cls.admin_creds["login"],
                                                   cls.admin_creds["password"]))
        cls.secrets = [ADMIN_PASSWORD, cls.admin_creds["password"]]
        cls.mails = 0

    @classmethod
    def tearDownClass(cls):
        cls.server.kill()
        cls.server.proc.stderr.close()
        cls.server.proc.stdout.close()
        cls.sink.stop()
        cls.tmp.cleanup()

    def tearDown(self):
        # No password, link token, session token or CSRF token ever reaches the log.
        log = "".join(self.server.drain_log(0.2))
        for secret in self.secrets:
            self.assertNotIn(secret, log)

    def ok(self, client, method, path, body=None, expect=200):
        status, head, parsed = client.call(method, path, body)
        self.assertEqual(status, expect, parsed)
        return parsed

    def next_mail(self):
        AccountsTest.mails += 1
        return self.sink.message(AccountsTest.mails)

    def new_group(self, name, **extra):
        return self.ok(self.admin, "POST", "/api/groups/create", {"name": name, **extra})["id"]

    def invite(self, address, group, roles=("DEVICE_MANAGER",)):
        out = self.ok(self.admin, "POST", "/api/users/create",
                      {"email": address, "name": "Ann Example", "timezone": "Europe/Paris",
                       "roles": list(roles), "group": group})
        self.assertTrue(out["emailSent"], out)
        rcpts, msg = self.next_mail()
        return out["id"], rcpts, msg

    def assert_error(self, status_body, status, field=None, text=None):
        st, body = status_body
        self.assertEqual(st, status, body)
        self.assertIn("message", body)
        if field is not None:
            self.assertIn(field, [e.get("field") for e in body.get("errors", [])], body)
        if text is not None:
            self.assertIn(text, body["message"])

    # --- the whole walk ---------------------------------------------------------

    def test_invitation_password_link_session_csrf_and_logout(self):
        root = self.ok(self.admin, "GET", "/api/session")["apiUser"]["group"]["id"]
        group = self.new_group("Customers", description="people of a customer")
        g = self.ok(self.admin, "GET", "/api/groups/" + group)
        self.assertEqual(g["path"], [root])
        self.assertEqual(g["parentId"], root)
        self.assertEqual(g["description"], "people of a customer")

        user_id, rcpts, msg = self.invite("Ann@Example.test", group)
        self.assertEqual(rcpts, ["ann@example.test"])
        self.assertEqual(msg["To"], "ann@example.test")
        self.assertEqual(msg["Subject"], "Set your Roost password")
        token = link_token(msg)
        self.assertGreaterEqual(len(token), 43)
        self.secrets.append(token)
        user = self.ok(self.admin, "GET", "/api/users/" + user_id)
        self.assertEqual(user["email"], "ann@example.test")
        self.assertEqual(user["roles"], ["DEVICE_MANAGER"])
        self.assertEqual(user["group"], {"id": group})
        self.assertFalse(user["passwordSet"])
        self.assertNotIn(token, json.dumps(user))
        # No password yet: no login is possible.
        self.assertEqual(login(self.server, "ann@example.test", "")[0], 401)
        self.assertEqual(login(self.server, "ann@example.test", "anything at all")[0], 401)

        # A too-short password does not burn the link.
        public = Client(self.server)
        st, _, body = public.call("POST", "/api/users/set-password",
                                  {"token": token, "password": "short"})
        self.assert_error((st, body), 400, field="password")
        ann_password = "ann's password, long enough"
        self.secrets.append(ann_password)
        st, _, body = public.call("POST", "/api/users/set-password",
                                  {"token": token, "password": ann_password})
        self.assertEqual(st, 204, body)
        # The link works once.
        st, _, body = public.call("POST", "/api/users/set-password",
                                  {"token": token, "password": "another long password"})
        self.assert_error((st, body), 400, field="token", text="already used")
        self.assertTrue(self.ok(self.admin, "GET", "/api/users/" + user_id)["passwordSet"])

        # Log in: the cookie's attributes, the CSRF token in the body.
        st, head, body = login(self.server, "ANN@example.test", ann_password)
        self.assertEqual(st, 200, body)
        cookie, attrs = cookie_of(head)
        self.assertTrue(cookie.startswith("roost_session="))
        session_token = cookie.split("=", 1)[1]
        self.assertGreaterEqual(len(session_token), 43)
        self.secrets.append(session_token)
        self.assertIn("HttpOnly", attrs)
        self.assertIn("SameSite=Strict", attrs)
        self.assertIn("Path=/", attrs)
        self.assertNotIn("Secure", attrs)  # the public URL is http://
        self.assertIn("Max-Age=43200", attrs)
        self.assertEqual(body["user"]["id"], user_id)
        self.assertNotIn(session_token, json.dumps(body))
        csrf = body["csrfToken"]
        self.secrets.append(csrf)
        ann = Client(self.server, cookie=cookie, csrf=csrf)
        me = self.ok(ann, "GET", "/api/session")
        self.assertEqual(me["user"]["email"], "ann@example.test")
        self.assertEqual(me["csrfToken"], csrf)

        # Unsafe methods need X-CSRF-Token; nothing changes without it.
        st, _, body = ann.call("POST", "/api/devicetypes/create", {"name": "by ann"}, csrf=False)
        self.assert_error((st, body), 403, text="X-CSRF-Token")
        st, _, body = ann.call("POST", "/api/devicetypes/create", {"name": "by ann"}, csrf=False,
                               headers={"X-CSRF-Token": "0" * 64})
        self.assertEqual(st, 403, body)
        types = self.ok(ann, "GET", "/api/devicetypes")["data"]
        self.assertEqual([t for t in types if t["name"] == "by ann"], [])
        made = self.ok(ann, "POST", "/api/devicetypes/create", {"name": "by ann"})
        t = self.ok(ann, "GET", "/api/devicetypes/" + made["id"])
        self.assertEqual(t["group"], {"id": group})  # the user's group
        # The user's roles apply: DEVICE_MANAGER is not ADMIN.
        self.assertEqual(ann.call("GET", "/api/users")[0], 403)
        self.ok(ann, "DELETE", "/api/devicetypes/" + made["id"], expect=204)

        # Ann changes her own password: she must re-enter the current one. Her session stays.
        new_password = "ann's second password"
        self.secrets.append(new_password)
        st, _, body = ann.call("POST", "/api/session/password", {"password": new_password})
        self.assert_error((st, body), 400, field="currentPassword")
        st, _, body = ann.call("POST", "/api/session/password",
                               {"password": new_password, "currentPassword": "not it at all"})
        self.assert_error((st, body), 400, field="currentPassword")
        st, _, body = ann.call("POST", "/api/session/password",
                               {"password": new_password, "currentPassword": ann_password},
                               csrf=False)
        self.assertEqual(st, 403, body)
        self.ok(ann, "POST", "/api/session/password",
                {"password": new_password, "currentPassword": ann_password})
        self.assertEqual(login(self.server, "ann@example.test", ann_password)[0], 401)
        self.assertEqual(self.ok(ann, "GET", "/api/session")["user"]["id"], user_id)

        # Logout invalidates the cookie (also when replayed).
        st, head, _ = ann.call("POST", "/api/session/logout")
        self.assertEqual(st, 204)
        cleared, attrs = cookie_of(head)
        self.assertEqual(cleared, "roost_session=")
        self.assertIn("Max-Age=0", attrs)
        st, _, body = ann.call("GET", "/api/session")
        self.assertEqual(st, 401, body)
        self.assertEqual(ann.call("GET", "/api/devicetypes")[0], 401)

        # The user list shows Ann; deleting her needs the group to be empty first.
        users = self.ok(self.admin, "GET", "/api/users?limit=1000")["data"]
        self.assertIn(user_id, [u["id"] for u in users])
        for u in users:
            self.assertNotIn("password", json.dumps(u).replace("passwordSet", ""))
        st, _, body = self.admin.call("DELETE", "/api/groups/" + group)
        self.assert_error((st, body), 409, text="1 users")
        self.ok(self.admin, "DELETE", "/api/users/" + user_id, expect=204)
        self.assertEqual(self.admin.call("GET", "/api/users/" + user_id)[0], 404)
        self.ok(self.admin, "DELETE", "/api/groups/" + group, expect=204)
        self.assertEqual(self.admin.call("GET", "/api/groups/" + group)[0], 404)

        # The log says an email went out (secrets are checked in tearDown).
        self.assertIn("email sent", "".join(self.server.drain_log(0.3)))

    def test_resent_link_replaces_the_old_one_and_admin_sets_a_password(self):
        group = self.new_group("Resend")
        user_id, _, msg = self.invite("bob@example.test", group, roles=("READER",))
        first = link_token(msg)
        out = self.ok(self.admin, "POST", "/api/users/%s/invite" % user_id)
        self.assertTrue(out["emailSent"])
        self.assertGreater(out["passwordLinkExpires"], int(time.time() * 1000))
        _, msg2 = self.next_mail()
        second = link_token(msg2)
        self.assertNotEqual(first, second)
        self.secrets += [first, second, "bob's first password", "set by an admin!"]
        public = Client(self.server)
        st, _, body = public.call("POST", "/api/users/set-password",
                                  {"token": first, "password": "bob's first password"})
        self.assert_error((st, body), 400, field="token")
        self.assertEqual(public.call("POST", "/api/users/set-password",
                                     {"token": second, "password": "bob's first password"})[0],
                         204)

        # The bootstrap admin logs in with a session and sets Bob's password: it must
        # re-enter its OWN password.
        st, head, body = login(self.server, "admin@localhost", ADMIN_PASSWORD)
        self.assertEqual(st, 200, body)
        cookie, _ = cookie_of(head)
        self.secrets += [cookie.split("=", 1)[1], body["csrfToken"]]
        admin = Client(self.server, cookie=cookie, csrf=body["csrfToken"])
        admin_id = body["user"]["id"]
        edit = {"id": user_id, "password": "set by an admin!"}
        st, _, body = admin.call("POST", "/api/users/edit", edit)
        self.assert_error((st, body), 400, field="currentPassword")
        st, _, body = admin.call("POST", "/api/users/edit",
                                 {**edit, "currentPassword": "bob's first password"})
        self.assert_error((st, body), 400, field="currentPassword")
        self.assertEqual(login(self.server, "bob@example.test", "set by an admin!")[0], 401)
        out = self.ok(admin, "POST", "/api/users/edit",
                      {**edit, "currentPassword": ADMIN_PASSWORD, "name": "Bob B.",
                       "timezone": "America/Argentina/Salta", "roles": ["reader", "FACTORY"]})
        self.assertEqual(out["name"], "Bob B.")
        self.assertEqual(out["timezone"], "America/Argentina/Salta")
        self.assertEqual(out["roles"], ["READER", "FACTORY"])
        self.assertEqual(login(self.server, "bob@example.test", "set by an admin!")[0], 200)
        self.assertEqual(login(self.server, "bob@example.test", "bob's first password")[0], 401)
        # Deleting oneself is refused; one's own group cannot be deleted.
        st, _, body = admin.call("DELETE", "/api/users/" + admin_id)
        self.assert_error((st, body), 409, text="yourself")
        root = self.ok(admin, "GET", "/api/session")["user"]["group"]["id"]
        st, _, body = admin.call("DELETE", "/api/groups/" + root)
        self.assert_error((st, body), 409, text="own group")
        self.ok(admin, "DELETE", "/api/users/" + user_id, expect=204)
        self.ok(admin, "POST", "/api/session/logout", expect=204)

    def test_api_users_over_http(self):
        group = self.new_group("Integrations")
        made = self.ok(self.admin, "POST", "/api/api-users/create",
                       {"name": "ci", "roles": ["READER"], "group": group})
        self.assertEqual(sorted(made), ["login", "password"])
        self.assertRegex(made["login"], r"^[0-9a-f]{24}$")
        self.secrets.append(made["password"])
        ci = Client(self.server, auth=basic(made["login"], made["password"]))
        self.assertEqual(self.ok(ci, "GET", "/api/groups")["data"][0]["id"], group)
        self.assertEqual(ci.call("GET", "/api/api-users")[0], 403)  # READER
        got = self.ok(self.admin, "GET", "/api/api-users/" + made["login"])
        self.assertEqual(got["name"], "ci")
        self.assertEqual(got["roles"], ["READER"])
        self.assertEqual(got["group"], {"id": group})
        listed = self.ok(self.admin, "GET", "/api/api-users")
        self.assertIn(made["login"], [u["login"] for u in listed["data"]])
        text = json.dumps(listed) + json.dumps(got)
        self.assertNotIn(made["password"], text)
        self.assertNotIn("argon2", text)
        self.assertNotIn("password", text)
        # An API user cannot delete itself; an admin deletes it and it stops working.
        st, _, body = self.admin.call("DELETE", "/api/api-users/" + self.admin_creds["login"])
        self.assertEqual(st, 409, body)
        self.ok(self.admin, "DELETE", "/api/api-users/" + made["login"], expect=204)
        self.assertEqual(ci.call("GET", "/api/groups")[0], 401)
        self.assertEqual(self.admin.call("GET", "/api/api-users/" + made["login"])[0], 404)
        self.ok(self.admin, "DELETE", "/api/groups/" + group, expect=204)

    def test_groups_tree_paging_and_foreign_groups(self):
        parent = self.new_group("Tree")
        a = self.new_group("A", parentId=parent)
        b = self.new_group("B", parentId=parent)
        a1 = self.new_group("A1", parentId=a)
        children = self.ok(self.admin, "GET", "/api/groups?parentId=" + parent)["data"]
        self.assertEqual(sorted(g["id"] for g in children), sorted([a, b]))
        self.assertEqual(self.ok(self.admin, "GET", "/api/groups/" + a1)["path"][-2:], [parent, a])
        page = self.ok(self.admin, "GET", "/api/groups?limit=1")
        self.assertEqual(len(page["data"]), 1)
        self.assertIn("next", page["paging"])
        # An ADMIN of group A sees A and below only: B is 404, exactly like a missing group.
        r = run(["api-user", "create", "--name", "a-admin", "--role", "ADMIN", "--group", a,
                 "--data-dir", self.data_dir])
        self.assertEqual(r.returncode, 0, r.stderr)
        creds = json.loads(r.stdout)
        self.secrets.append(creds["password"])
        sub = Client(self.server, auth=basic(creds["login"], creds["password"]))
        seen = [g["id"] for g in self.ok(sub, "GET", "/api/groups")["data"]]
        self.assertEqual(sorted(seen), sorted([a, a1]))
        mine = self.ok(sub, "GET", "/api/groups/" + a1)
        self.assertEqual(mine["path"], [a])  # ancestors above its own group are not shown
        own = self.ok(sub, "GET", "/api/groups/" + a)
        self.assertEqual(own["path"], [])
        self.assertNotIn("parentId", own)
        missing = sub.call("GET", "/api/groups/" + "0" * 24)
        foreign = sub.call("GET", "/api/groups/" + b)
        self.assertEqual(foreign[0], 404)
        self.assertEqual(foreign[2]["message"].replace(b, "X"),
                         missing[2]["message"].replace("0" * 24, "X"))
        for method, path, body in [
                ("POST", "/api/groups/create", {"name": "x", "parentId": b}),
                ("POST", "/api/groups/edit", {"id": b, "name": "x"}),
                ("DELETE", "/api/groups/" + b, None),
                ("POST", "/api/users/create", {"email": "f@example.test", "name": "F",
                                               "timezone": "UTC", "roles": ["READER"],
                                               "group": b}),
                ("POST", "/api/api-users/create", {"name": "x", "roles": ["READER"],
                                                   "group": b}),
                ("GET", "/api/groups?parentId=" + b, None)]:
            st, _, resp = sub.call(method, path, body)
            self.assertEqual(st, 404, (method, path, resp))
        self.assertEqual(self.ok(self.admin, "GET", "/api/groups/" + b)["name"], "B")
        emails = [u["email"] for u in self.ok(self.admin, "GET", "/api/users?limit=1000")["data"]]
        self.assertNotIn("f@example.test", emails)
        edited = self.ok(self.admin, "POST", "/api/groups/edit",
                         {"id": b, "name": "B2", "description": None})
        self.assertEqual((edited["name"], edited["description"]), ("B2", ""))
        st, _, body = self.admin.call("DELETE", "/api/groups/" + a)
        self.assert_error((st, body), 409, text="child groups")
        self.ok(self.admin, "DELETE", "/api/api-users/" + creds["login"], expect=204)
        for g in (a1, a, b, parent):
            self.ok(self.admin, "DELETE", "/api/groups/" + g, expect=204)

    def test_bad_input_is_refused_with_the_field_named(self):
        group = self.new_group("Bad input")
        valid = {"email": "carol@example.test", "name": "Carol", "timezone": "UTC",
                 "roles": ["READER"], "group": group}
        cases = [
            (None, '{"email": "carol@example.test",', 400, "line"),
            ({**valid, "admin": True}, None, 400, "admin"),
            ({**valid, "email": "not an email"}, None, 400, "email"),
            ({**valid, "email": "carol@"}, None, 400, "email"),
            ({**valid, "email": 42}, None, 400, "email"),
            ({**valid, "roles": ["READER", "OWNER"]}, None, 400, "roles[1]"),
            ({**valid, "roles": []}, None, 400, "roles"),
            ({**valid, "roles": "READER"}, None, 400, "roles"),
            ({**valid, "timezone": "Mars/Olympus Mons"}, None, 400, "timezone"),
            ({k: v for k, v in valid.items() if k != "name"}, None, 400, "name"),
            ({**valid, "name": ""}, None, 400, "name"),
            ({**valid, "group": "0" * 24}, None, 404, "group"),
        ]
        for body, raw, status, field in cases:
            st, _, resp = self.admin.call("POST", "/api/users/create", body, raw=raw)
            self.assertEqual(st, status, (body, raw, resp))
            self.assertIn("message", resp)
            names = [e.get("field") or ("line" if "line" in e else None)
                     for e in resp.get("errors", [])]
            self.assertIn(field, names, resp)
        # Nothing was created, and no email was sent.
        mails = self.sink.count()
        users = self.ok(self.admin, "GET", "/api/users?limit=1000")["data"]
        self.assertNotIn("carol@example.test", [u["email"] for u in users])
        self.assertEqual(self.sink.count(), mails)
        # A taken email is a conflict, in any case.
        self.invite("dave@example.test", group)
        st, _, resp = self.admin.call("POST", "/api/users/create",
                                      {**valid, "email": "DAVE@example.test"})
        self.assert_error((st, resp), 409, field="email")
        # Other bodies.
        for method, path, body, field in [
                ("POST", "/api/groups/create", {"name": "x", "colour": "red"}, "colour"),
                ("POST", "/api/groups/create", {"description": "no name"}, "name"),
                ("POST", "/api/groups/create", {"name": "x", "parentId": 7}, "parentId"),
                ("POST", "/api/groups/edit", {"id": group, "name": None}, "name"),
                ("POST", "/api/api-users/create", {"name": "x", "roles": ["ROOT"]}, "roles[0]"),
                ("POST", "/api/api-users/create", {"name": "x"}, "roles"),
                ("POST", "/api/users/edit", {"id": group, "email": "x@y"}, "email")]:
            st, _, resp = self.admin.call(method, path, body)
            self.assert_error((st, resp), 400, field=field)
        public = Client(self.server)
        st, _, resp = public.call("POST", "/api/users/set-password", {"token": "x"})
        self.assert_error((st, resp), 400, field="password")
        st, _, resp = public.call("POST", "/api/session/login", {"email": "a@b", "pass": "x"})
        self.assert_error((st, resp), 400, field="pass")
        st, _, resp = public.call("POST", "/api/session/login", raw="email=a%40b&password=x",
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 415, resp)

    def test_failed_logins_are_throttled_per_email(self):
        address = "nobody-%d@example.test" % os.getpid()
        statuses = [login(self.server, address, "guess %d" % i)[0] for i in range(11)]
        self.assertEqual(statuses[:10], [401] * 10)
        self.assertEqual(statuses[10], 429)
        st, head, _ = login(self.server, address, "guess")
        self.assertEqual(st, 429)
        self.assertGreater(int(head["Retry-After"]), 0)
        # Another email from the same address is still checked.
        self.assertEqual(login(self.server, "admin@localhost", ADMIN_PASSWORD)[0], 200)


class ShortLinksAndNoSmtpTest(unittest.TestCase):
    """A server whose links last 1 s, and one without SMTP."""

    def setUp(self):
        self.tmp = temp_dir()
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.kill()
            s.proc.stderr.close()
            s.proc.stdout.close()
        self.tmp.cleanup()

    def start(self, name, *extra):
        data = os.path.join(self.tmp.name, name)
        s = Server(data, "--public-url", PUBLIC_URL, *extra,
                   env={"ROOST_ADMIN_PASSWORD": ADMIN_PASSWORD})
        self.servers.append(s)
        st, head, body = login(s, "admin@localhost", ADMIN_PASSWORD)
        self.assertEqual(st, 200, body)
        return s, Client(s, cookie=cookie_of(head)[0], csrf=body["csrfToken"])

    def test_expired_link_is_refused(self):
        sink = SmtpSink(os.path.join(self.tmp.name, "mail"))
        self.addCleanup(sink.stop)
        server, admin = self.start("short", "--smtp-host", "127.0.0.1", "--smtp-port",
                                   str(sink.port), "--password-link-ttl-s", "1")
        st, _, out = admin.call("POST", "/api/users/create",
                                {"email": "late@example.test", "name": "Late", "timezone": "UTC",
                                 "roles": ["READER"]})
        self.assertEqual(st, 200, out)
        self.assertTrue(out["emailSent"])
        _, msg = sink.message(1)
        self.assertIn("expires in 1 second:", msg.get_body().get_content())
        token = link_token(msg)
        time.sleep(1.2)
        st, _, body = Client(server).call("POST", "/api/users/set-password",
                                          {"token": token, "password": "too late by now"})
        self.assertEqual(st, 400, body)
        self.assertIn("expired", body["message"])
        self.assertEqual(login(server, "late@example.test", "too late by now")[0], 401)

    def test_without_smtp_users_are_created_and_the_response_says_no_email(self):
        server, admin = self.start("nosmtp")
        st, _, out = admin.call("POST", "/api/users/create",
                                {"email": "quiet@example.test", "name": "Q", "timezone": "UTC",
                                 "roles": ["READER"]})
        self.assertEqual(st, 200, out)
        self.assertFalse(out["emailSent"])
        self.assertIn("smtp.host", out["emailError"])
        self.assertNotIn("passwordLinkExpires", out)
        st, _, body = admin.call("POST", "/api/users/%s/invite" % out["id"])
        self.assertEqual(st, 409, body)
        self.assertIn("smtp.host", body["message"])
        # The admin sets the password instead (re-entering its own).
        self.assertEqual(admin.call("POST", "/api/users/edit",
                                    {"id": out["id"], "password": "quiet's password",
                                     "currentPassword": ADMIN_PASSWORD})[0], 200)
        self.assertEqual(login(server, "quiet@example.test", "quiet's password")[0], 200)


if __name__ == "__main__":
    unittest.main()
