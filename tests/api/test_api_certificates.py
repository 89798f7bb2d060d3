"""Product certificates, device token/network state and disengage over real HTTP.

The server runs with ROOST_REGISTRY_REQUIRE_KNOWN_CERTIFICATES=true, so registrations
naming a certificate missing from the registry are refused per device.
"""

import os
import sqlite3
import time
import unittest
import urllib.parse

from roostcli import VECTORS
from roostsite import RoleCalls, Site

SAMPLE = os.path.join(VECTORS, "cra-sample")
YEAR_MS = 365 * 24 * 3600 * 1000


def start_with_users(test_cls, env):
    """A SQLite site with one API user per role and 40 imported credentials."""
    test_cls.site = Site("sqlite")
    test_cls.data_dir = test_cls.site.data_dir
    test_cls.server = test_cls.site.serve(env=env)
    test_cls.users = test_cls.site.api_users()
    test_cls.pacs = test_cls.site.issue_and_import(40, "300000")


def stop(test_cls):
    test_cls.site.close()


class CertificateHelpers(RoleCalls):
    def new_type(self, name, **fields):
        return self.ok("DEVICE_MANAGER", "POST", "/api/devicetypes/create",
                       {"name": name, **fields})["id"]

    def next_device(self):
        dev, pac = self.pacs[self.__class__.used]
        self.__class__.used += 1
        return dev, pac

    def wait_job(self, job):
        deadline = time.time() + 20
        while True:
            st = self.ok("DEVICE_MANAGER", "GET", "/api/jobs/" + job)
            if st["jobDone"] or time.time() > deadline:
                return st
            time.sleep(0.05)

    def sql(self, statement, params=()):
        """Runs one statement on the server's SQLite database (as the pipeline will)."""
        conn = sqlite3.connect(os.path.join(self.data_dir, "roost.db"), timeout=10,
                               isolation_level=None)
        try:
            return conn.execute(statement, params).fetchall()
        finally:
            conn.close()


