"""GET /api/devices as the console's device list uses it, on SQLite and PostgreSQL: the filters
together, keyset paging through paging.next (an opaque cursor; by name with namePrefix), the
Sigfox API's offset next to it, and a 400 naming the parameter for each kind of bad value."""

import unittest

from roostsite import ServedSite


class DeviceListFlows(ServedSite):
    @classmethod
    def set_up_site(cls):
        cls.admin = cls.client("ADMIN", name="root admin")
        cls.reader = cls.client("READER", name="reader")
        cls.type = cls.admin.new_type("list type")
        cls.other_type = cls.admin.new_type("other type")
        pairs = cls.site.issue_and_import(30, "6C0000")
        # Names that sort differently from the ids: "z-…" for the low ids, "a-…" above.
        cls.names = {}
        for i, (dev, pac) in enumerate(pairs):
            name = ("z-%02d" % i) if i < 10 else ("a-%02d" % (40 - i))
            device = cls.admin.ok("POST", "/api/devices/create",
                                  {"id": dev, "pac": pac, "name": name,
                                   "type": cls.type if i % 3 else cls.other_type})["id"]
            cls.names[device] = name
        cls.ids = sorted(cls.names)
        # A rare state, as in a large fleet: two devices disabled.
        cls.site.sql("UPDATE devices SET state = 3 WHERE name IN ('z-03', 'a-20')")

    def walk(self, url):
        """Every page of a list through paging.next: (items, the next URLs)."""
        items, nexts = [], []
        while url:
            page = self.reader.ok("GET", url)
            items += page["data"]
            url = page["paging"].get("next")
            if url:
                nexts.append(url)
        return items, nexts

    def test_pages_by_id(self):
        items, nexts = self.walk("/api/devices?limit=7")
        self.assertEqual([d["id"] for d in items], self.ids)
        self.assertEqual(len(nexts), 4)
        self.assertNotIn("offset", "".join(nexts))

    def test_name_prefix_pages_by_name(self):
        items, nexts = self.walk("/api/devices?namePrefix=a-&limit=4")
        names = [d["name"] for d in items]
        self.assertEqual(names, sorted(n for n in self.names.values() if n.startswith("a-")))
        self.assertEqual(len(names), 20)
        for url in nexts:
            self.assertIn("namePrefix=a-", url)
        # The cursor is the API's business: a plain id with namePrefix, or a name cursor
        # without it, is refused rather than silently restarting.
        cursor = nexts[0].split("after=")[1]
        status, _, err = self.reader.call("GET", "/api/devices?after=" + cursor)
        self.assertEqual(status, 400, err)
        self.assertIn("after", err["message"])
        status, _, err = self.reader.call("GET", "/api/devices?namePrefix=a-&after=6C0001")
        self.assertEqual(status, 400, err)

    def test_filters_combine(self):
        items, _ = self.walk("/api/devices?state=DISABLED&limit=1")
        self.assertEqual(sorted(d["name"] for d in items), ["a-20", "z-03"])
        items, _ = self.walk("/api/devices?state=3&deviceTypeId=%s" % self.type)
        self.assertEqual([d["name"] for d in items], ["a-20"])
        items, _ = self.walk("/api/devices?namePrefix=z-&deviceTypeId=%s&limit=2" % self.type)
        self.assertEqual([d["name"] for d in items],
                         ["z-%02d" % i for i in range(10) if i % 3])
        items, _ = self.walk("/api/devices?namePrefix=z-0&state=OK&limit=3")
        self.assertEqual(len(items), 9)
        # idPrefix is matched against the 8-digit ID.
        items, _ = self.walk("/api/devices?idPrefix=006C001&limit=5")
        self.assertEqual([d["id"] for d in items], [i for i in self.ids if i.startswith("6C001")])
        self.assertEqual(len(items), 14)
        items, _ = self.walk("/api/devicetypes/%s/devices?namePrefix=a-&limit=3" % self.other_type)
        self.assertEqual(len(items), 6)

    def test_offset(self):
        page = self.reader.ok("GET", "/api/devices?limit=5&offset=10")
        self.assertEqual([d["id"] for d in page["data"]], self.ids[10:15])
        # The next page is a cursor again, not a deeper offset.
        following = self.reader.ok("GET", page["paging"]["next"])
        self.assertEqual([d["id"] for d in following["data"]], self.ids[15:20])
        page = self.reader.ok("GET", "/api/devices?namePrefix=a-&limit=3&offset=2")
        self.assertEqual([d["name"] for d in page["data"]],
                         sorted(n for n in self.names.values() if n.startswith("a-"))[2:5])
        page = self.reader.ok("GET", "/api/devices?offset=100000")
        self.assertEqual(page["data"], [])
        self.assertNotIn("next", page["paging"])

    def test_bad_values(self):
        for query, field in (("offset=-1", "offset"), ("offset=100001", "offset"),
                             ("offset=x", "offset"), ("offset=", "offset"),
                             ("after=N41.", "after"), ("after=Nzz.6C0001", "after"),
                             ("after=N41", "after"),
                             ("limit=0", "limit"), ("state=SLEEPY", "state"),
                             ("idPrefix=XYZ", "idPrefix"), ("lastSeenSince=yesterday",
                                                            "lastSeenSince")):
            with self.subTest(query=query):
                status, _, err = self.reader.call("GET", "/api/devices?" + query)
                self.assertEqual(status, 400, err)
                self.assertEqual(err["errors"][0].get("field"), field, err)


class DeviceListSqliteTest(DeviceListFlows, unittest.TestCase):
    ENGINE = "sqlite"


class DeviceListPostgresTest(DeviceListFlows, unittest.TestCase):
    ENGINE = "postgres"


if __name__ == "__main__":
    unittest.main()
