"""GET /api/console/summary, the console home page's counts, on SQLite and PostgreSQL: each
count over the caller's group subtree only (docs/api.md, "Web console", defines them)."""

import time
import unittest

from roostsite import Client, ServedSite


class SummaryFlows(ServedSite):
    @classmethod
    def set_up_site(cls):
        admin = cls.client("ADMIN", name="root admin")
        cls.admin = admin
        cls.tenant = admin.ok("POST", "/api/groups/create", {"name": "tenant"})["id"]
        cls.below = admin.ok("POST", "/api/groups/create",
                             {"name": "below", "parentId": cls.tenant})["id"]
        cls.other = admin.ok("POST", "/api/groups/create", {"name": "other"})["id"]
        cls.reader = cls.client("READER", group=cls.tenant)
        cls.below_reader = cls.client("READER", group=cls.below)
        cls.other_reader = cls.client("READER", group=cls.other)
        station = cls.client("STATION", name="station")
        admin.ok("POST", "/api/stations/create", {"id": "0A1B", "name": "roof"}, expect=201)
        cls.types = {}
        for name, group in (("tenant", cls.tenant), ("below", cls.below),
                            ("other", cls.other)):
            cls.types[name] = admin.ok("POST", "/api/devicetypes/create",
                                       {"name": name, "group": group})["id"]
        pairs = cls.site.issue_and_import(9, "5B0000")
        cls.devices = {}
        # 3 devices in tenant, 2 below it, 4 in the other group.
        for i, (dev, pac) in enumerate(pairs):
            name = "tenant" if i < 3 else "below" if i < 5 else "other"
            cls.devices.setdefault(name, []).append(admin.ok(
                "POST", "/api/devices/create",
                {"id": dev, "pac": pac, "name": "d%d" % i, "type": cls.types[name]})["id"])
        # Messages now: 2 frames of a tenant device, one of a device below, 3 of the other
        # group's; and one more than a day ago, which does not count.
        now = int(time.time() * 1000)
        frames = [(cls.devices["tenant"][0], 1, now), (cls.devices["tenant"][0], 2, now),
                  (cls.devices["below"][0], 1, now),
                  (cls.devices["tenant"][1], 1, now - 30 * 3600 * 1000)]
        frames += [(cls.devices["other"][i], 1, now) for i in range(3)]
        for device, seq, t in frames:
            res = station.ok("POST", "/api/ingest/uplink",
                             {"device": device, "seqNumber": seq, "data": "01", "time": t,
                              "station": "0A1B", "rssi": -120, "snr": 10})
            if res["result"] != "accepted":
                raise AssertionError(res)
        station.close()
        # Communication losses as the silence watcher records them (its flag), one below
        # and one in the other group; callbacks: one dead in tenant, one in the other group.
        cls.site.sql("UPDATE devices SET comm_lost = 1 WHERE name IN ('d3', 'd6')")
        for name in ("tenant", "other", "below"):
            admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % cls.types[name],
                     [{"url": "http://127.0.0.1:9/x"}])
        cls.site.sql("UPDATE callbacks SET dead = 1 WHERE type_id IN ('%s', '%s')"
                     % (cls.types["tenant"], cls.types["other"]))

    def summary(self, client):
        return client.ok("GET", "/api/console/summary")

    def test_counts_over_the_subtree(self):
        self.assertEqual(self.summary(self.reader),
                         {"devices": 5, "messagesToday": 3, "eventsOpen": 1,
                          "callbacksFailing": 1})
        self.assertEqual(self.summary(self.below_reader),
                         {"devices": 2, "messagesToday": 1, "eventsOpen": 1,
                          "callbacksFailing": 0})
        self.assertEqual(self.summary(self.other_reader),
                         {"devices": 4, "messagesToday": 3, "eventsOpen": 1,
                          "callbacksFailing": 1})
        self.assertEqual(self.summary(self.admin),
                         {"devices": 9, "messagesToday": 6, "eventsOpen": 2,
                          "callbacksFailing": 2})

    def test_roles(self):
        anonymous = Client(self.server)
        self.assertEqual(anonymous.call("GET", "/api/console/summary")[0], 401)
        anonymous.close()
        factory = Client(self.server, self.site.api_user("FACTORY", name="factory"))
        self.assertEqual(factory.call("GET", "/api/console/summary")[0], 403)
        factory.close()


class SummarySqliteTest(SummaryFlows, unittest.TestCase):
    ENGINE = "sqlite"


class SummaryPostgresTest(SummaryFlows, unittest.TestCase):
    ENGINE = "postgres"


if __name__ == "__main__":
    unittest.main()
