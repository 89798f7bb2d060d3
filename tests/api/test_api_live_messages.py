"""Live message streams over real HTTP, on SQLite and PostgreSQL: GET
/api/devices/{id}/messages/live and /api/devicetypes/{id}/messages/live answer with
server-sent events, one per new message, each exactly as the message list shows it;
Last-Event-ID resumes; credentials, group scoping and the per-user and total bounds are
enforced; SIGTERM ends the streams; on PostgreSQL a message ingested through another
instance reaches the stream too.
"""

import http.client
import json
import signal
import socket
import time
import unittest

from roostserver import metric_value
from roostsite import ADMIN_PASSWORD, Client, ServedSite, Site, basic


def now_ms():
    return int(time.time() * 1000)


def admin_session(test, server):
    """The session cookie ("name=value") of the built-in admin, logged in on `server`."""
    c = Client(server)
    status, headers, body = c.call("POST", "/api/session/login",
                                   {"email": "admin@localhost", "password": ADMIN_PASSWORD})
    c.close()
    test.assertEqual(status, 200, body)
    return headers["Set-Cookie"].split(";", 1)[0]


class EventStream:
    """One open event stream, read with http.client (which undoes the chunking)."""

    def __init__(self, server, path, headers=None, timeout=10):
        self.conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
        self.conn.request("GET", path, headers=headers or {})
        # http.client hands the socket to the response of a "Connection: close" answer.
        self.sock = self.conn.sock
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = dict(self.resp.getheaders())
        self.body = None
        if self.status != 200:
            self.body = json.loads(self.resp.read() or b"null")
            self.close()

    def next_event(self, timeout=10, comments=False):
        """The next event as {"id", "event", "data"} (data parsed as JSON); with `comments`,
        a comment line counts as an event {"comment": text}. None at the end of the stream
        or when nothing comes within `timeout`."""
        self.sock.settimeout(timeout)
        fields = {}
        data = []
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    return None
                line = line.decode().rstrip("\n")
                if line == "":
                    if data or "event" in fields:
                        fields["data"] = json.loads("\n".join(data)) if data else None
                        return fields
                    continue
                if line.startswith(":"):
                    if comments:
                        return {"comment": line[1:].strip()}
                    continue
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "data":
                    data.append(value)
                else:
                    fields[name] = value
        except (socket.timeout, TimeoutError):
            return None
        except (ConnectionError, http.client.HTTPException):
            return None

    def close(self):
        self.resp.close()
        self.sock.close()
        self.conn.close()


