"""/api/provisioning/... over real HTTP, on SQLite and PostgreSQL: Provision ID reports
imported all or none, listed, disabled; keys and exports for ADMIN only, logged without keys;
another group's IDs answered 404 like unknown ones.

Provisioned devices come only from the radio exchange (the UDP listener); the registry's
recording of one is tested in C++ (src/registry/provisioning_test.cpp)."""

import hashlib
import json
import secrets
import unittest

from roostcli import basic
from roostsite import Client, ServedSite

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def new_pid():
    return "".join(secrets.choice(ALPHABET) for _ in range(20))


def report(rows):
    """rows: [(pid, serial, fixed devEUI or None)] -> report CSV text (data from line 4)."""
    lines = ["MatchX Device Provisioning,,,,,,", "manufacturerName,MatchX GmbH,,,,,",
             "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI,provisionIdHash"]
    for pid, serial, eui in rows:
        digest = hashlib.sha256((pid + ".MatchX").encode()).hexdigest()
        lines.append("%s,M-1234,%s,%s,%s,0000000000000000,%s"
                     % (pid, serial, "Y" if eui else "N", eui or "", digest))
    return "\n".join(lines) + "\n"


class ProvisioningFlows(ServedSite):
    @classmethod
    def set_up_site(cls):
        root = Client(cls.server, cls.site.api_user("ADMIN", name="root admin"))
        cls.mine = root.ok("POST", "/api/groups/create", {"name": "mine"})["id"]
        cls.foreign = root.ok("POST", "/api/groups/create", {"name": "foreign"})["id"]
        root.close()
        cls.admin = cls.site.api_user("ADMIN", group=cls.mine, name="mine admin")
        cls.reader = cls.site.api_user("READER", group=cls.mine, name="mine reader")
        cls.owner = cls.site.api_user("ADMIN", group=cls.foreign, name="foreign admin")

    def call(self, user, method, path, text=None, content_type="text/csv"):
        headers = dict(basic(user["login"], user["password"]))
        if text is not None:
            headers["Content-Type"] = content_type
        status, head, payload = self.server.request(method, path, body=text, headers=headers)
        if head.get("Content-Type", "").startswith("application/json") and payload:
            return status, head, json.loads(payload)
        return status, head, payload.decode()

    def ok(self, user, method, path, text=None, expect=200):
        status, _, body = self.call(user, method, path, text)
        self.assertEqual(status, expect, body)
        return body

    def import_rows(self, user, rows):
        return self.ok(user, "POST", "/api/provisioning/ids/import", report(rows))

    def ids(self, user, query=""):
        return self.ok(user, "GET", "/api/provisioning/ids" + query)["data"]

    def test_import_lists_and_disables(self):
        a, b = new_pid(), new_pid()
        got = self.import_rows(self.admin, [(a, "S-imp-1", None), (b, "S-imp-2", "00aabbccddeeff01")])
        self.assertEqual(got, {"imported": 2})
        listed = {r["provisionId"]: r for r in self.ids(self.reader)}
        self.assertEqual(listed[a]["state"], "pending")
        self.assertIsNone(listed[a]["fixedDevEUI"])
        self.assertEqual(listed[b]["fixedDevEUI"], "00aabbccddeeff01")
        self.assertEqual(listed[b]["groupId"], self.mine)
        disabled = self.ok(self.admin, "POST", "/api/provisioning/ids/%s/disable" % b.lower())
        self.assertEqual(disabled["state"], "disabled")
        only = [r["provisionId"] for r in self.ids(self.reader, "?state=disabled")]
        self.assertIn(b, only)
        self.assertNotIn(a, only)
        status, _, _ = self.call(self.reader, "GET", "/api/provisioning/ids?state=gone")
        self.assertEqual(status, 400)
        status, _, _ = self.call(self.reader, "POST", "/api/provisioning/ids/%s/disable" % a)
        self.assertEqual(status, 403)

    def test_ids_are_paged(self):
        rows = [(new_pid(), "S-page-%d" % i, None) for i in range(5)]
        self.import_rows(self.admin, rows)
        seen, path = [], "/api/provisioning/ids?limit=2"
        while path:
            page = self.ok(self.reader, "GET", path)
            self.assertLessEqual(len(page["data"]), 2)
            seen += [r["provisionId"] for r in page["data"]]
            path = page["paging"].get("next")
        self.assertEqual(seen, sorted(seen))
        self.assertLessEqual({r[0] for r in rows}, set(seen))
        page = self.ok(self.reader, "GET", "/api/provisioning/ids?limit=2&offset=2")
        self.assertEqual([r["provisionId"] for r in page["data"]], seen[2:4])

    def test_a_bad_report_is_refused_with_every_line_and_nothing_stored(self):
        good, dup = new_pid(), new_pid()
        text = report([(good, "S-bad-1", None), (dup, "S-bad-2", None), (dup, "S-bad-3", None)])
        text = text.replace(",M-1234,S-bad-1,", ",,S-bad-1,")  # line 4: no model
        status, _, body = self.call(self.admin, "POST", "/api/provisioning/ids/import", text)
        self.assertEqual(status, 400, body)
        lines = sorted(e["line"] for e in body["errors"])
        self.assertEqual(lines, [4, 6], body)
        self.assertIn("nothing was imported", body["message"])
        listed = {r["provisionId"] for r in self.ids(self.admin)}
        self.assertNotIn(good, listed)
        self.assertNotIn(dup, listed)

    def test_an_id_imported_again_is_refused_naming_its_line(self):
        pid = new_pid()
        self.import_rows(self.admin, [(pid, "S-again-1", None)])
        status, _, body = self.call(self.admin, "POST", "/api/provisioning/ids/import",
                                    report([(new_pid(), "S-again-2", None), (pid, "S-again-3", None)]))
        self.assertEqual(status, 400, body)
        self.assertEqual([e["line"] for e in body["errors"]], [5], body)
        self.assertIn(pid, json.dumps(body))

    def test_a_request_file_or_another_content_type_is_refused(self):
        request = ("MatchX Device Provisioning,,,,,\nmanufacturerName,MatchX GmbH,,,,\n"
                   "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI\n"
                   ",M-1,S-req-1,N,,0000000000000000\n")
        status, _, body = self.call(self.admin, "POST", "/api/provisioning/ids/import", request)
        self.assertEqual(status, 400, body)
        self.assertIn("report", json.dumps(body))
        status, _, body = self.call(self.admin, "POST", "/api/provisioning/ids/import",
                                    report([(new_pid(), "S-json", None)]), "application/json")
        self.assertEqual(status, 400, body)
        self.assertIn("text/csv", body["message"])

    def test_another_groups_ids_are_404_like_unknown_ones(self):
        theirs = new_pid()
        self.import_rows(self.owner, [(theirs, "S-foreign-1", "00aabbccddeeff77")])
        self.assertNotIn(theirs, json.dumps(self.ids(self.admin)))
        status, _, body = self.call(self.admin, "POST", "/api/provisioning/ids/%s/disable" % theirs)
        self.assertEqual(status, 404, body)
        status, _, unknown = self.call(self.admin, "POST",
                                       "/api/provisioning/ids/%s/disable" % new_pid())
        self.assertEqual(status, 404)
        self.assertEqual(body["message"], "Provision ID %s not found" % theirs)
        self.assertTrue(unknown["message"].endswith(" not found"), unknown)
        status, _, body = self.call(self.admin, "POST",
                                    "/api/provisioning/ids/import?groupId=" + self.foreign,
                                    report([(new_pid(), "S-foreign-2", None)]))
        self.assertEqual(status, 404, body)
        owned = {r["provisionId"]: r for r in self.ids(self.owner)}
        self.assertEqual(owned[theirs]["state"], "pending")

    def test_keys_and_export_are_admin_only_and_the_export_is_logged_without_keys(self):
        for path in ("/api/provisioning/devices/00aabbccddeeff01/keys",
                     "/api/provisioning/export?format=json"):
            status, _, _ = self.call(self.reader, "GET", path)
            self.assertEqual(status, 403, path)
        status, _, _ = self.call(self.admin, "GET", "/api/provisioning/devices/00aabbccddeeff01/keys")
        self.assertEqual(status, 404)
        status, _, _ = self.call(self.admin, "GET", "/api/provisioning/devices/00aabbccddeeff01")
        self.assertEqual(status, 404)
        status, head, body = self.call(self.admin, "GET", "/api/provisioning/export?format=json")
        self.assertEqual((status, body), (200, []))
        self.assertEqual(head.get("Cache-Control"), "no-store", head)  # keys: never cached
        status, head, text = self.call(self.admin, "GET", "/api/provisioning/export?format=csv")
        self.assertEqual(status, 200)
        self.assertTrue(head["Content-Type"].startswith("text/csv"), head)
        self.assertEqual(head.get("Cache-Control"), "no-store", head)
        self.assertEqual(text, "devEUI,joinEUI,appKey,nwkKey,provisionId,model,serialNumber\n")
        status, _, _ = self.call(self.admin, "GET", "/api/provisioning/export?format=xml")
        self.assertEqual(status, 400)
        self.server.drain_log()
        audit = [json.loads(line) for line in self.server.log
                 if '"provisioning keys read"' in line]
        exports = [a for a in audit if a.get("what") == "export"]
        self.assertEqual(len(exports), 2, audit)
        self.assertEqual({a["format"] for a in exports}, {"json", "csv"})
        for a in exports:
            self.assertEqual(a["who"], "api user " + self.admin["login"])
            self.assertEqual(a["count"], 0)
            self.assertNotIn("appKey", json.dumps(a))
            self.assertNotIn(self.admin["password"], json.dumps(a))

    def test_devices_and_summary(self):
        self.assertEqual(self.ok(self.reader, "GET", "/api/provisioning/devices")["data"], [])
        summary = self.ok(self.reader, "GET", "/api/provisioning/summary")
        self.assertEqual(set(summary["ids"]), {"pending", "provisioned", "disabled"})
        self.assertEqual(summary["ids"]["provisioned"], 0)
        self.assertEqual(summary["gateways"], [])
        pid = new_pid()
        before = summary["ids"]["pending"]
        self.import_rows(self.admin, [(pid, "S-sum-1", None)])
        after = self.ok(self.reader, "GET", "/api/provisioning/summary")
        self.assertEqual(after["ids"]["pending"], before + 1)


class ProvisioningSqliteTest(ProvisioningFlows, unittest.TestCase):
    ENGINE = "sqlite"


class ProvisioningPostgresTest(ProvisioningFlows, unittest.TestCase):
    ENGINE = "postgres"


if __name__ == "__main__":
    unittest.main()
