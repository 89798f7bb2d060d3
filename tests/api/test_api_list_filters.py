"""The filters of GET /api/devicetypes (groupId, name) and GET /api/users (groupId, text), on
SQLite and PostgreSQL: matches without case, paging that keeps the filter, a group outside the
caller's subtree answered like an unknown one, and a 400 naming an over-long filter."""

import unittest
import urllib.parse

from roostsite import ServedSite


class ListFilterFlows(ServedSite):
    @classmethod
    def set_up_site(cls):
        cls.admin = cls.client("ADMIN", name="root admin")
        cls.north = cls.admin.ok("POST", "/api/groups/create", {"name": "North"})["id"]
        cls.south = cls.admin.ok("POST", "/api/groups/create", {"name": "South"})["id"]
        cls.north_admin = cls.client("ADMIN", group=cls.north, name="n admin")
        cls.south_reader = cls.client("READER", group=cls.south, name="s reader")
        cls.types = {}
        for name, group in [("Temperature sensor", None), ("TEMPERATURE probe", cls.north),
                            ("Door contact", cls.north), ("temperature gauge", cls.south)]:
            body = {"name": name}
            if group:
                body["group"] = group
            cls.types[name] = cls.admin.ok("POST", "/api/devicetypes/create", body)["id"]
        cls.users = {}
        for email, name, group in [("ann@alpha.example", "Ann Smith", cls.north),
                                   ("bob@beta.example", "Bob SMITHSON", cls.north),
                                   ("carol@smith.example", "Carol", cls.south),
                                   ("dan@delta.example", "Dan", cls.north)]:
            cls.users[email] = cls.admin.ok(
                "POST", "/api/users/create",
                {"email": email, "name": name, "timezone": "UTC", "roles": ["READER"],
                 "group": group})["id"]

    def walk(self, client, url):
        """(every item through paging.next, the next URLs)."""
        items, nexts = [], []
        while url:
            page = client.ok("GET", url)
            items += page["data"]
            url = page["paging"].get("next")
            if url:
                nexts.append(url)
        return items, nexts

    def type_names(self, client, query):
        items, _ = self.walk(client, "/api/devicetypes?" + query)
        return sorted(t["name"] for t in items)

    def user_emails(self, client, query):
        items, _ = self.walk(client, "/api/users?" + query)
        return sorted(u["email"] for u in items)

    def test_device_types_by_name_without_case(self):
        self.assertEqual(self.type_names(self.admin, "name=temperature"),
                         ["TEMPERATURE probe", "Temperature sensor", "temperature gauge"])
        self.assertEqual(self.type_names(self.admin, "name=" + urllib.parse.quote("RE SEN")),
                         ["Temperature sensor"])
        self.assertEqual(self.type_names(self.admin, "name=nothing-like-this"), [])

    def test_device_types_of_a_group_and_its_paging(self):
        self.assertEqual(self.type_names(self.admin, "groupId=" + self.north),
                         ["Door contact", "TEMPERATURE probe"])
        items, nexts = self.walk(self.admin, "/api/devicetypes?limit=1&name=TEMP")
        self.assertEqual(len(items), 3)
        self.assertEqual(len(nexts), 2)
        for url in nexts:
            self.assertIn("name=TEMP", url)
        both = self.type_names(self.admin, "limit=1&name=temp&groupId=" + self.north)
        self.assertEqual(both, ["TEMPERATURE probe"])

    def test_a_subgroup_admin_sees_only_its_subtree(self):
        self.assertEqual(self.type_names(self.north_admin, "name=temperature"),
                         ["TEMPERATURE probe"])
        self.assertEqual(self.user_emails(self.north_admin, "text=smith"),
                         ["ann@alpha.example", "bob@beta.example"])

    def test_a_group_outside_the_subtree_is_not_found_like_an_unknown_one(self):
        for path in ("/api/devicetypes", "/api/users"):
            status, _, outside = self.north_admin.call("GET", path + "?groupId=" + self.south)
            self.assertEqual(status, 404, outside)
            status, _, unknown = self.north_admin.call("GET",
                                                       path + "?groupId=0123456789abcdef01234567")
            self.assertEqual(status, 404, unknown)
            self.assertEqual(outside["message"].replace(self.south, "X"),
                             unknown["message"].replace("0123456789abcdef01234567", "X"))

    def test_users_by_name_or_email_without_case(self):
        self.assertEqual(self.user_emails(self.admin, "text=SMITH"),
                         ["ann@alpha.example", "bob@beta.example", "carol@smith.example"])
        self.assertEqual(self.user_emails(self.admin, "text=beta.EXAMPLE"), ["bob@beta.example"])
        self.assertEqual(self.user_emails(self.admin, "text=smith&groupId=" + self.south),
                         ["carol@smith.example"])
        items, nexts = self.walk(self.admin, "/api/users?limit=1&text=smith")
        self.assertEqual(len(items), 3)
        self.assertTrue(nexts and all("text=smith" in url for url in nexts), nexts)

    def test_an_over_long_filter_is_refused_naming_it(self):
        for path, param in (("/api/devicetypes", "name"), ("/api/users", "text")):
            status, _, body = self.admin.call("GET", "%s?%s=%s" % (path, param, "x" * 201))
            self.assertEqual(status, 400, body)
            self.assertEqual(body["errors"][0]["field"], param)
            status, _, body = self.admin.call("GET", "%s?%s=%s" % (path, param, "x" * 200))
            self.assertEqual(status, 200, body)
            self.assertEqual(body["data"], [])

    def test_lists_take_offset_and_page_on_after_the_rows_shown(self):
        # As the Sigfox API pages: offset skips rows, then paging.next goes on after the
        # page's last row and carries no offset.
        for path, query in (("/api/devicetypes", "name=temp"), ("/api/users", "text=smith"),
                            ("/api/groups", ""), ("/api/api-users", "")):
            whole, _ = self.walk(self.admin, "%s?limit=1000&%s" % (path, query))
            ids = [x.get("id", x.get("login")) for x in whole]
            self.assertGreaterEqual(len(ids), 3, (path, whole))
            page = self.admin.ok("GET", "%s?limit=1&offset=1&%s" % (path, query))
            self.assertEqual([x.get("id", x.get("login")) for x in page["data"]], ids[1:2], path)
            self.assertNotIn("offset", page["paging"]["next"])
            rest, _ = self.walk(self.admin, page["paging"]["next"])
            self.assertEqual([x.get("id", x.get("login")) for x in rest], ids[2:], path)
            past = self.admin.ok("GET", "%s?offset=%d&%s" % (path, len(ids), query))
            self.assertEqual(past, {"data": [], "paging": {}}, path)

    def test_an_offset_out_of_its_range_is_refused_naming_it(self):
        tid = self.types["Temperature sensor"]
        for path, deepest in (("/api/devicetypes", 5000), ("/api/users", 5000),
                              ("/api/groups", 5000), ("/api/stations", 5000),
                              ("/api/devicetypes/%s/messages" % tid, 5000),
                              ("/api/devicetypes/%s/status/error" % tid, 5000),
                              ("/api/callbacks/messages/error", 5000),
                              ("/api/product-certificates", 5000),
                              ("/api/provisioning/ids", 5000),
                              ("/api/provisioning/devices", 5000),
                              ("/api/devices", 100000)):
            for bad in (str(deepest + 1), "-1", "1.5", "two", ""):
                status, _, body = self.admin.call("GET", "%s?limit=2&offset=%s" % (path, bad))
                self.assertEqual(status, 400, (path, bad, body))
                self.assertEqual([e.get("field") for e in body["errors"]], ["offset"],
                                 (path, body))
                self.assertIn("from 0 to %d" % deepest, body["errors"][0]["message"])
            status, _, body = self.admin.call("GET", "%s?limit=2&offset=%d" % (path, deepest))
            self.assertEqual(status, 200, (path, body))

    def test_bad_text_in_a_filter_is_refused_naming_it(self):
        status, _, body = self.admin.call("GET", "/api/devicetypes?name=%ff")
        self.assertEqual(status, 400, body)
        self.assertIn("name", body["message"])


class ListFilterSqliteTest(ListFilterFlows, unittest.TestCase):
    ENGINE = "sqlite"


class ListFilterPostgresTest(ListFilterFlows, unittest.TestCase):
    ENGINE = "postgres"


if __name__ == "__main__":
    unittest.main()