class LiveFlows(ServedSite):
    SERVE_ARGS = ("--live-poll-interval-ms", "300",)

    @classmethod
    def set_up_site(cls):
        admin = cls.set_up_tenant(8, "4C0000")
        cls.other_reader = cls.site.api_user("READER", group=cls.other)
        admin.ok("POST", "/api/stations/create",
                 {"id": "0C1A", "name": "tenant", "lat": 43.6, "lng": 1.44,
                  "group": cls.tenant}, expect=201)

    def ingest(self, device, seq, at, server=None):
        c = Client(server or self.server, self.station_user)
        try:
            return c.ok("POST", "/api/ingest/uplink",
                        {"device": device, "seqNumber": seq, "data": "feff15", "time": at,
                         "station": "0C1A", "rssi": -110.0, "snr": 10.5})
        finally:
            c.close()

    def listed(self, device):
        c = Client(self.server, self.reader)
        try:
            return c.ok("GET", "/api/devices/%s/messages?limit=10" % device)["data"]
        finally:
            c.close()

    def open(self, path, user=None, headers=None, server=None):
        h = dict(basic(user["login"], user["password"])) if user else {}
        h.update(headers or {})
        stream = EventStream(server or self.server, path, h)
        self.addCleanup(stream.close)
        return stream

    def test_a_new_message_arrives_decoded_as_the_list_shows_it(self):
        device = self.devices[0]
        s = self.open("/api/devices/%s/messages/live" % device, self.reader)
        self.assertEqual(s.status, 200)
        self.assertEqual(s.headers["Content-Type"], "text/event-stream")
        self.assertEqual(s.headers["Cache-Control"], "no-cache")
        self.assertEqual(s.headers["X-Accel-Buffering"], "no")
        by_type = self.open("/api/devicetypes/%s/messages/live" % self.type, self.reader)
        self.assertEqual(by_type.status, 200)
        at = now_ms()
        started = time.time()
        self.assertEqual(self.ingest(device, 1, at)["result"], "accepted")
        event = s.next_event(timeout=5)
        self.assertIsNotNone(event, "no event within 5 s")
        self.assertLess(time.time() - started, 5)
        self.assertEqual(event["event"], "message")
        self.assertEqual(event["data"]["seqNumber"], 1)
        self.assertEqual(event["data"]["device"], device)
        self.assertEqual(event["data"]["decoded"], {"temp": -2, "hum": 21})
        self.assertEqual(event["data"], self.listed(device)[0])
        self.assertEqual(event["id"], "%d-%s-1" % (at, device))
        typed = by_type.next_event(timeout=5)
        self.assertIsNotNone(typed)
        self.assertEqual(typed["data"], event["data"])
        # The store read that follows does not send it again.
        self.assertIsNone(s.next_event(timeout=1))

    def test_last_event_id_resumes_after_that_message(self):
        device = self.devices[1]
        s = self.open("/api/devices/%s/messages/live" % device, self.reader)
        at = now_ms()
        for seq in (1, 2, 3):
            self.ingest(device, seq, at + seq)
        ids = []
        for _ in range(3):
            e = s.next_event(timeout=5)
            self.assertIsNotNone(e)
            ids.append(e["id"])
        self.assertEqual([int(i.rsplit("-", 1)[1]) for i in ids], [1, 2, 3])
        s.close()
        again = self.open("/api/devices/%s/messages/live" % device, self.reader,
                          {"Last-Event-ID": ids[0]})
        self.assertEqual(again.status, 200)
        resumed = [again.next_event(timeout=5) for _ in range(2)]
        self.assertEqual([e["id"] for e in resumed if e], ids[1:])
        self.assertEqual(resumed[1]["data"], self.listed(device)[0])
        self.assertIsNone(again.next_event(timeout=1))

    def test_a_malformed_last_event_id_is_400_naming_it(self):
        s = self.open("/api/devices/%s/messages/live" % self.devices[2], self.reader,
                      {"Last-Event-ID": "yesterday"})
        self.assertEqual(s.status, 400)
        self.assertEqual(s.body["errors"][0]["field"], "Last-Event-ID")
        self.assertIn("yesterday", s.body["message"])

    def test_without_credentials_401(self):
        for path in ("/api/devices/%s/messages/live" % self.devices[0],
                     "/api/devicetypes/%s/messages/live" % self.type):
            s = self.open(path)
            self.assertEqual(s.status, 401)
            self.assertIn("WWW-Authenticate", s.headers)
            wrong = self.open(path, {"login": self.reader["login"], "password": "nope"})
            self.assertEqual(wrong.status, 401)

    def test_another_groups_device_or_type_is_404_as_in_the_list(self):
        for kind, ident in (("devices", self.devices[0]), ("devicetypes", self.type)):
            s = self.open("/api/%s/%s/messages/live" % (kind, ident), self.other_reader)
            c = Client(self.server, self.other_reader)
            status, _, listed = c.call("GET", "/api/%s/%s/messages" % (kind, ident))
            c.close()
            self.assertEqual(s.status, 404)
            self.assertEqual(status, 404)
            self.assertEqual(s.body, listed)
            # ... exactly as an id that does not exist.
            missing = self.open("/api/%s/%s/messages/live" % (
                kind, "7FFFFFF" if kind == "devices" else "0" * 24), self.other_reader)
            self.assertEqual(missing.status, 404)

    def test_a_device_stream_ends_when_the_device_moves_to_a_group_the_reader_cannot_see(self):
        # A device of the tenant, streamed by its READER, transferred to the other group: the
        # messages it sends there (under its new type and group) never reach the stream,
        # which ends, and the reconnect is 404 as the list is.
        device = self.devices[6]
        admin = Client(self.server, self.admin_user)
        self.addCleanup(admin.close)
        elsewhere = admin.ok("POST", "/api/devicetypes/create",
                             {"name": "elsewhere", "group": self.other})["id"]
        admin.ok("POST", "/api/stations/create", {"id": "0C1B", "name": "operator",
                                                  "lat": 48.85, "lng": 2.35}, expect=201)
        operator_station = Client(self.server, self.site.api_user("STATION"))
        self.addCleanup(operator_station.close)
        path = "/api/devices/%s/messages/live" % device
        s = self.open(path, self.reader)
        self.assertEqual(s.status, 200)
        pac = admin.ok("GET", "/api/devices/" + device)["pac"]
        moved = admin.ok("POST", "/api/devices/edit",
                         {"id": device, "deviceTypeId": elsewhere, "pac": pac})
        self.assertEqual(moved["group"]["id"], self.other)
        started = time.time()
        self.assertEqual(operator_station.ok(
            "POST", "/api/ingest/uplink",
            {"device": device, "seqNumber": 1, "data": "feff15", "time": now_ms(),
             "station": "0C1B", "rssi": -110.0, "snr": 10.5})["result"], "accepted")
        shown = []
        while True:
            e = s.next_event(timeout=8)
            if e is None:
                break
            shown.append(e)
        self.assertEqual(shown, [], "another group's message reached the stream")
        self.assertLess(time.time() - started, 8, "the stream did not end")
        again = self.open(path, self.reader)
        self.assertEqual(again.status, 404)

    def test_a_stations_role_may_not_stream(self):
        s = self.open("/api/devices/%s/messages/live" % self.devices[0], self.station_user)
        self.assertEqual(s.status, 403)

    def test_a_session_cookie_opens_a_stream(self):
        cookie = admin_session(self, self.server)
        device = self.devices[3]
        s = self.open("/api/devices/%s/messages/live" % device, headers={"Cookie": cookie})
        self.assertEqual(s.status, 200)
        self.ingest(device, 1, now_ms())
        e = s.next_event(timeout=5)
        self.assertIsNotNone(e)
        self.assertEqual(e["data"]["device"], device)

    def test_the_fifth_stream_of_one_user_is_429(self):
        user = self.site.api_user("READER", group=self.tenant, name="many tabs")
        path = "/api/devices/%s/messages/live" % self.devices[4]
        streams = [self.open(path, user) for _ in range(4)]
        self.assertEqual([s.status for s in streams], [200] * 4)
        fifth = self.open(path, user)
        self.assertEqual(fifth.status, 429)
        self.assertIn("at most 4 live message streams", fifth.body["message"])
        # Another user is not counted against this one.
        self.assertEqual(self.open(path, self.reader).status, 200)
        # Closing one frees its place.
        streams[0].close()
        deadline = time.time() + 5
        while True:
            again = self.open(path, user)
            if again.status == 200 or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(again.status, 200)


