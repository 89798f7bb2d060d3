"""Device events over real HTTP, on SQLite and PostgreSQL: a device of a type with a keepAlive
of a few seconds that falls silent raises exactly one ERROR event (…/status/error), one email to
the event configuration's address reaches the real SMTP sink and the type's ERROR callback
fires on a loopback receiver; when it speaks again a WARN "communication restored" follows.
Two `roost serve` on one PostgreSQL still record one event and send one email. Event
configurations are validated and isolated by group like the other device routes.
"""

import json
import os
import time
import unittest

from mailsink import SmtpSink
from callback_receiver import Receiver
from roostsite import Client, ServedSite, Site

WATCH_MS = "200"  # the watcher's period in these tests


def now_ms():
    return int(time.time() * 1000)


def wait_for(fetch, ready, timeout=15):
    """Calls fetch() until ready(value) or the timeout; returns the last value."""
    deadline = time.time() + timeout
    value = fetch()
    while not ready(value) and time.time() < deadline:
        time.sleep(0.1)
        value = fetch()
    return value


def without_deliveries(events):
    """The events without their callbacks' deliveries, which change as they are sent."""
    return [{k: v for k, v in e.items() if k != "callbacks"} for e in events]


class EventFlows(ServedSite):
    @classmethod
    def before_serve(cls):
        cls.receiver = Receiver()
        cls.closers.append(cls.receiver.stop)
        cls.sink = SmtpSink(os.path.join(cls.site.dir, "mail"))
        cls.closers.append(cls.sink.stop)
        return ("--smtp-host", "127.0.0.1", "--smtp-port", str(cls.sink.port), "--smtp-from",
                "roost@test.example", "--event-watch-ms", WATCH_MS)

    @classmethod
    def set_up_site(cls):
        cls.admin = cls.client("ADMIN", name="admin")
        cls.station = cls.site.api_user("STATION", name="station")
        cls.reader = cls.client("READER", name="reader")
        cls.manager = cls.client("DEVICE_MANAGER", name="manager")
        cls.other = cls.admin.ok("POST", "/api/groups/create", {"name": "other"})["id"]
        cls.other_admin = cls.client("ADMIN", group=cls.other, name="other")
        cls.admin.ok("POST", "/api/stations/create", {"id": "0A1B", "name": "s"}, expect=201)
        cls.pairs = cls.site.issue_and_import(4, "7E0000")

    def type_with_device(self, name, index):
        # keepAlive 0 until the device has spoken: registration alone would count as silence.
        tid = self.admin.ok("POST", "/api/devicetypes/create", {"name": name})["id"]
        dev, pac = self.pairs[index]
        did = self.admin.ok("POST", "/api/devices/create",
                            {"id": dev, "pac": pac, "name": name, "type": tid})["id"]
        return tid, did

    def ingest(self, device, seq):
        c = Client(self.server, self.station)
        try:
            return c.ok("POST", "/api/ingest/uplink",
                        {"device": device, "seqNumber": seq, "data": "01", "time": now_ms(),
                         "station": "0A1B", "rssi": -110.0, "snr": 10.0})["result"]
        finally:
            c.close()

    def events(self, path):
        return self.reader.ok("GET", path)["data"]

    def emails_to(self, address):
        out = []
        for n in range(1, self.sink.count() + 1):
            rcpts, msg = self.sink.message(n)
            if address in rcpts:
                out.append(msg)
        return out

    def test_silence_raises_one_error_one_email_one_callback_and_speaking_again_restores(self):
        tid, did = self.type_with_device("meters", 0)
        self.admin.ok("POST", "/api/devicetypes/%s/events/config/new" % tid,
                      {"kinds": ["COMMUNICATION_LOSS", "COMMUNICATION_RESTORED"],
                       "emails": ["ops@test.example"]}, expect=201)
        self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid,
                      [{"callbackType": "ERROR", "callbackSubtype": "NONE",
                        "url": self.receiver.url("/error/{device}"), "httpMethod": "POST",
                        "contentType": "application/json",
                        "bodyTemplate": '{"info":"{info}","severity":"{severity}"}'}])
        self.assertEqual(self.ingest(did, 1), "accepted")
        self.admin.ok("POST", "/api/devicetypes/edit", {"id": tid, "keepAlive": 2})

        errors_path = "/api/devices/%s/status/error" % did
        errors = wait_for(lambda: self.events(errors_path), lambda e: len(e) >= 1)
        self.assertEqual(len(errors), 1, errors)
        e = errors[0]
        self.assertEqual(e["severity"], "ERROR")
        self.assertEqual(e["kind"], "COMMUNICATION_LOSS")
        self.assertEqual(e["device"], did)
        self.assertEqual(e["deviceType"], tid)
        # The Sigfox API v1's names for the same.
        self.assertEqual(e["deviceId"], did)
        self.assertEqual(e["deviceTypeId"], tid)
        self.assertNotIn("deviceIds", e)
        self.assertTrue(e["message"].startswith("No message received since 20"), e)
        # The same event through its type; its ERROR callback's delivery may have moved on
        # between the two reads (attempted, done), so that is compared apart, below.
        self.assertEqual(without_deliveries(self.events("/api/devicetypes/%s/status/error" % tid)),
                         without_deliveries(errors))
        self.assertEqual(self.events("/api/devices/%s/status/warn" % did), [])

        mails = wait_for(lambda: self.emails_to("ops@test.example"), lambda m: len(m) >= 1)
        self.assertEqual(len(mails), 1)
        self.assertIn("communication lost with device", mails[0]["Subject"])
        self.assertIn(e["message"], mails[0].get_content())
        calls = wait_for(lambda: self.receiver.received("/error/"), lambda r: len(r) >= 1)
        self.assertEqual(len(calls), 1, calls)
        self.assertEqual(json.loads(calls[0][3]), {"info": e["message"], "severity": "ERROR"})
        # The loss lists the ERROR callback's delivery as its "callbacks".
        listed = wait_for(lambda: self.events(errors_path),
                          lambda ev: ev[0]["callbacks"] and
                          ev[0]["callbacks"][0]["state"] == "done")
        self.assertEqual([c["state"] for c in listed[0]["callbacks"]], ["done"])
        # An event is no message: its delivery has no sequence number nor station.
        self.assertIsNone(listed[0]["callbacks"][0]["seqNumber"], listed[0]["callbacks"])
        self.assertEqual(listed[0]["callbacks"][0]["station"], "", listed[0]["callbacks"])
        # A READER's view masks the path's literal segments (docs/api.md).
        self.assertEqual(listed[0]["callbacks"][0]["url"].split("/")[:4],
                         self.receiver.url("/***").split("/"), listed[0]["callbacks"])
        self.assertEqual([h["status"] for h in listed[0]["callbacks"][0]["history"]], [200])

        # Several watch periods later: still one of each.
        time.sleep(1.0)
        self.assertEqual(len(self.events(errors_path)), 1)
        self.assertEqual(len(self.emails_to("ops@test.example")), 1)
        self.assertEqual(len(self.receiver.received("/error/")), 1)

        self.assertEqual(self.ingest(did, 2), "accepted")
        warns = wait_for(lambda: self.events("/api/devices/%s/status/warn" % did),
                         lambda w: len(w) >= 1)
        self.assertEqual(len(warns), 1, warns)
        self.assertEqual(warns[0]["kind"], "COMMUNICATION_RESTORED")
        self.assertEqual(warns[0]["severity"], "WARN")
        self.assertEqual(warns[0]["deviceIds"], [did])
        self.assertTrue(warns[0]["message"].startswith("Communication restored"), warns)
        mails = wait_for(lambda: self.emails_to("ops@test.example"), lambda m: len(m) >= 2)
        self.assertEqual(len(mails), 2)
        self.assertIn("communication restored", mails[1]["Subject"])
        # ERROR callbacks fire for the restoration too, with its severity.
        called = wait_for(lambda: self.receiver.received("/error/"), lambda r: len(r) >= 2)
        self.assertEqual(len(called), 2, called)
        self.assertEqual(json.loads(called[1][3]),
                         {"info": warns[0]["message"], "severity": "WARN"})
        self.admin.ok("POST", "/api/devicetypes/edit", {"id": tid, "keepAlive": 0})
        # A page at a time gives the same events, each with its delivery, as one page, once
        # every delivery is settled (nothing changes between the reads then).
        for path in (errors_path, "/api/devices/%s/status/warn" % did):
            whole = wait_for(lambda: self.events(path),
                             lambda ev: all(len(e["callbacks"]) == 1 and
                                            e["callbacks"][0]["state"] == "done" for e in ev))
            self.assertTrue(whole and all(len(e["callbacks"]) == 1 and
                                          e["callbacks"][0]["state"] == "done" for e in whole),
                            whole)
            paged, url = [], path + "?limit=1"
            while url:
                page = self.reader.ok("GET", url)
                self.assertLessEqual(len(page["data"]), 1, page)
                paged += page["data"]
                url = page["paging"].get("next")
            self.assertEqual(paged, whole)
            for skip in range(len(whole) + 1):
                self.assertEqual(self.reader.ok("GET", path + "?offset=%d" % skip)["data"],
                                 whole[skip:], (path, skip))

    def test_event_lists_page_and_refuse_bad_parameters(self):
        tid, did = self.type_with_device("paged", 1)
        path = "/api/devices/%s/status/error" % did
        self.assertEqual(self.reader.ok("GET", path), {"data": [], "paging": {}})
        status, _, err = self.reader.call("GET", path + "?limit=0")
        self.assertEqual(status, 400, err)
        status, _, err = self.reader.call("GET", path + "?after=nonsense")
        self.assertEqual(status, 400, err)
        status, _, err = self.reader.call("GET", path + "?since=yesterday")
        self.assertEqual(status, 400, err)

    def test_event_configurations_are_validated_and_only_admins_change_them(self):
        tid, did = self.type_with_device("configs", 2)
        base = "/api/devices/%s/events/config" % did
        status, _, err = self.admin.call("POST", base + "/new",
                                         {"kinds": ["COMMUNICATION_LOSS"],
                                          "emails": ["ops@test.example", "not an address"]})
        self.assertEqual(status, 400, err)
        self.assertIn("emails[1]", json.dumps(err))
        # 129 characters, 256 bytes: an address is bounded in bytes (RFC 5321).
        status, _, err = self.admin.call("POST", base + "/new",
                                         {"kinds": [0], "emails": ["a@" + "\u00e9" * 127]})
        self.assertEqual(status, 400, err)
        self.assertIn("emails[0]", json.dumps(err))
        self.assertIn("longer than 254 bytes", err["message"])
        status, _, err = self.admin.call("POST", base + "/new",
                                         {"kinds": ["SOMETHING"], "emails": ["a@test.example"]})
        self.assertEqual(status, 400, err)
        self.assertIn("kinds[0]", json.dumps(err))
        status, _, err = self.manager.call("POST", base + "/new",
                                           {"kinds": [0], "emails": ["a@test.example"]})
        self.assertEqual(status, 403, err)
        made = self.admin.ok("POST", base + "/new", {"kinds": [0], "emails": ["a@test.example"]},
                             expect=201)
        self.assertEqual(made["scope"], "DEVICE")
        self.assertEqual(made["target"], did)
        self.assertEqual(made["kinds"], ["COMMUNICATION_LOSS"])
        self.assertEqual(self.reader.ok("GET", base)["data"], [made])
        # A configuration is deleted only through the object it belongs to.
        status, _, _ = self.admin.call(
            "POST", "/api/devicetypes/%s/events/config/%s/delete" % (tid, made["id"]))
        self.assertEqual(status, 404)
        self.admin.ok("POST", "%s/%s/delete" % (base, made["id"]), expect=204)
        self.assertEqual(self.reader.ok("GET", base)["data"], [])
        # At most 10 per target: the eleventh is 409, and deleting one makes room.
        type_base = "/api/devicetypes/%s/events/config" % tid
        made = [self.admin.ok("POST", type_base + "/new",
                              {"kinds": [0], "emails": ["t%d@test.example" % i]}, expect=201)
                for i in range(10)]
        status, _, err = self.admin.call("POST", type_base + "/new",
                                         {"kinds": [0], "emails": ["t10@test.example"]})
        self.assertEqual(status, 409, err)
        self.assertIn("at most 10 event configurations", err["message"])
        self.assertEqual(len(self.reader.ok("GET", type_base)["data"]), 10)
        self.admin.ok("POST", "%s/%s/delete" % (type_base, made[0]["id"]), expect=204)
        self.admin.ok("POST", type_base + "/new", {"kinds": [0], "emails": ["t10@test.example"]},
                      expect=201)
        for m in self.reader.ok("GET", type_base)["data"]:
            self.admin.ok("POST", "%s/%s/delete" % (type_base, m["id"]), expect=204)

    def test_another_group_sees_nothing_and_is_answered_like_an_unknown_device(self):
        tid, did = self.type_with_device("private", 3)
        group = self.admin.ok("GET", "/api/devicetypes/" + tid)["group"]["id"]
        self.admin.ok("POST", "/api/groups/%s/events/config/new" % group,
                      {"kinds": ["COMMUNICATION_LOSS"], "emails": ["g@test.example"]},
                      expect=201)
        unknown = "7EFFFF"
        for path in ("/api/devices/%s/status/error", "/api/devices/%s/status/warn",
                     "/api/devices/%s/events/config"):
            status_foreign, _, body_foreign = self.other_admin.call("GET", path % did)
            status_unknown, _, body_unknown = self.other_admin.call("GET", path % unknown)
            self.assertEqual(status_foreign, 404, body_foreign)
            self.assertEqual(status_unknown, 404, body_unknown)
            self.assertEqual(body_foreign["message"].replace(did, "X"),
                             body_unknown["message"].replace(unknown, "X"))
        for path in ("/api/devicetypes/%s/status/error" % tid,
                     "/api/devicetypes/%s/events/config" % tid,
                     "/api/groups/%s/events/config" % group):
            status, _, body = self.other_admin.call("GET", path)
            self.assertEqual(status, 404, body)
        status, _, body = self.other_admin.call(
            "POST", "/api/devices/%s/events/config/new" % did,
            {"kinds": ["COMMUNICATION_LOSS"], "emails": ["spy@test.example"]})
        self.assertEqual(status, 404, body)
        self.assertEqual(self.reader.ok("GET", "/api/devices/%s/events/config" % did)["data"], [])


