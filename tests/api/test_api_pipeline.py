"""The uplink pipeline over real HTTP, on SQLite and PostgreSQL: stations report frames to
POST /api/ingest/uplink; reports of one frame become one message heard by every station;
replays, foreign stations and bad bodies are refused; messages are listed per device and per
device type, decoded with the type's format.
"""

import json
import threading
import time
import unittest

from roostserver import metric_value
from roostsite import Client, ServedSite

T0 = 1700000000000


class PipelineFlows(ServedSite):
    @classmethod
    def set_up_site(cls):
        admin = cls.set_up_tenant(21, "4A0000", registered=list(range(8)) + [9, 10])
        cls.other_station_user = cls.site.api_user("STATION", group=cls.other)
        # The operator's station (root group) hears everyone; two of the tenant's; one of
        # another tenant.
        admin.ok("POST", "/api/stations/create",
                 {"id": "0A1B", "name": "operator", "lat": 43.60, "lng": 1.44}, expect=201)
        for sid, lat in (("0A1C", 43.70), ("0A1D", 43.50)):
            admin.ok("POST", "/api/stations/create",
                     {"id": sid, "name": "tenant " + sid, "lat": lat, "lng": 1.40,
                      "group": cls.tenant}, expect=201)
        admin.ok("POST", "/api/stations/create",
                 {"id": "0B00", "name": "other", "group": cls.other}, expect=201)

    def report(self, device, seq, time, station, **extra):
        return {"device": device, "seqNumber": seq, "data": "feff15", "time": time,
                "station": station, "rssi": -120.0, "snr": 10.5, **extra}

    def messages(self, device):
        c = Client(self.server, self.reader)
        try:
            return c.list_all("/api/devices/%s/messages" % device)
        finally:
            c.close()

    def direct_downlink_device(self, name, template, pair):
        """A device of a new type that answers with the DIRECT downlink `template`."""
        manager = Client(self.server, self.manager)
        try:
            tid = manager.ok("POST", "/api/devicetypes/create",
                             {"name": name, "downlinkMode": "DIRECT",
                              "downlinkDataString": template})["id"]
            dev, pac = self.pairs[pair]
            return manager.ok("POST", "/api/devices/create",
                              {"id": dev, "pac": pac, "name": name, "type": tid})["id"]
        finally:
            manager.close()

    def test_three_stations_reporting_one_frame_make_one_message(self):
        device = self.devices[0]
        reports = [self.report(device, 7, T0, "0A1C", rssi=-110.0, snr=12.0),
                   self.report(device, 7, T0 + 300, "0A1B", rssi=-125.0, snr=4.0),
                   self.report(device, 7, T0 + 800, "0A1D", rssi=-118.0, snr=8.0)]
        answers = [None] * 3
        # The operator's station reports through the root admin; the tenant's through the
        # tenant's STATION user; all three at once, on three connections.
        users = [self.station_user, self.admin_user, self.station_user]
        before = {r: self.refusals_counted(r) for r in ("accepted", "duplicate")}

        def send(i):
            c = Client(self.server, users[i])
            answers[i] = c.ok("POST", "/api/ingest/uplink", reports[i])
            c.close()
        threads = [threading.Thread(target=send, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(a["result"] for a in answers),
                         ["accepted", "duplicate", "duplicate"])
        self.assertEqual({r: self.refusals_counted(r) - n for r, n in before.items()},
                         {"accepted": 1, "duplicate": 2})
        msgs = self.messages(device)
        self.assertEqual(len(msgs), 1, msgs)
        m = msgs[0]
        self.assertEqual(m["seqNumber"], 7)
        self.assertEqual(m["nbFrames"], 3)
        self.assertEqual(sorted(r["tap"] for r in m["rinfos"]), ["0A1B", "0A1C", "0A1D"])
        self.assertEqual(m["rinfos"][0]["delay"], 0)
        self.assertEqual(m["decoded"], {"temp": -2, "hum": 21})
        self.assertEqual(m["linkQuality"], "EXCELLENT")  # 3 stations, best -110 dBm
        self.assertIsNotNone(m["computedLocation"])
        self.assertTrue(43.5 <= m["computedLocation"]["lat"] <= 43.7, m["computedLocation"])
        self.assertEqual(m["rssi"], -110.0)
        # The device moved on.
        c = Client(self.server, self.reader)
        d = c.ok("GET", "/api/devices/" + device)
        c.close()
        self.assertEqual(d["last"], m["time"])

    def test_replays_are_refused_and_disengage_accepts_the_next_one(self):
        device = self.devices[1]
        counted = ("accepted", "replay", "late_duplicate")
        before = {r: self.refusals_counted(r) for r in counted}
        c = Client(self.server, self.station_user)
        self.assertEqual(c.ok("POST", "/api/ingest/uplink",
                              self.report(device, 100, T0, "0A1C"))["result"], "accepted")
        self.assertEqual(c.ok("POST", "/api/ingest/uplink",
                              self.report(device, 99, T0 + 60000, "0A1C")),
                         {"result": "refused", "reason": "replay"})
        # The same frame after the de-duplication window (3 s by default).
        self.assertEqual(c.ok("POST", "/api/ingest/uplink",
                              self.report(device, 100, T0 + 5000, "0A1D")),
                         {"result": "refused", "reason": "late_duplicate"})
        manager = Client(self.server, self.manager)
        manager.ok("GET", "/api/devicetypes/%s/disengage" % self.type)
        manager.close()
        self.assertEqual(c.ok("POST", "/api/ingest/uplink",
                              self.report(device, 3, T0 + 120000, "0A1C"))["result"], "accepted")
        self.assertEqual(c.ok("POST", "/api/ingest/uplink",
                              self.report(device, 2, T0 + 180000, "0A1C"))["reason"], "replay")
        c.close()
        self.assertEqual([m["seqNumber"] for m in self.messages(device)], [3, 100])
        # /metrics counts each decision once, by what it was.
        self.assertEqual({r: self.refusals_counted(r) - before[r] for r in counted},
                         {"accepted": 2, "replay": 2, "late_duplicate": 1})

    def refusals_counted(self, reason):
        """roost_ingest_reports_total{result=reason} of the server's /metrics (any result)."""
        status, _, body = self.server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        return metric_value(body.decode(),
                            'roost_ingest_reports_total{result="%s"}' % reason) or 0

    def test_one_device_is_disengaged_without_its_type(self):
        manager = Client(self.server, self.manager)
        swapped, neighbour = [
            manager.ok("POST", "/api/devices/create",
                       {"id": dev, "pac": pac, "name": "d", "type": self.type})["id"]
            for dev, pac in self.pairs[14:16]]
        c = Client(self.server, self.station_user)
        for device in (swapped, neighbour):
            self.assertEqual(c.ok("POST", "/api/ingest/uplink",
                                  self.report(device, 500, T0, "0A1C"))["result"], "accepted")
        self.assertEqual(manager.ok("POST", "/api/devices/%s/disengage" % swapped),
                         {"disengaged": 1})
        manager.close()
        # Another group's manager does not see the device: 404, as for one that does not exist.
        stranger = Client(self.server, self.site.api_user("DEVICE_MANAGER", group=self.other))
        for device in (swapped, "FFFFFFF0"):
            status, _, _ = stranger.call("POST", "/api/devices/%s/disengage" % device)
            self.assertEqual(status, 404, device)
        stranger.close()
        # The board was swapped: its counter starts again, once.
        self.assertEqual(c.ok("POST", "/api/ingest/uplink",
                              self.report(swapped, 1, T0 + 60000, "0A1C"))["result"], "accepted")
        self.assertEqual(c.ok("POST", "/api/ingest/uplink",
                              self.report(swapped, 0, T0 + 120000, "0A1C"))["reason"], "replay")
        # The rest of the type is still checked.
        self.assertEqual(c.ok("POST", "/api/ingest/uplink",
                              self.report(neighbour, 1, T0 + 60000, "0A1C"))["reason"], "replay")
        c.close()

    def test_a_batch_is_decided_report_by_report(self):
        d2, d3 = self.devices[2], self.devices[3]
        before = {r: self.refusals_counted(r) for r in ("unknown_device", "unknown_station")}
        c = Client(self.server, self.station_user)
        batch = [self.report(d2, 1, T0, "0A1C"), self.report(d3, 1, T0, "0A1C"),
                 self.report(d2, 1, T0 + 10, "0A1D"), self.report("FFFFFF", 1, T0, "0A1C"),
                 self.report(d2, 1, T0 + 20, "0B00")]
        res = c.ok("POST", "/api/ingest/uplink", batch)
        c.close()
        # Each refusal is counted and logged, the station the caller may not use (answered
        # before the writer) as much as the unknown device (decided by the writer).
        for reason in before:
            self.assertEqual(self.refusals_counted(reason), before[reason] + 1, reason)
        refusals = [json.loads(line) for line in self.server.drain_log(0.2)
                    if "ingest report refused" in line]
        self.assertIn(("FFFFFF", "0A1C", "unknown_device"),
                      [(e["device"], e["station"], e["reason"]) for e in refusals])
        self.assertIn((d2, "0B00", "unknown_station"),
                      [(e["device"], e["station"], e["reason"]) for e in refusals])
        self.assertEqual([r["result"] for r in res["results"]],
                         ["accepted", "accepted", "duplicate", "refused", "refused"])
        self.assertEqual(res["results"][3]["reason"], "unknown_device")
        # Another tenant's station is refused like an unknown one: nothing says it exists.
        self.assertEqual(res["results"][4]["reason"], "unknown_station")
        self.assertEqual((res["accepted"], res["duplicates"], res["refused"]), (2, 1, 2))
        self.assertEqual(len(self.messages(d2)[0]["rinfos"]), 2)

    def test_another_tenants_station_user_cannot_report_for_this_tenant(self):
        device = self.devices[4]
        c = Client(self.server, self.other_station_user)
        # Its own station does not cover the tenant's device, which is answered as one that
        # does not exist (nothing says another group has it); the log and the counter say why.
        refused_before = self.refusals_counted("foreign_station")
        self.assertEqual(c.ok("POST", "/api/ingest/uplink", self.report(device, 1, T0, "0B00")),
                         {"result": "refused", "reason": "unknown_device"})
        self.assertEqual(c.ok("POST", "/api/ingest/uplink", self.report("FFFFFFF0", 1, T0, "0B00")),
                         {"result": "refused", "reason": "unknown_device"})
        self.assertEqual(self.refusals_counted("foreign_station"), refused_before + 1)
        self.assertEqual(c.ok("POST", "/api/ingest/uplink", self.report(device, 1, T0, "0A1C")),
                         {"result": "refused", "reason": "unknown_station"})
        c.close()
        self.assertEqual(self.messages(device), [])

    def test_a_deleted_station_user_is_refused_at_once_though_it_was_reporting(self):
        # The server keeps API users and their checked passwords in memory for the hot
        # path; deleting the user through this server must end its access with the next
        # request, also on a connection that was reporting a moment before.
        device = self.devices[9]
        user = self.site.api_user("STATION", group=self.tenant, name="doomed")
        c = Client(self.server, user)
        for seq in (1, 2, 3):
            self.assertEqual(
                c.ok("POST", "/api/ingest/uplink", self.report(device, seq, T0 + seq, "0A1C")),
                {"result": "accepted"})
        admin = Client(self.server, self.admin_user)
        status, _, _ = admin.call("DELETE", "/api/api-users/%s" % user["login"])
        admin.close()
        self.assertEqual(status, 204)
        status, _, _ = c.call("POST", "/api/ingest/uplink", self.report(device, 4, T0 + 4, "0A1C"))
        c.close()
        self.assertEqual(status, 401)
        self.assertEqual([m["seqNumber"] for m in self.messages(device)], [3, 2, 1])

    def test_bad_bodies_and_roles_are_refused_and_store_nothing(self):
        device = self.devices[5]
        c = Client(self.server, self.station_user)
        for body, where in ((self.report(device, 5000, T0, "0A1C"), "seqNumber"),
                            ([self.report(device, 1, T0, "0A1C"),
                              self.report(device, 2, T0, "0A1C", data="0")],
                             "reports[1].data"),
                            ({"device": device}, "seqNumber")):
            status, _, err = c.call("POST", "/api/ingest/uplink", body)
            self.assertEqual(status, 400, err)
            self.assertIn(where, err["message"])
            self.assertEqual([e.get("field") for e in err["errors"]], [where], err)
        status, _, err = c.call("POST", "/api/ingest/uplink", raw=b"{\"device\": \"\x00\"}")
        self.assertEqual(status, 400, err)
        status, _, err = c.call("POST", "/api/ingest/uplink", raw="[" * 100000)
        self.assertEqual(status, 400, err)
        status, _, err = c.call("POST", "/api/ingest/uplink", raw="x" * (600 * 1024))
        self.assertEqual(status, 413, err)
        c.close()
        reader = Client(self.server, self.reader)
        status, _, err = reader.call("POST", "/api/ingest/uplink", self.report(device, 1, T0,
                                                                               "0A1C"))
        self.assertEqual(status, 403, err)
        # READER may not create stations either; nor anyone a bad station.
        status, _, err = reader.call("POST", "/api/stations/create", {"id": "0C00", "name": "x"})
        self.assertEqual(status, 403, err)
        reader.close()
        admin = Client(self.server, self.admin_user)
        for body, field in (({"id": "0C0", "name": "x"}, "id"),
                            ({"id": "0C00", "name": ""}, "name"),
                            ({"id": "0C00", "name": "x", "lat": 91, "lng": 0}, "lat"),
                            ({"id": "0C00", "name": "x", "lat": 1}, "lng"),
                            ({"id": "0C00", "name": "x", "lng": 1}, "lat")):
            status, _, err = admin.call("POST", "/api/stations/create", body)
            self.assertEqual(status, 400, err)
            self.assertIn(field, err["message"])
            self.assertEqual([e.get("field") for e in err["errors"]], [field], err)
        status, _, err = admin.call("POST", "/api/stations/create", {"id": "0a1b", "name": "x"})
        self.assertEqual(status, 409, err)
        # A name's limit counts characters: 100 two-byte ones fit, 101 do not.
        status, _, err = admin.call("POST", "/api/stations/create",
                                    {"id": "0C00", "name": "\u00e9" * 101})
        self.assertEqual(status, 400, err)
        self.assertEqual([e.get("field") for e in err["errors"]], ["name"], err)
        admin.ok("POST", "/api/stations/create", {"id": "0C00", "name": "\u00e9" * 100},
                 expect=201)
        # The station list's cursor is a station id, in either case; anything else is 400.
        listed = [s["id"] for s in admin.ok("GET", "/api/stations?after=0a1c")["data"]]
        self.assertEqual(listed[0], "0A1D", listed)
        self.assertIn("0C00", listed)
        names = {s["id"]: s["name"] for s in admin.ok("GET", "/api/stations?limit=1000")["data"]}
        self.assertEqual(names["0C00"], "\u00e9" * 100)
        for after in ("zz", "0C0", "0C000", "%000C0"):
            status, _, err = admin.call("GET", "/api/stations?after=" + after)
            self.assertEqual(status, 400, (after, err))
            self.assertEqual([e.get("field") for e in err["errors"]], ["after"], err)
        # So is a member given twice: nothing is created under either id.
        status, _, err = admin.call("POST", "/api/stations/create",
                                    raw='{"id": "0C01", "name": "x", "id": "0C02"}')
        self.assertEqual(status, 400, err)
        self.assertEqual([e.get("field") for e in err["errors"]], ["id"], err)
        ids = [s["id"] for s in admin.ok("GET", "/api/stations?limit=1000")["data"]]
        self.assertFalse({"0C01", "0C02"} & set(ids), ids)
        # A parameter given twice is ambiguous: refused, naming it.
        status, _, err = admin.call("GET", "/api/devices/%s/messages?limit=1&limit=2" % device)
        self.assertEqual(status, 400, err)
        self.assertEqual(err["message"], "query parameter limit: given more than once")
        self.assertEqual([e.get("field") for e in err["errors"]], ["limit"], err)
        admin.close()
        self.assertEqual(self.messages(device), [])

    def test_a_time_ahead_of_the_servers_clock_is_refused_naming_it(self):
        # It would make its device look alive until then: no communication loss raised.
        device = self.direct_downlink_device("time-ahead", "deadbeefcafe0003", 17)
        now = int(time.time() * 1000)
        ahead = now + 3600 * 1000
        c = Client(self.server, self.station_user)
        for route, body, where in (
                ("uplink", self.report(device, 3000, ahead, "0A1C"), "time"),
                ("uplink", [self.report(device, 3001, now, "0A1C"),
                            self.report(device, 3002, ahead, "0A1C")], "reports[1].time"),
                ("service", {"device": device, "type": "STATUS", "time": ahead,
                             "station": "0A1C", "temp": 20.0, "batt": 3.0}, "time"),
                ("sigfox-callback", {"device": device, "time": ahead // 1000, "data": "0a",
                                     "seqNumber": "3003", "station": "0A1C", "rssi": "-120",
                                     "snr": "7"}, "time")):
            status, _, err = c.call("POST", "/api/ingest/" + route, body)
            self.assertEqual(status, 400, (route, err))
            self.assertEqual([e.get("field") for e in err["errors"]], [where], err)
            self.assertIn("ahead of the server's clock; at most 600 s ahead is taken",
                          err["message"])
        # Ten minutes ahead is taken (a station's clock may drift), and a time long past too.
        for seq, t in ((3004, now + 590 * 1000), (3005, T0)):
            self.assertEqual(c.ok("POST", "/api/ingest/uplink",
                                  self.report(device, seq, t, "0A1C"))["result"], "accepted")
        c.close()
        self.assertEqual([m["seqNumber"] for m in self.messages(device)], [3004, 3005])

    def test_bad_service_reports_are_refused_naming_where_and_change_nothing(self):
        device = self.devices[5]
        now = int(time.time() * 1000)
        hour = now - now % 3600000
        good = {"device": device, "type": "STATUS", "time": hour + 1000, "station": "0A1C",
                "temp": 20.0, "batt": 3.0}
        c = Client(self.server, self.station_user)
        bodies = (
            (json.dumps(dict(good, type="REBOOT")).encode(), "type"),
            (json.dumps(dict(good, batt="full")).encode(), "batt"),
            (json.dumps({k: v for k, v in good.items() if k != "time"}).encode(), "time"),
            (b'{"device": "' + device.encode() + b'", "type": "STATUS", "station": "\xff\xfe",'
             b' "time": 1}', None),
            (b'{"device": "\u0000", "type": "STATUS", "time": 1, "station": "0A1C"}', "device"),
            (b'{"device": "' + device.encode() + b'", "type": "STAT\x00US"}', None),
            (b"[" * 60000, None),  # nesting far past the depth bound, under the body bound
            (b'{"device": ' + b"1" * 400, None),
        )
        for raw, where in bodies:
            status, _, err = c.call("POST", "/api/ingest/service", raw=raw)
            self.assertEqual(status, 400, (raw[:80], err))
            self.assertTrue(err["message"], err)
            if where:
                self.assertIn(where, err["message"], raw[:80])
        status, _, err = c.call("POST", "/api/ingest/service", raw=b"x" * (65 * 1024))
        self.assertEqual(status, 413, err)
        c.close()
        # Nothing was recorded for the device, and the server still answers.
        r = Client(self.server, self.reader)
        stats = r.ok("GET", "/api/devices/%s/stats?from=%d&to=%d&step=hour"
                     % (device, hour - 3600000, hour + 3600000))
        self.assertEqual(stats["data"], [], stats)
        r.close()

    def test_sigfox_cloud_callbacks_are_ingested_as_json_and_as_form(self):
        device = self.devices[7]
        c = Client(self.server, self.station_user)
        body = {"device": device, "time": 1790000000, "data": "0a0b0c", "seqNumber": "12",
                "station": "0A1C", "rssi": "-121.50", "snr": "7.25", "avgSnr": "7.25",
                "ack": "false", "duplicate": "false"}
        self.assertEqual(c.ok("POST", "/api/ingest/sigfox-callback", body),
                         {"result": "accepted"})
        form = ("device=%s&time=1790000000&data=0a0b0c&seqNumber=12&station=0A1D&rssi=-119.0"
                "&snr=9.0&avgSnr=N%%2FA" % device)
        status, _, res = c.call("POST", "/api/ingest/sigfox-callback", raw=form,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((status, res), (200, {"result": "duplicate"}))
        status, _, err = c.call("POST", "/api/ingest/sigfox-callback", raw="device=2C",
                                headers={"Content-Type": "text/plain"})
        self.assertEqual(status, 400, err)
        self.assertIn("Content-Type", err["message"])
        self.assertEqual([e.get("field") for e in err["errors"]], ["Content-Type"], err)
        # Malformed JSON is placed, as on the other routes.
        status, _, err = c.call("POST", "/api/ingest/sigfox-callback",
                                raw='{"device": "2C",\n "time": }',
                                headers={"Content-Type": "application/json"})
        self.assertEqual(status, 400, err)
        self.assertEqual(err["message"],
                         "body: not valid JSON at line 2, column 10 (byte offset 26)", err)
        c.close()
        msgs = self.messages(device)
        self.assertEqual(len(msgs), 1)
        self.assertEqual(msgs[0]["time"], 1790000000000)
        self.assertEqual([r["tap"] for r in msgs[0]["rinfos"]], ["0A1C", "0A1D"])

    def test_a_sigfox_cloud_callback_from_an_unlisted_base_station_counts_for_its_caller(self):
        # A public network's base stations are not Roost's to list: one Roost has no record
        # of hears for the caller's subtree, without a position.
        manager = Client(self.server, self.manager)
        device = manager.ok("POST", "/api/devices/create",
                            {"id": self.pairs[16][0], "pac": self.pairs[16][1], "name": "public",
                             "type": self.type})["id"]
        manager.close()

        def cloud(user, station, seq, t):
            c = Client(self.server, user)
            try:
                return c.ok("POST", "/api/ingest/sigfox-callback",
                            {"device": device, "time": t, "data": "0a0b", "seqNumber": str(seq),
                             "station": station, "rssi": "-120.00", "snr": "8.00"})
            finally:
                c.close()

        self.assertEqual(cloud(self.station_user, "7E57", 30, 1699000200), {"result": "accepted"})
        self.assertEqual(cloud(self.station_user, "7E58", 30, 1699000200),
                         {"result": "duplicate"})
        m = self.messages(device)[0]
        self.assertEqual([(r["tap"], r["lat"], r["lng"]) for r in m["rinfos"]],
                         [("7E57", None, None), ("7E58", None, None)])
        # Another group's caller through an unlisted station: the device is not its to hear.
        self.assertEqual(cloud(self.other_station_user, "7E59", 31, 1699000300),
                         {"result": "refused", "reason": "unknown_device"})
        # A station listed in the caller's subtree keeps its own rule (and position); one
        # listed in another group (0B00 is the other tenant's, 0A1B the operator's) is
        # answered exactly as an unlisted one: no answer tells what another group lists.
        self.assertEqual(cloud(self.station_user, "0A1C", 32, 1699000400), {"result": "accepted"})
        self.assertEqual(cloud(self.station_user, "0B00", 32, 1699000400),
                         {"result": "duplicate"})
        for station in ("0B00", "7E5A"):
            self.assertEqual(cloud(self.other_station_user, station, 33, 1699000450),
                             {"result": "refused", "reason": "unknown_device"}, station)
        m = self.messages(device)[0]
        self.assertEqual([(r["tap"], r["lat"] is None) for r in m["rinfos"]],
                         [("0A1C", False), ("0B00", True)])
        # POST /api/ingest/uplink takes listed stations only.
        c = Client(self.server, self.station_user)
        self.assertEqual(c.ok("POST", "/api/ingest/uplink",
                              self.report(device, 34, 1699000500000, "7E57")),
                         {"result": "refused", "reason": "unknown_station"})
        c.close()
        self.assertEqual([x["seqNumber"] for x in self.messages(device)], [32, 30])

    def test_a_public_base_station_with_a_listed_stations_id_is_another_station(self):
        # The operator's station 0A1B and the public network's base station 0A1B (through
        # the tenant's Sigfox Cloud BIDIR callback) hear one frame that asks for a downlink:
        # two receptions, and only the one heard best gets the downlink.
        for pair, operator_rssi, cloud_rssi in ((19, "-90.00", "-140.00"),
                                                (20, "-140.00", "-90.00")):
            device = self.direct_downlink_device("shared-id-%d" % pair, "deadbeefcafe%04x" % pair,
                                                 pair)
            answers = {}

            def operator():
                c = Client(self.server, self.admin_user)
                answers["operator"] = c.ok("POST", "/api/ingest/uplink", self.report(
                    device, 60, 1790001000000, "0A1B", ack=True, rssi=float(operator_rssi)))
                c.close()

            def cloud():
                c = Client(self.server, self.station_user)
                answers["cloud"] = c.call("POST", "/api/ingest/sigfox-callback",
                                          {"device": device, "time": 1790001000, "data": "0a",
                                           "seqNumber": "60", "station": "0A1B",
                                           "rssi": cloud_rssi, "snr": "7.00", "ack": "true"})[::2]
                c.close()
            threads = [threading.Thread(target=operator)]
            threads[0].start()
            time.sleep(0.2)
            threads.append(threading.Thread(target=cloud))
            threads[1].start()
            for t in threads:
                t.join()
            data = "deadbeefcafe%04x" % pair
            m = self.messages(device)[0]
            self.assertEqual([(r["tap"], r["lat"] is None) for r in m["rinfos"]],
                             [("0A1B", False), ("0A1B", True)], m)
            self.assertEqual(m["downlinkAnswerStatus"],
                             {"data": data, "station": "0A1B", "acknowledged": None})
            if operator_rssi == "-90.00":
                self.assertEqual(answers["operator"],
                                 {"result": "accepted", "downlink": {"data": data}}, answers)
                self.assertEqual(answers["cloud"], (204, None), answers)
            else:
                self.assertEqual(answers["operator"], {"result": "accepted"}, answers)
                self.assertEqual(answers["cloud"], (200, {device: {"downlinkData": data}}),
                                 answers)

    def test_a_public_networks_service_callbacks_confirm_its_downlink_and_carry_status(self):
        bidir = self.direct_downlink_device("bidir-public", "deadbeefcafe0004", 18)
        c = Client(self.server, self.station_user)
        try:
            # A BIDIR callback of the Sigfox Cloud, heard by one of its base stations (unlisted).
            status, _, res = c.call("POST", "/api/ingest/sigfox-callback",
                                    {"device": bidir, "time": 1790000200, "data": "0a",
                                     "seqNumber": "50", "station": "7E60", "rssi": "-115.00",
                                     "snr": "7.00", "ack": "true"})
            self.assertEqual((status, res), (200, {bidir: {"downlinkData": "deadbeefcafe0004"}}))
            # Its ACKNOWLEDGE callback, as a form: the downlink is confirmed.
            status, _, res = c.call(
                "POST", "/api/ingest/sigfox-service-callback",
                raw="device=%s&time=1790000230&station=7E61&seqNumber=51&downlinkAck=true"
                    "&infoCode=0&infoMessage=Acked+downlink" % bidir,
                headers={"Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual((status, res), (200, {"result": "accepted"}))
            self.assertEqual(self.messages(bidir)[0]["downlinkAnswerStatus"],
                             {"data": "deadbeefcafe0004", "station": "7E60",
                              "acknowledged": True})
            # A STATUS callback as JSON (numbers in texts, no sequence number): its
            # temperature and voltage go to the device's statistics.
            self.assertEqual(c.ok("POST", "/api/ingest/sigfox-service-callback",
                                  {"device": bidir, "time": "1790000300", "station": "7E62",
                                   "seqNumber": "", "temp": "21.50", "batt": "3.20"}),
                             {"result": "accepted"})
            # Bad input is refused naming the field; nothing is stored.
            status, _, err = c.call("POST", "/api/ingest/sigfox-service-callback",
                                    {"device": bidir, "time": 1790000400, "station": "7E62",
                                     "temp": 20})
            self.assertEqual(status, 400)
            self.assertIn("batt: required", json.dumps(err))
        finally:
            c.close()
        # Another group's caller: the device is not its to hear.
        other = Client(self.server, self.other_station_user)
        self.assertEqual(other.ok("POST", "/api/ingest/sigfox-service-callback",
                                  {"device": bidir, "time": 1790000500, "station": "7E62",
                                   "temp": 20, "batt": 3}),
                         {"result": "refused", "reason": "unknown_device"})
        other.close()
        r = Client(self.server, self.reader)
        stats = r.ok("GET", "/api/devices/%s/stats?from=1789999200000&to=1790006400000" % bidir)
        r.close()
        self.assertEqual([(b["statusReports"], b["temperature"], b["vdd"]) for b in stats["data"]],
                         [(1, 21.5, 3.2)], stats)

    def test_a_sigfox_cloud_bidir_callback_is_answered_as_the_sigfox_cloud_expects(self):
        bidir = self.direct_downlink_device("bidir-cloud", "deadbeefcafe0002", 12)
        manager = Client(self.server, self.manager)
        plain_type = manager.ok("POST", "/api/devicetypes/create", {"name": "plain-cloud"})["id"]
        dev, pac = self.pairs[13]
        plain = manager.ok("POST", "/api/devices/create",
                           {"id": dev, "pac": pac, "name": "plain-cloud", "type": plain_type})["id"]
        manager.close()
        c = Client(self.server, self.station_user)

        def bidir_callback(device):
            return c.call("POST", "/api/ingest/sigfox-callback",
                          {"device": device, "time": 1790000100, "data": "0a0b0c",
                           "seqNumber": "40", "station": "0A1C", "rssi": "-110.00",
                           "snr": "9.00", "ack": "true"})

        # A downlink: {"<device>": {"downlinkData": "<hex>"}}, as a BIDIR callback's answer.
        status, _, res = bidir_callback(bidir)
        self.assertEqual((status, res), (200, {bidir: {"downlinkData": "deadbeefcafe0002"}}))
        # None to give (the type has no downlink): 204, which the Sigfox Cloud reads as none.
        status, _, res = bidir_callback(plain)
        self.assertEqual((status, res), (204, None))
        c.close()
        self.assertEqual(self.messages(bidir)[0]["downlinkAnswerStatus"]["data"],
                         "deadbeefcafe0002")
        self.assertEqual(len(self.messages(plain)), 1)

    def test_a_downlink_goes_to_the_best_station_only(self):
        device = self.direct_downlink_device("bidir", "{time}0000{rssi}", 8)
        # Three stations report one frame that asks for a downlink; the second heard it best.
        rssis = {"0A1B": -120.0, "0A1C": -105.0, "0A1D": -130.0}
        users = {"0A1B": self.admin_user, "0A1C": self.station_user, "0A1D": self.station_user}
        answers = {}

        def send(station, delay):
            c = Client(self.server, users[station])
            answers[station] = c.ok("POST", "/api/ingest/uplink",
                                    self.report(device, 9, T0 + delay, station, ack=True,
                                                rssi=rssis[station]))
            c.close()
        threads = [threading.Thread(target=send, args=(s, i * 50))
                   for i, s in enumerate(rssis)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with_downlink = {s: a["downlink"] for s, a in answers.items() if "downlink" in a}
        # {time} = the message's time in seconds, {rssi} = -105 as 2 bytes.
        msg_time = self.messages(device)[0]["time"]
        expected = "%08x0000%04x" % (msg_time // 1000, (-105) & 0xFFFF)
        self.assertEqual(with_downlink, {"0A1C": {"data": expected}}, answers)
        m = self.messages(device)[0]
        self.assertEqual(m["downlinkAnswerStatus"],
                         {"data": expected, "station": "0A1C", "acknowledged": None})
        self.assertTrue(m["ack"])
        # A report without ack is answered at once, without a downlink.
        c = Client(self.server, self.station_user)
        self.assertEqual(c.ok("POST", "/api/ingest/uplink",
                              self.report(device, 10, T0 + 60000, "0A1C")),
                         {"result": "accepted"})
        # A station's late copy of frame 9 once frame 10 is stored (a backlog sent again):
        # a duplicate, without the downlink, which its station would transmit a second time.
        self.assertEqual(c.ok("POST", "/api/ingest/uplink",
                              self.report(device, 9, T0 + 50, "0A1C", ack=True, rssi=-105.0)),
                         {"result": "duplicate"})
        # The device confirms the downlink (a SERVICE ACKNOWLEDGE heard by two stations:
        # applied once).
        ack = {"device": device, "type": "ACKNOWLEDGE", "time": T0 + 90000, "station": "0A1C",
               "seqNumber": 11, "downlinkAck": True}
        self.assertEqual(c.ok("POST", "/api/ingest/service", ack), {"result": "accepted"})
        self.assertEqual(c.ok("POST", "/api/ingest/service", dict(ack, station="0A1D")),
                         {"result": "duplicate"})
        c.close()
        acked = [x for x in self.messages(device) if x["seqNumber"] == 9][0]
        self.assertEqual(acked["downlinkAnswerStatus"],
                         {"data": expected, "station": "0A1C", "acknowledged": True})
        # The day's consumption counts two frames and one downlink.
        r = Client(self.server, self.reader)
        year = time.gmtime(T0 // 1000).tm_year
        days = r.ok("GET", "/api/devices/%s/consumptions/%d" % (device, year))["consumption"]
        r.close()
        self.assertEqual(days["id"], device)
        self.assertEqual(len(days["consumptions"]), 365)
        day = time.gmtime(T0 // 1000).tm_yday - 1
        self.assertEqual(days["consumptions"][day], {"frameCount": 2, "downlinkFrameCount": 1})
        self.assertEqual(sum(d["frameCount"] for d in days["consumptions"]), 2)

    def test_reports_inside_an_array_get_their_downlinks(self):
        bidir = self.direct_downlink_device("bidir-batch", "deadbeefcafe0001", 11)
        plain = self.devices[9]
        c = Client(self.server, self.station_user)
        # One array: a frame asking for a downlink between two that do not; and a
        # second frame of the first device without ack.
        res = c.ok("POST", "/api/ingest/uplink", [
            self.report(plain, 1, T0 + 500000, "0A1C"),
            self.report(bidir, 1, T0 + 500000, "0A1C", ack=True),
            self.report(plain, 2, T0 + 501000, "0A1C"),
        ])
        c.close()
        self.assertEqual(res["accepted"], 3, res)
        self.assertEqual([r.get("downlink") for r in res["results"]],
                         [None, {"data": "deadbeefcafe0001"}, None], res)
        m = self.messages(bidir)[0]
        self.assertEqual(m["downlinkAnswerStatus"],
                         {"data": "deadbeefcafe0001", "station": "0A1C", "acknowledged": None})

    def test_statistics_locations_and_status_reports(self):
        device = self.devices[8]
        now = int(time.time() * 1000)
        hour = now - now % 3600000
        c = Client(self.server, self.station_user)
        # Two frames this hour, the first heard by two stations; a STATUS report.
        self.assertEqual(c.ok("POST", "/api/ingest/uplink", [
            self.report(device, 1, hour + 1000, "0A1C", rssi=-100.0, snr=10.0, freq=868130000),
            self.report(device, 1, hour + 1200, "0A1D", rssi=-110.0, snr=6.0, freq=868130400),
            self.report(device, 2, hour + 2000, "0A1C", rssi=-90.0, snr=14.0, freq=868131000),
        ])["accepted"], 2)
        status = {"device": device, "type": "STATUS", "time": hour + 3000, "station": "0A1C",
                  "temp": 21.5, "batt": 3.25}
        self.assertEqual(c.ok("POST", "/api/ingest/service", status), {"result": "accepted"})
        # Bad service reports are refused with where; another tenant's station does not hear
        # this tenant's devices.
        status_bad = dict(status, temp="warm")
        st, _, err = c.call("POST", "/api/ingest/service", status_bad)
        self.assertEqual(st, 400)
        self.assertIn("temp", err["message"])
        c.close()
        other = Client(self.server, self.other_station_user)
        self.assertEqual(other.ok("POST", "/api/ingest/service", dict(status, station="0B00")),
                         {"result": "refused", "reason": "unknown_device"})
        other.close()

        r = Client(self.server, self.reader)
        stats = r.ok("GET", "/api/devices/%s/stats?from=%d&to=%d&step=hour"
                     % (device, hour - 3600000, hour + 3600000))
        self.assertEqual(stats["step"], "hour")
        self.assertEqual(len(stats["data"]), 1, stats)
        b = stats["data"][0]
        self.assertEqual(b["time"], hour)
        self.assertEqual((b["messages"], b["bytes"], b["receptions"]), (2, 6, 3))
        self.assertAlmostEqual(b["avgSnr"], 10.0)
        self.assertAlmostEqual(b["avgRssi"], -100.0)
        self.assertAlmostEqual(b["temperature"], 21.5)
        self.assertAlmostEqual(b["vdd"], 3.25)
        self.assertEqual(b["frequencies"], [{"freq": 868130000, "receptions": 2},
                                            {"freq": 868131000, "receptions": 1}])
        # The device type adds up every device; a day holds its hours.
        day = r.ok("GET", "/api/devicetypes/%s/stats?step=day" % self.type)
        self.assertEqual(day["step"], "day")
        today = [x for x in day["data"] if x["time"] == now - now % 86400000]
        self.assertEqual(len(today), 1, day)
        self.assertGreaterEqual(today[0]["messages"], 2)
        self.assertEqual(r.ok("GET", "/api/devices/%s/messages/metric" % device),
                         {"lastDay": 2, "lastWeek": 2, "lastMonth": 2})
        # Located messages: both frames heard by located stations.
        locations = r.list_all("/api/devices/%s/locations" % device)
        self.assertEqual([x["seqNumber"] for x in locations], [2, 1])
        self.assertEqual([x["valid"] for x in locations], [True, True])
        self.assertTrue(43.5 <= locations[1]["lat"] <= 43.7, locations)
        self.assertGreater(locations[1]["radius"], 0)
        # Bad ranges and steps are refused, naming the parameter.
        for query, field in (("step=week", "step"), ("from=x", "from"),
                             ("from=10&to=5", "to"),
                             ("from=0&to=%d" % (40 * 86400000), "from"),
                             ("from=99999999999999", "from")):  # after now, `to` not given
            st, _, err = r.call("GET", "/api/devices/%s/stats?%s" % (device, query))
            self.assertEqual(st, 400, query)
            self.assertEqual([e.get("field") for e in err["errors"]], [field], (query, err))
        st, _, _ = r.call("GET", "/api/devices/%s/consumptions/20x6" % device)
        self.assertEqual(st, 400)
        r.close()

    def test_message_lists_page_newest_first_and_filter_by_time(self):
        c = Client(self.server, self.station_user)
        device = self.devices[6]
        start = T0 + 10_000_000
        for i in range(1, 6):
            c.ok("POST", "/api/ingest/uplink", self.report(device, 1000 + i, start + i * 1000,
                                                           "0A1C"))
        c.close()
        r = Client(self.server, self.reader)
        page = r.ok("GET", "/api/devices/%s/messages?limit=2&since=%d" % (device, start))
        self.assertEqual([m["seqNumber"] for m in page["data"]], [1005, 1004])
        nxt = page["paging"]["next"]
        page2 = r.ok("GET", "/" + nxt.split("/", 3)[3] if nxt.startswith("http") else nxt)
        self.assertEqual([m["seqNumber"] for m in page2["data"]], [1003, 1002])
        # offset skips rows (as the Sigfox API pages); paging.next goes on after the last shown.
        skipped = r.ok("GET", "/api/devices/%s/messages?limit=2&offset=1&since=%d" % (device, start))
        self.assertEqual([m["seqNumber"] for m in skipped["data"]], [1004, 1003])
        nxt = skipped["paging"]["next"]
        self.assertNotIn("offset", nxt)
        rest = r.ok("GET", "/" + nxt.split("/", 3)[3] if nxt.startswith("http") else nxt)
        self.assertEqual([m["seqNumber"] for m in rest["data"]], [1002, 1001])
        self.assertEqual(rest["paging"], {})
        by_type_skipped = r.ok("GET", "/api/devicetypes/%s/messages?since=%d&offset=3" % (
            self.type, start))
        self.assertEqual([m["seqNumber"] for m in by_type_skipped["data"]], [1002, 1001])
        ranged = r.ok("GET", "/api/devices/%s/messages?since=%d&before=%d" % (
            device, start + 2000, start + 4000))
        self.assertEqual([m["seqNumber"] for m in ranged["data"]], [1003, 1002])
        by_type = r.list_all("/api/devicetypes/%s/messages?since=%d" % (self.type, start))
        self.assertEqual(len(by_type), 5)
        for after in ("nonsense", "0-0--5"):  # a cursor's sequence number is never negative
            status, _, err = r.call("GET", "/api/devices/%s/messages?after=%s" % (device, after))
            self.assertEqual(status, 400, (after, err))
            self.assertEqual([e.get("field") for e in err["errors"]], ["after"], err)
        status, _, err = r.call("GET", "/api/devices/%s/messages?since=-1" % device)
        self.assertEqual(status, 400, err)
        r.close()


class PipelineSqliteTest(PipelineFlows, unittest.TestCase):
    ENGINE = "sqlite"


class PipelinePostgresTest(PipelineFlows, unittest.TestCase):
    ENGINE = "postgres"


if __name__ == "__main__":
    unittest.main()
