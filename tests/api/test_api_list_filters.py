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

    def test_offset_is_refused_by_the_lists_that_page_by_cursor_only(self):
        # Ignored, it would answer the first page to a caller who asked for another.
        tid = self.types["Temperature sensor"]
        for path in ("/api/devicetypes", "/api/users", "/api/groups", "/api/stations",
                     "/api/devicetypes/%s/messages" % tid, "/api/devicetypes/%s/status/error" % tid,
                     "/api/callbacks/messages/error"):
            status, _, body = self.admin.call("GET", path + "?limit=2&offset=2")
            self.assertEqual(status, 400, (path, body))
            self.assertEqual([e.get("field") for e in body["errors"]], ["offset"], (path, body))
            self.assertEqual(self.admin.call("GET", path + "?limit=2")[0], 200, path)
        # The device lists take it (Sigfox API v1).
        self.assertEqual(self.admin.call("GET", "/api/devices?limit=2&offset=2")[0], 200)

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