class SqliteEventsTest(EventFlows, unittest.TestCase):
    ENGINE = "sqlite"


class PostgresEventsTest(EventFlows, unittest.TestCase):
    ENGINE = "postgres"


class TwoInstancesOnePostgresTest(unittest.TestCase):
    """Two `roost serve` watching one database: each change is recorded, mailed and called back
    once."""

    def setUp(self):
        self.site = Site("postgres")
        self.sink = SmtpSink(os.path.join(self.site.dir, "mail"))
        self.receiver = Receiver()
        self.addCleanup(self.site.close)
        self.addCleanup(self.sink.stop)
        self.addCleanup(self.receiver.stop)
        args = ("--smtp-host", "127.0.0.1", "--smtp-port", str(self.sink.port),
                "--smtp-from", "roost@test.example", "--event-watch-ms", "100")
        self.first = self.site.serve(*args)
        self.second = self.site.serve(*args)

    def test_one_loss_one_event_one_email(self):
        admin = Client(self.first, self.site.api_user("ADMIN", name="admin"))
        self.addCleanup(admin.close)
        station = Client(self.second, self.site.api_user("STATION", name="station"))
        self.addCleanup(station.close)
        admin.ok("POST", "/api/stations/create", {"id": "0A1B", "name": "s"}, expect=201)
        (dev, pac), = self.site.issue_and_import(1, "7F0000")
        tid = admin.ok("POST", "/api/devicetypes/create", {"name": "shared"})["id"]
        did = admin.ok("POST", "/api/devices/create",
                       {"id": dev, "pac": pac, "name": "d", "type": tid})["id"]
        admin.ok("POST", "/api/devicetypes/%s/events/config/new" % tid,
                 {"kinds": ["COMMUNICATION_LOSS"], "emails": ["ops@test.example"]}, expect=201)
        admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid,
                 [{"callbackType": "ERROR", "url": self.receiver.url("/error/{device}"),
                   "contentType": "text/plain", "bodyTemplate": "{severity} {info}"}])
        self.assertEqual(station.ok("POST", "/api/ingest/uplink",
                                    {"device": did, "seqNumber": 1, "data": "01",
                                     "time": now_ms(), "station": "0A1B", "rssi": -110.0,
                                     "snr": 10.0})["result"], "accepted")
        admin.ok("POST", "/api/devicetypes/edit", {"id": tid, "keepAlive": 1})
        path = "/api/devices/%s/status/error" % did
        errors = wait_for(lambda: admin.ok("GET", path)["data"], lambda e: len(e) >= 1)
        self.assertEqual(len(errors), 1, errors)
        wait_for(self.sink.count, lambda n: n >= 1)
        time.sleep(1.5)  # many periods of both watchers and both senders
        self.assertEqual(len(admin.ok("GET", path)["data"]), 1)
        self.assertEqual(self.sink.count(), 1)
        rcpts, msg = self.sink.message(1)
        self.assertEqual(rcpts, ["ops@test.example"])
        self.assertIn(errors[0]["message"], msg.get_content())
        # The type's ERROR callback was called once, by one of the two instances.
        self.receiver.wait("/error/", 1)
        time.sleep(1.0)  # a second call, from either instance, would be in by now
        calls = self.receiver.received("/error/")
        self.assertEqual([(p, b) for _, p, _, b in calls],
                         [("/error/%s" % did, "ERROR " + errors[0]["message"])])


if __name__ == "__main__":
    unittest.main()