class CertificatesTest(CertificateHelpers, unittest.TestCase):
    used = 0

    @classmethod
    def setUpClass(cls):
        start_with_users(cls, {"ROOST_REGISTRY_REQUIRE_KNOWN_CERTIFICATES": "true"})

    @classmethod
    def tearDownClass(cls):
        stop(cls)

    # --- the certificate registry -------------------------------------------

    def test_json_import_get_any_spelling_and_search(self):
        body = [{"key": "P 0010 AAAA 01", "manufacturer": "Searchco Sensors",
                 "productName": "TempTag", "revision": "1.2",
                 "link": "https://certs.example.com/P_0010_AAAA_01"},
                {"key": "p-0010-bbbb-02", "manufacturer": "Nordic Searchco",
                 "productName": "Door Watch"},
                {"key": "P_0010_CCCC_03", "manufacturer": "Other", "productName": "searchco relay",
                 "notes": "ships with a\nsecond line"}]
        self.assertEqual(self.ok("DEVICE_MANAGER", "POST", "/api/product-certificates/import",
                                 body), {"imported": 3})
        for spelling in ("P_0010_AAAA_01", "p%200010%20aaaa%2001", "P-0010-aaaa-01"):
            got = self.ok("READER", "GET", "/api/product-certificates/" + spelling)
            self.assertEqual(got["key"], "P_0010_AAAA_01")
            self.assertEqual(got["manufacturer"], "Searchco Sensors")
            self.assertEqual(got["productName"], "TempTag")
            self.assertEqual(got["revision"], "1.2")
            self.assertEqual(got["link"], "https://certs.example.com/P_0010_AAAA_01")
        self.assertEqual(self.ok("FACTORY", "GET", "/api/product-certificates/P_0010_BBBB_02")
                         ["revision"], "02")
        status, _, err = self.call("READER", "GET", "/api/product-certificates/P_0010_DDDD_04")
        self.assertEqual(status, 404, err)
        self.assertIn("P_0010_DDDD_04", err["message"])
        status, _, err = self.call("READER", "GET", "/api/product-certificates/P_0010")
        self.assertEqual((status, err["errors"][0]["field"]), (400, "key"))

        # Search: case-insensitive over key, manufacturer and product name; paged.
        def search(q, limit=100):
            return self.ok("READER", "GET", "/api/product-certificates?search=%s&limit=%d"
                           % (urllib.parse.quote(q), limit))
        self.assertEqual([c["key"] for c in search("SEARCHCO")["data"]],
                         ["P_0010_AAAA_01", "P_0010_BBBB_02", "P_0010_CCCC_03"])
        self.assertEqual([c["key"] for c in search("door w")["data"]], ["P_0010_BBBB_02"])
        self.assertEqual([c["key"] for c in search("p 0010 cccc")["data"]], ["P_0010_CCCC_03"])
        self.assertEqual(search("no such thing at all")["data"], [])
        seen, url = [], "/api/product-certificates?search=searchco&limit=2"
        while url:
            page = self.ok("FACTORY", "GET", url)
            seen += [c["key"] for c in page["data"]]
            url = page["paging"].get("next")
        self.assertEqual(seen, ["P_0010_AAAA_01", "P_0010_BBBB_02", "P_0010_CCCC_03"])
        page = self.ok("READER", "GET", "/api/product-certificates?search=searchco&limit=1&offset=1")
        self.assertEqual([c["key"] for c in page["data"]], ["P_0010_BBBB_02"])
        page = self.ok("READER", "GET", page["paging"]["next"])
        self.assertEqual([c["key"] for c in page["data"]], ["P_0010_CCCC_03"])
        for query, field in (("limit=0", "limit"), ("after=zz", "after"),
                             ("search=" + "a" * 201, "search"), ("search=a%09b", "search")):
            status, _, err = self.call("READER", "GET", "/api/product-certificates?" + query)
            self.assertEqual(status, 400, (query, err))
            self.assertEqual(err["errors"][0]["field"], field, err)

    def test_csv_import_upserts_and_bad_uploads_change_nothing(self):
        csv = ("key,manufacturer,productName,revision\n"
               "P_0020_0001_01,\"Csvco, Inc.\",Relay,\n"
               "P 0020 0002 01,Csvco,\"The \"\"Big\"\" Tag\",3\r\n")
        self.assertEqual(self.ok("ADMIN", "POST", "/api/product-certificates/import", raw=csv,
                                 content_type="text/csv"), {"imported": 2})
        got = self.ok("READER", "GET", "/api/product-certificates/P_0020_0002_01")
        self.assertEqual((got["manufacturer"], got["productName"], got["revision"]),
                         ("Csvco", 'The "Big" Tag', "3"))
        created = got["creationTime"]
        # Upsert: same key, new fields.
        self.ok("DEVICE_MANAGER", "POST", "/api/product-certificates/import",
                raw="key,manufacturer,productName\np_0020_0002_01,Csvco SA,Tag 2\n",
                content_type="text/csv; charset=utf-8")
        got = self.ok("READER", "GET", "/api/product-certificates/P_0020_0002_01")
        self.assertEqual((got["manufacturer"], got["productName"]), ("Csvco SA", "Tag 2"))
        self.assertEqual(got["creationTime"], created)
        self.assertGreaterEqual(got["lastEditionTime"], created)

        # Bad uploads: refused as a whole, naming the line (CSV) or item (JSON).
        bad_csv = ("key,manufacturer,productName\n"
                   "P_0020_0003_01,Good,Row\n"
                   "P_0020_0004,Bad,Key\n"
                   "P_0020_0005_01,,Empty maker\n"
                   "P_0020_0006_01,Too,Few,Fields,Here\n")
        status, _, err = self.call("DEVICE_MANAGER", "POST", "/api/product-certificates/import",
                                raw=bad_csv, content_type="text/csv")
        self.assertEqual(status, 400, err)
        self.assertEqual([e["line"] for e in err["errors"]], [3, 4, 5])
        self.assertIn("line 3: key: product certificate", err["message"])
        self.assertIn("nothing imported", err["message"])
        self.assertIn("2 more problems", err["message"])
        status, _, err = self.call("DEVICE_MANAGER", "POST", "/api/product-certificates/import",
                                raw="P_0020_0003_01,A,B\n", content_type="text/csv")
        self.assertEqual((status, err["errors"][0]["line"]), (400, 1))
        self.assertIn("header", err["message"])
        status, _, err = self.call("DEVICE_MANAGER", "POST", "/api/product-certificates/import", [
            {"key": "P_0020_0007_01", "manufacturer": "A", "productName": "B"},
            {"key": "P_0020_0008_01", "manufacturer": "A"},
            {"key": "P_0020_0007_01", "manufacturer": "A", "productName": "B", "x": 1}])
        self.assertEqual(status, 400, err)
        self.assertEqual([e["field"] for e in err["errors"]],
                         ["[1].productName", "[2].x"])
        for raw, expect in (("[{\"key\": ", 400), ("{}", 400), ("[]", 400)):
            status, _, err = self.call("DEVICE_MANAGER", "POST", "/api/product-certificates/import",
                                    raw=raw)
            self.assertEqual(status, expect, (raw, err))
            self.assertIn("message", err)
        status, _, err = self.call("DEVICE_MANAGER", "POST", "/api/product-certificates/import",
                                raw="<certs/>", content_type="application/xml")
        self.assertEqual(status, 415, err)
        for key in ("P_0020_0003_01", "P_0020_0007_01"):
            self.assertEqual(self.call("READER", "GET", "/api/product-certificates/" + key)[0],
                             404)

    def test_roles(self):
        for role, expect in (("READER", 403), ("FACTORY", 403), ("STATION", 403)):
            status, _, _ = self.call(role, "POST", "/api/product-certificates/import",
                                  [{"key": "P_0030_0001_01", "manufacturer": "A",
                                    "productName": "B"}])
            self.assertEqual(status, expect, role)
        self.assertEqual(self.call("STATION", "GET", "/api/product-certificates")[0], 403)
        self.assertEqual(self.call(None, "GET", "/api/product-certificates")[0], 401)
        self.assertEqual(self.call("FACTORY", "GET", "/api/product-certificates")[0], 200)
        tid = self.new_type("roles")
        self.assertEqual(self.call("READER", "GET", "/api/devicetypes/%s/disengage" % tid)[0],
                         403)
        self.assertEqual(self.call("FACTORY", "GET", "/api/devicetypes/%s/disengage" % tid)[0],
                         403)

    # --- registration with registry.require_known_certificates on --------------

    def test_registration_with_an_unknown_certificate_is_refused_per_device(self):
        self.ok("DEVICE_MANAGER", "POST", "/api/product-certificates/import",
                [{"key": "P_0040_0001_01", "manufacturer": "Known", "productName": "Tag"}])
        tid = self.new_type("certs")
        dev, pac = self.next_device()
        status, _, err = self.call("FACTORY", "POST", "/api/devices/create",
                                {"id": dev, "pac": pac, "name": "d", "type": tid,
                                 "productCertificate": "P 0040 0002 01"})
        self.assertEqual(status, 400, err)
        self.assertEqual(err["errors"][0]["field"], "productCertificate")
        self.assertIn("product certificate P_0040_0002_01 is not in the registry", err["message"])
        self.assertEqual(self.call("READER", "GET", "/api/devices/" + dev)[0], 404)
        # The same device with a known certificate (any spelling), and one without any.
        created = self.ok("FACTORY", "POST", "/api/devices/create",
                          {"id": dev, "pac": pac, "name": "d", "type": tid,
                           "productCertificate": {"key": "p-0040-0001-01"}})
        self.assertEqual(created["productCertificate"], {"key": "P_0040_0001_01"})
        dev2, pac2 = self.next_device()
        self.ok("FACTORY", "POST", "/api/devices/create",
                {"id": dev2, "pac": pac2, "name": "d2", "type": tid})

        # Bulk: every device refused with the message; then with a known certificate.
        ids = [dict(zip(("id", "pac"), self.next_device())) for _ in range(3)]
        started = self.ok("FACTORY", "POST",
                          "/api/devicetypes/%s/devices/bulk/create/async" % tid,
                          {"prefix": "b-", "ids": ids, "productCertificate": "P_0040_0009_09"},
                          expect=202)
        st = self.wait_job(started["jobId"])
        self.assertTrue(st["jobDone"], st)
        self.assertEqual(st["status"]["success"], 0)
        self.assertEqual([f["message"] for f in st["status"]["failed"]],
                         ["product certificate P_0040_0009_09 is not in the registry"] * 3)
        started = self.ok("FACTORY", "POST",
                          "/api/devicetypes/%s/devices/bulk/create/async" % tid,
                          {"prefix": "b-", "ids": ids, "productCertificate": "P 0040 0001 01"},
                          expect=202)
        st = self.wait_job(started["jobId"])
        self.assertEqual(st["status"]["success"], 3, st)

    # --- token state, network state, disengage ---------------------------------

    def test_token_state_and_network_state(self):
        renew = self.new_type("renewing", keepAlive=3600, automaticRenewal=True)
        once = self.new_type("once", keepAlive=0, automaticRenewal=False)
        dev_a, pac_a = self.next_device()
        dev_b, pac_b = self.next_device()
        a = self.ok("DEVICE_MANAGER", "POST", "/api/devices/create",
                    {"id": dev_a, "pac": pac_a, "name": "a", "type": renew})["id"]
        b = self.ok("DEVICE_MANAGER", "POST", "/api/devices/create",
                    {"id": dev_b, "pac": pac_b, "name": "b", "type": once})["id"]

        token = self.ok("READER", "GET", "/api/devices/%s/token-state" % a)
        self.assertEqual((token["code"], token["state"]), (2, "NOT_ACTIVATED"))
        self.assertNotIn("tokenEnd", token)
        self.assertNotIn("pac", token)
        # Never heard from: counted from registration. OK within keepAlive; with keepAlive
        # 1 s, NOK once more than a second has passed.
        net = self.ok("READER", "GET", "/api/devices/%s/networkstate" % a.lower())
        self.assertEqual(net["networkStatus"], "OK", net)
        self.assertNotIn("last", net)
        self.ok("DEVICE_MANAGER", "POST", "/api/devicetypes/edit", {"id": renew, "keepAlive": 1})
        time.sleep(1.2)
        net = self.ok("READER", "GET", "/api/devices/%s/networkstate" % a)
        self.assertEqual(net["networkStatus"], "NOK", net)
        self.assertEqual(net["keepAlive"], 1)
        self.ok("DEVICE_MANAGER", "POST", "/api/devicetypes/edit",
                {"id": renew, "keepAlive": 3600})
        # keepAlive 0: no watch.
        self.assertEqual(self.ok("READER", "GET", "/api/devices/%s/networkstate" % b)
                         ["networkStatus"], "OK")

        # What the uplink pipeline will record: activation 400 days ago, a message now.
        now = int(time.time() * 1000)
        activation = now - 400 * 24 * 3600 * 1000
        self.sql("UPDATE devices SET activation_time = ?, last_time = ? WHERE id IN (?, ?)",
                 (activation, now, int(a, 16), int(b, 16)))
        token = self.ok("READER", "GET", "/api/devices/%s/token-state" % a)
        self.assertEqual((token["code"], token["state"]), (0, "OK"), token)
        self.assertEqual(token["creationTime"], activation + YEAR_MS)
        self.assertEqual(token["tokenEnd"], activation + 2 * YEAR_MS)
        self.assertTrue(token["automaticRenewal"])
        token = self.ok("READER", "GET", "/api/devices/%s/token-state" % b)
        self.assertEqual((token["code"], token["detailMessage"].split(":")[0]),
                         (1, "Off contract"), token)
        self.assertEqual(token["tokenEnd"], activation + YEAR_MS)
        net = self.ok("READER", "GET", "/api/devices/%s/networkstate" % a)
        self.assertEqual((net["networkStatus"], net["last"]), ("OK", now), net)

        for path in ("/api/devices/FFFFFFF2/token-state", "/api/devices/xyz/networkstate"):
            self.assertEqual(self.call("READER", "GET", path)[0], 404, path)
        self.assertEqual(self.call("FACTORY", "GET", "/api/devices/%s/token-state" % a)[0], 403)

    def test_disengage_flags_every_device_of_the_type(self):
        tid = self.new_type("disengage")
        other = self.new_type("other")
        ids = [dict(zip(("id", "pac"), self.next_device())) for _ in range(3)]
        started = self.ok("DEVICE_MANAGER", "POST",
                          "/api/devicetypes/%s/devices/bulk/create/async" % tid,
                          {"ids": ids}, expect=202)
        self.assertEqual(self.wait_job(started["jobId"])["status"]["success"], 3)
        self.assertEqual(self.ok("DEVICE_MANAGER", "GET", "/api/devicetypes/%s/disengage" % tid),
                         {"disengaged": 3})
        self.assertEqual(self.ok("ADMIN", "GET", "/api/devicetypes/%s/disengage" % other),
                         {"disengaged": 0})
        self.assertEqual(self.call("DEVICE_MANAGER", "GET",
                                   "/api/devicetypes/%s/disengage" % ("0" * 24))[0], 404)
        # Persisted per device, for the pipeline to consume with the next message.
        flagged = sorted(r[0] for r in self.sql("SELECT device_id FROM sequence_check_disengaged"))
        self.assertEqual(flagged, sorted(int(d["id"], 16) for d in ids))


class CertificatesSwitchOffTest(CertificateHelpers, unittest.TestCase):
    """The default: any well-formed certificate is accepted."""
    used = 0

    @classmethod
    def setUpClass(cls):
        start_with_users(cls, {})

    @classmethod
    def tearDownClass(cls):
        stop(cls)

    def test_unknown_certificate_is_accepted_when_the_switch_is_off(self):
        tid = self.new_type("any")
        dev, pac = self.next_device()
        created = self.ok("FACTORY", "POST", "/api/devices/create",
                          {"id": dev, "pac": pac, "name": "d", "type": tid,
                           "productCertificate": "P 0999 0999 09"})
        self.assertEqual(created["productCertificate"], {"key": "P_0999_0999_09"})
        self.assertEqual(self.ok("READER", "GET", "/api/product-certificates")["data"], [])


if __name__ == "__main__":
    unittest.main()