class LiveSqliteTest(LiveFlows, unittest.TestCase):
    ENGINE = "sqlite"


class LivePostgresTest(LiveFlows, unittest.TestCase):
    ENGINE = "postgres"

    def test_a_message_ingested_through_another_instance_arrives(self):
        second = self.site.serve("--live-poll-interval-ms", "300")
        try:
            device = self.devices[5]
            s = self.open("/api/devices/%s/messages/live" % device, self.reader)
            self.assertEqual(s.status, 200)
            started = time.time()
            self.assertEqual(self.ingest(device, 1, now_ms(), server=second)["result"],
                             "accepted")
            e = s.next_event(timeout=5)
            self.assertIsNotNone(e, "the other instance's message did not arrive within 5 s")
            self.assertLess(time.time() - started, 5)
            self.assertEqual(e["data"], self.listed(device)[0])
        finally:
            second.stop()


class LiveServerLifeTest(unittest.TestCase):
    """A server of its own: the total bound, keep-alives, /metrics and SIGTERM."""

    def test_total_bound_keepalive_metrics_and_sigterm(self):
        site = Site("sqlite")
        self.addCleanup(site.close)
        server = site.serve("--live-max-streams", "2", "--live-keepalive-ms", "300")
        admin = site.api_user("ADMIN")
        a = Client(server, admin)
        type_id = a.new_type("t")
        d, p = site.issue_and_import(1, "4D0000")[0]
        device = a.ok("POST", "/api/devices/create", {"id": d, "pac": p, "name": "d", "type": type_id})["id"]
        a.close()
        auth = dict(basic(admin["login"], admin["password"]))
        path = "/api/devices/%s/messages/live" % device
        streams = [EventStream(server, path, auth) for _ in range(2)]
        for s in streams:
            self.addCleanup(s.close)
        self.assertEqual([s.status for s in streams], [200, 200])
        third = EventStream(server, "/api/devicetypes/%s/messages/live" % type_id, auth)
        self.assertEqual(third.status, 503)
        self.assertEqual(third.headers.get("Retry-After"), "10")
        # A quiet stream gets keep-alive comments.
        comment = streams[0].next_event(timeout=3, comments=True)
        self.assertEqual(comment, {"comment": "keep-alive"})
        status, _, text = server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(metric_value(text.decode(), "roost_live_streams_open"), 2)
        # Logging out ends the session's stream (checked every keep-alive interval).
        c = Client(server)
        status, headers, body = c.call("POST", "/api/session/login",
                                       {"email": "admin@localhost", "password": ADMIN_PASSWORD})
        self.assertEqual(status, 200, body)
        cookie = headers["Set-Cookie"].split(";", 1)[0]
        streams[1].close()
        time.sleep(0.3)
        by_cookie = EventStream(server, path, {"Cookie": cookie})
        self.addCleanup(by_cookie.close)
        self.assertEqual(by_cookie.status, 200)
        status, _, _ = c.call("POST", "/api/session/logout",
                              headers={"Cookie": cookie, "X-CSRF-Token": body["csrfToken"]})
        c.close()
        self.assertEqual(status, 204)
        ended_at = time.time()
        while by_cookie.next_event(timeout=3, comments=True) is not None:
            self.assertLess(time.time() - ended_at, 3, "the stream outlived its session")
        again = EventStream(server, path, {"Cookie": cookie})
        self.assertEqual(again.status, 401)
        started = time.time()
        self.assertEqual(server.stop(signal.SIGTERM, timeout=10), 0)
        self.assertLess(time.time() - started, 5)
        for s in streams[:1]:
            while s.next_event(timeout=2, comments=True) is not None:
                pass  # keep-alives already sent, then the end
        self.assertLess(time.time() - started, 8)

    def test_a_console_stream_of_a_deleted_device_ends_at_its_next_check(self):
        # A session's stream is checked as an API user's: its device gone, it ends at the next
        # check (every keep-alive interval) even with no message to send.
        site = Site("sqlite")
        self.addCleanup(site.close)
        server = site.serve("--live-keepalive-ms", "1000")
        a = Client(server, site.api_user("ADMIN"))
        self.addCleanup(a.close)
        type_id = a.new_type("t")
        d, p = site.issue_and_import(1, "4F0000")[0]
        device = a.ok("POST", "/api/devices/create",
                      {"id": d, "pac": p, "name": "d", "type": type_id})["id"]
        cookie = admin_session(self, server)
        path = "/api/devices/%s/messages/live" % device
        s = EventStream(server, path, {"Cookie": cookie})
        self.addCleanup(s.close)
        self.assertEqual(s.status, 200)
        a.ok("DELETE", "/api/devices/" + device, expect=204)
        # Keep-alives come every second: nothing for 2 s is the end.
        deadline, ended = time.time() + 6, False
        while not ended and time.time() < deadline:
            ended = s.next_event(timeout=2, comments=True) is None
        self.assertTrue(ended, "the stream outlived its device")
        again = EventStream(server, path, {"Cookie": cookie})
        self.addCleanup(again.close)
        self.assertEqual(again.status, 404)

    def test_a_stream_ends_when_its_users_roles_change(self):
        # Keep-alives (and their checks) far apart: the check before sending ends it.
        site = Site("sqlite")
        self.addCleanup(site.close)
        server = site.serve("--live-keepalive-ms", "60000")
        admin = site.api_user("ADMIN")
        station_user = site.api_user("STATION")
        a = Client(server, admin)
        type_id = a.new_type("t")
        d, p = site.issue_and_import(1, "4E0000")[0]
        device = a.ok("POST", "/api/devices/create",
                      {"id": d, "pac": p, "name": "d", "type": type_id})["id"]
        a.ok("POST", "/api/stations/create", {"id": "0E1A", "name": "s", "lat": 43.6,
                                              "lng": 1.44}, expect=201)
        a.ok("POST", "/api/devicetypes/%s/callbacks/new" % type_id,
             [{"url": "http://hook:LIVEPASS@127.0.0.1:9/cb/{device}"}])
        cookie = admin_session(self, server)
        me = Client(server)
        status, _, session = me.call("GET", "/api/session", headers={"Cookie": cookie})
        me.close()
        self.assertEqual(status, 200, session)
        user_id = session["user"]["id"]
        s = EventStream(server, "/api/devices/%s/messages/live" % device, {"Cookie": cookie})
        self.addCleanup(s.close)
        self.assertEqual(s.status, 200)
        st = Client(server, station_user)

        def ingest(seq):
            return st.ok("POST", "/api/ingest/uplink",
                         {"device": device, "seqNumber": seq, "data": "feff15", "time": now_ms(),
                          "station": "0E1A", "rssi": -110.0, "snr": 10.5})["result"]

        self.assertEqual(ingest(1), "accepted")
        first = s.next_event(timeout=5)
        self.assertIsNotNone(first)
        self.assertIn("LIVEPASS", json.dumps(first["data"]))  # an ADMIN sees it
        a.ok("POST", "/api/users/edit", {"id": user_id, "roles": ["READER"]})
        time.sleep(1.2)
        self.assertEqual(ingest(2), "accepted")
        shown = []
        while True:
            e = s.next_event(timeout=5)
            if e is None:
                break
            shown.append(e)
        self.assertEqual(shown, [], "the stream went on after its user became a READER")
        again = EventStream(server, "/api/devices/%s/messages/live" % device,
                            {"Cookie": cookie, "Last-Event-ID": first["id"]})
        self.addCleanup(again.close)
        self.assertEqual(again.status, 200)
        e = again.next_event(timeout=5)
        self.assertIsNotNone(e)
        self.assertEqual(e["data"]["seqNumber"], 2)
        self.assertNotIn("LIVEPASS", json.dumps(e["data"]))
        st.close()
        a.close()


if __name__ == "__main__":
    unittest.main()
