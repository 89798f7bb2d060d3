"""Callback edit (POST /api/devicetypes/{id}/callbacks/{cid}/edit) over real HTTP, on SQLite and
PostgreSQL: an edit changes what the next delivery sends and keeps the callback's id and enabled
state; a bad variable is refused naming the field and changes nothing; editing does not revive a
dead callback; a callback that stops being URL DATA BIDIR stops being the downlinkHook, also
when the edit races the choice of the hook; another group's callback is 404 exactly like an
unknown one; a READER is refused with 403.
"""

import json
import threading
import time
import unittest

from callback_receiver import Receiver
from roostsite import Client, ServedSite

T0 = 1700000000000


class CallbackEditFlows(ServedSite):
    SERVE_ARGS = ("--callback-timeout-ms", "1000")

    @classmethod
    def before_serve(cls):
        cls.receiver = Receiver()
        cls.closers.append(cls.receiver.stop)
        return ()

    @classmethod
    def set_up_site(cls):
        root = cls.client("ADMIN", name="root admin")
        cls.mine = root.ok("POST", "/api/groups/create", {"name": "mine"})["id"]
        cls.foreign = root.ok("POST", "/api/groups/create", {"name": "foreign"})["id"]
        root.ok("POST", "/api/stations/create", {"id": "0A1B", "name": "0A1B"}, expect=201)
        cls.manager = cls.client("DEVICE_MANAGER", group=cls.mine, name="manager")
        cls.reader = cls.client("READER", group=cls.mine, name="reader")
        cls.owner = cls.client("ADMIN", group=cls.foreign, name="foreign admin")
        cls.station = cls.site.api_user("STATION", name="station")
        cls.pairs = cls.site.issue_and_import(2, "6D0000")

    def path(self, tid, cid=None, action=None):
        p = "/api/devicetypes/%s/callbacks" % tid
        if cid:
            p += "/%s/%s" % (cid, action)
        return p

    def listed(self, tid):
        # As the manager who edits them sees them (a READER sees no header values).
        return {c["id"]: c for c in self.manager.ok("GET", self.path(tid))["data"]}

    def ingest(self, device, seq):
        c = Client(self.server, self.station)
        res = c.ok("POST", "/api/ingest/uplink",
                   {"device": device, "seqNumber": seq, "data": "c0ffee",
                    "time": T0 + seq * 60000, "station": "0A1B", "rssi": -115.0, "snr": 9.5})
        c.close()
        self.assertEqual(res["result"], "accepted")

    def test_an_edit_changes_the_next_delivery_and_keeps_id_and_enabled(self):
        tid = self.manager.new_type("edited")
        dev, pac = self.pairs[0]
        did = self.manager.ok("POST", "/api/devices/create",
                              {"id": dev, "pac": pac, "name": "edited", "type": tid})["id"]
        cid = self.manager.ok("POST", self.path(tid) + "/new",
                              [{"url": self.receiver.url("/before/{device}")}])["data"][0]["id"]
        self.ingest(did, 1)
        self.assertEqual(len(self.receiver.wait("/before/", 1)), 1)
        edited = self.manager.ok("POST", self.path(tid, cid, "edit"), {
            "url": self.receiver.url("/after/{device}?seq={seqNumber}"),
            "contentType": "application/json", "bodyTemplate": '{"d":"{data}"}',
            "headers": {"X-Edited": "yes"}})
        self.assertEqual(edited, self.listed(tid)[cid])
        self.assertEqual((edited["id"], edited["enabled"]), (cid, True))
        self.assertEqual(edited["url"], self.receiver.url("/after/{device}?seq={seqNumber}"))
        self.ingest(did, 2)
        after = self.receiver.wait("/after/", 1)
        self.assertEqual(len(after), 1, (self.receiver.requests,
                                         self.reader.ok("GET", "/api/devices/%s/messages" % did)))
        method, path, headers, body = after[0]
        self.assertEqual((method, path), ("POST", "/after/%s?seq=2" % did))
        self.assertEqual(headers.get("X-Edited"), "yes")
        self.assertEqual(json.loads(body), {"d": "c0ffee"})
        self.assertEqual(len(self.receiver.received("/before/")), 1)
        # Disabled, an edit without "enabled" keeps it disabled; with it, it says.
        self.manager.ok("POST", self.path(tid, cid, "enable") + "?enabled=false", expect=204)
        kept = self.manager.ok("POST", self.path(tid, cid, "edit"),
                               {"url": self.receiver.url("/kept")})
        self.assertFalse(kept["enabled"])
        on = self.manager.ok("POST", self.path(tid, cid, "edit"),
                             {"url": self.receiver.url("/kept"), "enabled": True})
        self.assertTrue(on["enabled"])
        self.assertEqual(list(self.listed(tid)), [cid])

    def test_a_bad_edit_is_refused_naming_the_field_and_nothing_changes(self):
        tid = self.manager.new_type("strict edit")
        cid = self.manager.ok("POST", self.path(tid) + "/new",
                              [{"url": "http://x.example/{device}"}])["data"][0]["id"]
        before = self.listed(tid)[cid]
        for body, field, fragment in (
                ({"url": "http://x.example/{nope}"}, "url", "url: position 18: unknown variable"),
                ({"url": "ftp://x.example/"}, "url", "url"),
                ({"url": "http://x.example/", "httpMethod": "DELETE"}, "httpMethod",
                 "httpMethod"),
                ({"url": "http://x.example/", "colour": "red"}, None, "colour"),
                ({"url": 5}, "url", "url"),
                ({"channel": "EMAIL", "recipient": "a@example.com", "subject": "{nope}",
                  "message": "m"}, "subject", "subject: position 1: unknown variable"),
                ([{"url": "http://x.example/"}], "body", "JSON object")):
            status, _, err = self.manager.call("POST", self.path(tid, cid, "edit"), body)
            self.assertEqual(status, 400, (body, err))
            self.assertIn(fragment, err["message"], body)
            if field:
                self.assertIn(field, [e.get("field") for e in err.get("errors", [])], err)
        status, _, err = self.manager.call("POST", self.path(tid, cid, "edit"), raw=b"{")
        self.assertEqual(status, 400, err)
        self.assertEqual(self.listed(tid)[cid], before)

    def test_the_downlink_hook_stays_only_while_it_applies(self):
        tid = self.manager.new_type("hooked")
        cid = self.manager.ok("POST", self.path(tid) + "/new", [
            {"url": "http://x.example/?id={device}", "callbackType": 0, "callbackSubtype": 3,
             "httpMethod": "GET"}])["data"][0]["id"]
        self.manager.ok("POST", self.path(tid, cid, "downlink"), expect=204)
        still = self.manager.ok("POST", self.path(tid, cid, "edit"), {
            "url": "http://y.example/?id={device}", "callbackType": 0, "callbackSubtype": 3,
            "httpMethod": "GET"})
        self.assertTrue(still["downlinkHook"])
        gone = self.manager.ok("POST", self.path(tid, cid, "edit"),
                               {"url": "http://y.example/{device}"})
        self.assertFalse(gone["downlinkHook"])
        self.assertEqual(gone["callbackSubtype"], 2)

    def test_edits_racing_the_downlink_choice_never_leave_the_hook_on_another_kind(self):
        tid = self.manager.new_type("raced")
        cid = self.manager.ok("POST", self.path(tid) + "/new", [
            {"url": "http://x.example/?id={device}", "callbackType": 0, "callbackSubtype": 3,
             "httpMethod": "GET"}])["data"][0]["id"]
        bidir = {"url": "http://x.example/?id={device}", "callbackType": 0,
                 "callbackSubtype": 3, "httpMethod": "GET"}
        uplink = {"url": "http://x.example/{device}"}
        answers = {"edit": [], "downlink": []}
        seen_wrong = []

        def editor():
            c = Client(self.server)
            c.auth = self.manager.auth
            for i in range(40):
                status, _, _ = c.call("POST", self.path(tid, cid, "edit"),
                                      uplink if i % 2 == 0 else bidir)
                answers["edit"].append(status)
            c.close()

        def chooser():
            c = Client(self.server)
            c.auth = self.manager.auth
            for _ in range(40):
                status, _, _ = c.call("POST", self.path(tid, cid, "downlink"))
                answers["downlink"].append(status)
                cb = c.call("GET", self.path(tid))[2]["data"][0]
                if cb["downlinkHook"] and cb["callbackSubtype"] != 3:
                    seen_wrong.append(cb)
            c.close()

        threads = [threading.Thread(target=editor), threading.Thread(target=chooser)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(set(answers["edit"]), {200}, answers)
        self.assertLessEqual(set(answers["downlink"]), {204, 400}, answers)
        self.assertEqual(seen_wrong, [])
        last = self.listed(tid)[cid]
        self.assertEqual(last["callbackSubtype"], 3)
        self.manager.ok("POST", self.path(tid, cid, "edit"), uplink)
        status, _, err = self.manager.call("POST", self.path(tid, cid, "downlink"))
        self.assertEqual(status, 400, err)
        self.assertIn("DATA BIDIR", err["message"])
        self.assertFalse(self.listed(tid)[cid]["downlinkHook"])

    def test_a_listed_callback_is_posted_back_and_edited_as_it_is_shown(self):
        source = self.manager.new_type("listed source")
        hook = {"url": self.receiver.url("/hook/{device}"), "callbackType": 0,
                "callbackSubtype": 3, "headers": {"X-Key": "k"}}
        plain = {"url": self.receiver.url("/plain/{device}"), "sendDuplicate": True}
        cids = [c["id"] for c in
                self.manager.ok("POST", self.path(source) + "/new", [hook, plain])["data"]]
        self.manager.ok("POST", self.path(source, cids[0], "downlink"), expect=204)
        shown = self.listed(source)
        # The list, as it is, makes the same callbacks on another type, hook included.
        copy = self.manager.new_type("listed copy")
        made = self.manager.ok("POST", self.path(copy) + "/new",
                               [shown[cid] for cid in cids])["data"]
        self.assertNotIn(made[0]["id"], cids)
        copied = self.listed(copy)
        for old, new in zip(cids, (m["id"] for m in made)):
            a, b = dict(shown[old]), dict(copied[new])
            for volatile in ("id", "creationTime"):
                a.pop(volatile)
                b.pop(volatile)
            self.assertEqual(a, b)
        self.assertEqual([copied[m["id"]]["downlinkHook"] for m in made], [True, False])
        # What GET shows is an edit body; downlinkHook true moves the mark.
        body = dict(copied[made[1]["id"]], url=self.receiver.url("/plain2/{device}"))
        body.update(callbackSubtype=3, downlinkHook=True)
        edited = self.manager.ok("POST", self.path(copy, made[1]["id"], "edit"), body)
        self.assertEqual((edited["url"], edited["downlinkHook"]),
                         (self.receiver.url("/plain2/{device}"), True))
        self.assertEqual({c: v["downlinkHook"] for c, v in self.listed(copy).items()},
                         {made[0]["id"]: False, made[1]["id"]: True})
        # Refusals: two hooks in one request, a hook that cannot answer downlinks.
        status, _, res = self.manager.call("POST", self.path(copy) + "/new",
                                           [dict(hook, downlinkHook=True),
                                            dict(hook, downlinkHook=True)])
        self.assertEqual(status, 400, res)
        self.assertIn("data[1].downlinkHook", res["message"])
        status, _, res = self.manager.call("POST", self.path(copy) + "/new",
                                           [dict(plain, downlinkHook=True)])
        self.assertEqual(status, 400, res)
        self.assertIn("data[0].downlinkHook", res["message"])
        self.assertEqual(len(self.listed(copy)), 2, "nothing stored")

    def test_an_edit_does_not_revive_a_dead_callback(self):
        tid = self.manager.new_type("dead edit")
        cid = self.manager.ok("POST", self.path(tid) + "/new",
                              [{"url": "http://x.example/{device}"}])["data"][0]["id"]
        self.site.sql("UPDATE callbacks SET dead = 1 WHERE id = '%s'" % cid)
        edited = self.manager.ok("POST", self.path(tid, cid, "edit"),
                                 {"url": "http://y.example/{device}", "enabled": True})
        self.assertTrue(edited["dead"])
        self.manager.ok("POST", self.path(tid, cid, "enable") + "?enabled=true", expect=204)
        self.assertFalse(self.listed(tid)[cid]["dead"])

    def test_foreign_is_404_like_unknown_and_a_reader_is_refused(self):
        tid = self.owner.new_type("foreign")
        cid = self.owner.ok("POST", self.path(tid) + "/new",
                            [{"url": "http://x.example/{device}"}])["data"][0]["id"]
        mine = self.manager.new_type("mine")
        mine_cid = self.manager.ok("POST", self.path(mine) + "/new",
                                   [{"url": "http://x.example/{device}"}])["data"][0]["id"]
        body = {"url": "http://evil.example/"}
        for path in (self.path(tid, cid, "edit"), self.path(mine, cid, "edit"),
                     self.path(mine, "ffffffffffffffffffffffff", "edit")):
            status, _, err = self.manager.call("POST", path, body)
            self.assertEqual(status, 404, (path, err))
        unknown = self.manager.call("POST", self.path(mine, "ffffffffffffffffffffffff", "edit"),
                                    body)[2]["message"]
        foreign = self.manager.call("POST", self.path(mine, cid, "edit"), body)[2]["message"]
        self.assertEqual(foreign.replace(cid, "X"), unknown.replace("ffffffffffffffffffffffff", "X"))
        status, _, _ = self.reader.call("POST", self.path(mine, mine_cid, "edit"), body)
        self.assertEqual(status, 403)
        self.assertEqual(self.owner.ok("GET", self.path(tid))["data"][0]["url"],
                         "http://x.example/{device}")
        self.assertEqual(self.listed(mine)[mine_cid]["url"], "http://x.example/{device}")


class CallbackEditSqliteTest(CallbackEditFlows, unittest.TestCase):
    ENGINE = "sqlite"


class CallbackEditPostgresTest(CallbackEditFlows, unittest.TestCase):
    ENGINE = "postgres"


if __name__ == "__main__":
    unittest.main()
