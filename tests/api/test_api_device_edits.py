"""Device edits, transfers, bulk edit jobs and series uploads over real HTTP against `roost serve`."""

import os
import sqlite3
import time
import unittest

from roostcli import api_id
from roostsite import RoleCalls, Site


class ApiDeviceEditsTest(RoleCalls, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.site = Site("sqlite")
        cls.data_dir = cls.site.data_dir
        cls.server = cls.site.serve()
        cls.users = cls.site.api_users(("ADMIN", "DEVICE_MANAGER", "READER", "FACTORY"))
        # A second owner: a group below the root (there is no groups API yet, so it
        # is added to the server's SQLite database directly) with its own manager.
        db = sqlite3.connect(os.path.join(cls.data_dir, "roost.db"), timeout=10)
        root, tree = db.execute("SELECT id, tree FROM groups WHERE parent IS NULL").fetchone()
        cls.root = root
        cls.child = "c" * 24
        with db:
            db.execute("INSERT INTO groups (id, name, parent, tree, creation_time) "
                       "VALUES (?, 'new owner', ?, ?, 0)", (cls.child, root, tree + cls.child + "/"))
        db.close()
        cls.users["OWNER"] = cls.site.api_user("DEVICE_MANAGER", group=cls.child, name="owner")
        # Credentials of an issued batch of 60 devices.
        cls.pacs = cls.site.issue_and_import(60, "300000")

    @classmethod
    def tearDownClass(cls):
        cls.site.close()

    # --- helpers -----------------------------------------------------------

    def bad(self, role, method, path, body=None, raw=None, status=400, field=None,
            fragment=None, content_type="application/json"):
        code, _, err = self.call(role, method, path, body, raw, content_type)
        self.assertEqual(code, status, err)
        self.assertIn("message", err)
        if field is not None:
            self.assertIn(field, [e.get("field") for e in err.get("errors", [])], err)
        if fragment is not None:
            self.assertIn(fragment, err["message"])
        return err

    def new_type(self, name, group=None):
        body = {"name": name}
        if group:
            body["group"] = group
        return self.ok("DEVICE_MANAGER", "POST", "/api/devicetypes/create", body)["id"]

    def wait_job(self, path):
        deadline = time.time() + 30
        while True:
            st = self.ok("DEVICE_MANAGER", "GET", path)
            if st["jobDone"] or time.time() > deadline:
                return st
            time.sleep(0.05)

    def register(self, tid, pairs):
        status, _, started = self.call("DEVICE_MANAGER", "POST",
                                    "/api/devicetypes/%s/devices/bulk/create/async" % tid,
                                    {"prefix": "dev-", "ids": [{"id": d, "pac": p}
                                                               for d, p in pairs]})
        self.assertEqual(status, 202, started)
        st = self.wait_job("/api/jobs/" + started["jobId"])
        self.assertEqual(st["status"]["success"], len(pairs), st)

    def device(self, device_id, role="DEVICE_MANAGER"):
        return self.ok(role, "GET", "/api/devices/" + device_id)

    # --- single edit -------------------------------------------------------

    def test_edit_changes_given_fields_only(self):
        tid = self.new_type("edit")
        tid2 = self.new_type("edit, second type")
        dev, _ = self.pacs[0]
        self.register(tid, [self.pacs[0]])
        before = self.device(dev)
        edited = self.ok("DEVICE_MANAGER", "POST", "/api/devices/edit",
                         {"id": dev.lower(), "name": "renamed", "lat": 45.5, "lng": -1.25,
                          "tokenRenewForbidden": True,
                          "productCertificate": {"key": "p 0004 d356 03"}})
        self.assertEqual(edited["id"], api_id(dev))
        self.assertEqual(edited["name"], "renamed")
        self.assertEqual((edited["lat"], edited["lng"]), (45.5, -1.25))
        self.assertTrue(edited["tokenRenewForbidden"])
        self.assertEqual(edited["productCertificate"], {"key": "P_0004_D356_03"})
        self.assertEqual(edited["pac"], before["pac"])  # no transfer: the PAC stays
        self.assertEqual(self.device(dev), edited)
        # Absent stays, null clears; a move to another type of the same group needs no PAC.
        edited = self.ok("ADMIN", "POST", "/api/devices/edit",
                         {"id": dev, "lat": None, "productCertificate": None,
                          "deviceTypeId": tid2})
        self.assertIsNone(edited["lat"])  # present and empty, as the Sigfox API v1 has it
        self.assertIsNone(edited["productCertificate"])
        self.assertEqual(edited["lng"], -1.25)
        self.assertEqual(edited["name"], "renamed")
        self.assertEqual(edited["type"]["id"], tid2)
        self.assertEqual(edited["pac"], before["pac"])
        # READER and FACTORY may not edit.
        self.assertEqual(self.call("READER", "POST", "/api/devices/edit",
                                   {"id": dev, "name": "x"})[0], 403)
        self.assertEqual(self.call("FACTORY", "POST", "/api/devices/edit",
                                   {"id": dev, "name": "x"})[0], 403)
        self.assertEqual(self.device(dev)["name"], "renamed")

    def test_edit_bad_input_changes_nothing(self):
        tid = self.new_type("edit bad input")
        dev, _ = self.pacs[1]
        self.register(tid, [self.pacs[1]])
        before = self.device(dev)
        path = "/api/devices/edit"
        err = self.bad("DEVICE_MANAGER", "POST", path, raw='{"id": "%s", "name": ' % dev,
                       fragment="malformed JSON at line 1")
        self.assertIn("line", err["errors"][0])
        self.bad("DEVICE_MANAGER", "POST", path, raw="[1]", fragment="JSON object")
        self.bad("DEVICE_MANAGER", "POST", path, {"name": "x"}, field="id")
        self.bad("DEVICE_MANAGER", "POST", path, {"id": 7}, field="id")
        self.bad("DEVICE_MANAGER", "POST", path, {"id": "zz"}, field="id")
        self.bad("DEVICE_MANAGER", "POST", path, {"id": dev, "name": 5}, field="name")
        self.bad("DEVICE_MANAGER", "POST", path, {"id": dev, "name": None}, field="name")
        self.bad("DEVICE_MANAGER", "POST", path, {"id": dev, "name": ""}, field="name")
        self.bad("DEVICE_MANAGER", "POST", path, {"id": dev, "lat": "north"}, field="lat")
        self.bad("DEVICE_MANAGER", "POST", path, {"id": dev, "lat": 91}, field="lat")
        self.bad("DEVICE_MANAGER", "POST", path, {"id": dev, "lng": 180.5}, field="lng")
        self.bad("DEVICE_MANAGER", "POST", path, {"id": dev, "tokenRenewForbidden": "yes"},
                 field="tokenRenewForbidden")
        self.bad("DEVICE_MANAGER", "POST", path, {"id": dev, "productCertificate": "P_1"},
                 field="productCertificate")
        self.bad("DEVICE_MANAGER", "POST", path, {"id": dev, "deviceTypeId": None},
                 field="deviceTypeId")
        self.bad("DEVICE_MANAGER", "POST", path, {"id": dev, "colour": "red"}, field="colour")
        self.bad("DEVICE_MANAGER", "POST", path, {"id": dev, "pac": "0" * 16, "name": "x"},
                 field="pac", fragment="PAC does not match")
        self.bad("DEVICE_MANAGER", "POST", path, {"id": dev, "deviceTypeId": "0" * 24},
                 status=404, field="deviceTypeId")
        self.bad("DEVICE_MANAGER", "POST", path, {"id": "FFFFFFF0", "name": "x"}, status=404,
                 field="id")
        # A device of another owner's group is not found, like an unknown one.
        self.bad("OWNER", "POST", path, {"id": dev, "name": "x"}, status=404, field="id")
        self.assertEqual(self.device(dev), before)

    def test_transfer_needs_the_current_pac_and_issues_a_new_one(self):
        tid = self.new_type("transfer, old owner")
        child_type = self.new_type("transfer, new owner", group=self.child)
        dev, initial = self.pacs[2]
        self.register(tid, [self.pacs[2]])
        before = self.device(dev)
        self.assertNotEqual(before["pac"], initial)  # registration issued a new PAC
        self.assertEqual(self.call("OWNER", "GET", "/api/devices/" + dev)[0], 404)
        path = "/api/devices/edit"
        move = {"id": dev, "deviceTypeId": child_type}
        self.bad("DEVICE_MANAGER", "POST", path, move, field="pac", fragment="current PAC")
        self.bad("DEVICE_MANAGER", "POST", path, {**move, "pac": initial}, field="pac",
                 fragment="does not match")
        self.bad("DEVICE_MANAGER", "POST", path, {**move, "pac": "12"}, field="pac")
        self.assertEqual(self.device(dev), before)

        moved = self.ok("DEVICE_MANAGER", "POST", path, {**move, "pac": before["pac"].lower(),
                                                         "name": "transferred"})
        self.assertEqual(moved["group"]["id"], self.child)
        self.assertEqual(moved["type"]["id"], child_type)
        self.assertEqual(moved["name"], "transferred")
        self.assertEqual(len(moved["pac"]), 16)
        self.assertNotEqual(moved["pac"], before["pac"])
        self.assertNotEqual(moved["pac"], initial)
        # The new owner sees it with the new PAC; the old PAC no longer works.
        self.assertEqual(self.device(dev, "OWNER")["pac"], moved["pac"])
        self.bad("DEVICE_MANAGER", "POST", path,
                 {"id": dev, "deviceTypeId": tid, "pac": before["pac"]}, field="pac",
                 fragment="does not match")
        # Back again with the new PAC, by someone who sees both groups.
        back = self.ok("ADMIN", "POST", path,
                       {"id": dev, "deviceTypeId": tid, "pac": moved["pac"]})
        self.assertEqual(back["group"]["id"], self.root)
        self.assertNotEqual(back["pac"], moved["pac"])
        self.assertEqual(self.call("OWNER", "GET", "/api/devices/" + dev)[0], 404)

    # --- bulk edit ---------------------------------------------------------

    def test_bulk_edit_job_with_per_item_failures(self):
        tid = self.new_type("bulk edit")
        tid2 = self.new_type("bulk edit, target")
        child_type = self.new_type("bulk edit, other owner", group=self.child)
        pairs = self.pacs[10:20]
        self.register(tid, pairs)
        ids = [d for d, _ in pairs]
        items = [{"id": d, "name": "bulk-%d" % i, "lat": 10.0 + i, "deviceTypeId": tid2,
                  "tokenRenewForbidden": True} for i, d in enumerate(ids[:6])]
        items[5]["lng"] = None
        items += [
            {"id": ids[0].lower(), "name": "duplicate"},       # duplicate of item 0
            {"id": "zz", "name": "x"},                           # malformed id
            {"id": "FFFFFFF2", "name": "x"},                     # unknown device
            {"id": ids[6], "deviceTypeId": "0" * 24},            # unknown device type
            {"id": ids[7], "deviceTypeId": child_type},          # another group: a transfer
            {"id": ids[8], "lat": 95},                           # out of range
            {"id": ids[9], "productCertificate": "nope"},        # malformed certificate
        ]
        status, _, started = self.call("DEVICE_MANAGER", "POST", "/api/devices/bulk/edit", items)
        self.assertEqual(status, 202, started)
        self.assertEqual(started["total"], 13)
        st = self.wait_job("/api/devices/bulk/edit/" + started["jobId"])
        self.assertTrue(st["jobDone"], st)
        self.assertEqual(st["total"], 13)
        self.assertEqual(st["status"]["success"], 6, st)
        failed = {f["id"]: f["message"] for f in st["status"]["failed"]}
        self.assertEqual(len(failed), 7, failed)
        self.assertIn("duplicate in this request (first at index 0)", failed[ids[0].lower()])
        self.assertIn("device ID", failed["zz"])
        self.assertEqual(failed["FFFFFFF2"], "device not found")
        self.assertIn("not found", failed[api_id(ids[6])])
        self.assertIn("another group", failed[api_id(ids[7])])
        self.assertIn("lat", failed[ids[8]])
        self.assertIn("productCertificate", failed[ids[9]])
        self.assertEqual(self.ok("READER", "GET", "/api/jobs/" + started["jobId"]), st)
        self.assertEqual(self.ok("READER", "GET",
                                 "/api/devices/bulk/edit/" + started["jobId"]), st)
        for i, d in enumerate(ids[:6]):
            got = self.device(d)
            self.assertEqual(got["name"], "bulk-%d" % i)
            self.assertEqual(got["lat"], 10.0 + i)
            self.assertEqual(got["type"]["id"], tid2)
            self.assertTrue(got["tokenRenewForbidden"])
        self.assertIsNone(self.device(ids[5])["lng"])
        for d in ids[6:]:
            got = self.device(d)
            self.assertEqual(got["type"]["id"], tid)
            self.assertEqual(got["group"]["id"], self.root)
            self.assertIsNone(got["lat"])
        # {"data": [...]} is accepted too; the other owner's view of the job is 404.
        status, _, started = self.call("ADMIN", "POST", "/api/devices/bulk/edit",
                                    {"data": [{"id": ids[6], "name": "via data"}]})
        self.assertEqual(status, 202, started)
        st = self.wait_job("/api/devices/bulk/edit/" + started["jobId"])
        self.assertEqual(st["status"], {"success": 1, "failed": []})
        self.assertEqual(self.device(ids[6])["name"], "via data")
        self.assertEqual(self.call("OWNER", "GET",
                                   "/api/devices/bulk/edit/" + started["jobId"])[0], 404)
        # A bulk-create job is not a bulk edit job.
        status, _, created = self.call("DEVICE_MANAGER", "POST",
                                    "/api/devicetypes/%s/devices/bulk/create/async" % tid,
                                    {"ids": [{"id": "1", "pac": "0" * 16}]})
        self.assertEqual(status, 202)
        self.assertEqual(self.call("DEVICE_MANAGER", "GET",
                                   "/api/devices/bulk/edit/" + created["jobId"])[0], 404)

    def test_bulk_edit_bad_shapes_are_refused_as_a_whole(self):
        tid = self.new_type("bulk edit shapes")
        dev, _ = self.pacs[20]
        self.register(tid, [self.pacs[20]])
        before = self.device(dev)
        path = "/api/devices/bulk/edit"
        ok_item = {"id": dev, "name": "must not be applied"}
        self.bad("DEVICE_MANAGER", "POST", path, raw='[{"id": "1",', fragment="malformed JSON")
        self.bad("DEVICE_MANAGER", "POST", path, {"data": "all"}, field="data")
        self.bad("DEVICE_MANAGER", "POST", path, {"items": []}, field="items")
        self.bad("DEVICE_MANAGER", "POST", path, [], field="data")
        self.bad("DEVICE_MANAGER", "POST", path, [ok_item, 5], field="data[1]")
        self.bad("DEVICE_MANAGER", "POST", path, [ok_item, {"name": "x"}], field="data[1].id")
        self.bad("DEVICE_MANAGER", "POST", path, [ok_item, {"id": dev, "lat": "n"}],
                 field="data[1].lat")
        self.bad("DEVICE_MANAGER", "POST", path, {"data": [ok_item, {"id": dev, "foo": 1}]},
                 field="data[1].foo")
        self.bad("DEVICE_MANAGER", "POST", path, [ok_item, {"id": dev, "pac": "0" * 16}],
                 field="data[1].pac", fragment="single edit")
        self.bad("DEVICE_MANAGER", "POST", path, raw="17", field="data")
        self.assertEqual(self.call("READER", "POST", path, [ok_item])[0], 403)
        time.sleep(0.3)  # the worker would have run a job by now
        self.assertEqual(self.device(dev), before)

    # --- series uploads ----------------------------------------------------

    def series(self, tid, raw, content_type, query="", role="FACTORY"):
        return self.call(role, "POST", "/api/devicetypes/%s/devices/bulk/create/series%s"
                         % (tid, query), raw=raw, content_type=content_type)

    def test_series_uploads_become_bulk_jobs(self):
        tid = self.new_type("series")
        a = self.pacs[30:33]
        b = self.pacs[33:36]
        c = self.pacs[36:39]
        # ';' with a header line and CRLF, plus a wrong PAC and a duplicate.
        text = "id;pac\r\n" + "".join("%s;%s\r\n" % p for p in a) + "\r\n"
        text += "%s;%s\r\n" % (self.pacs[39][0], "0" * 16)
        text += "%s;%s\r\n" % a[0]
        status, _, started = self.series(tid, text.encode(), "text/csv; charset=utf-8",
                                      "?prefix=semi-&productCertificate=P_0004_D356_03")
        self.assertEqual(status, 202, started)
        self.assertEqual(started["total"], 5)
        st = self.wait_job("/api/devicetypes/%s/devices/bulk/create/async/%s"
                           % (tid, started["jobId"]))
        self.assertEqual(st["status"]["success"], 3, st)
        failed = {f["id"]: f["message"] for f in st["status"]["failed"]}
        self.assertIn("PAC does not match", failed[api_id(self.pacs[39][0])])
        self.assertIn("duplicate in this file (first on line 2)", failed[a[0][0]])
        got = self.device(a[1][0])
        self.assertEqual(got["name"], "semi-" + api_id(a[1][0]))
        self.assertEqual(got["productCertificate"], {"key": "P_0004_D356_03"})
        self.assertEqual(got["type"]["id"], tid)

        # ',' without a header, LF, text/plain.
        text = "".join("%s,%s\n" % (d.lower(), p.lower()) for d, p in b)
        status, _, started = self.series(tid, text.encode(), "text/plain")
        self.assertEqual(status, 202, started)
        st = self.wait_job("/api/jobs/" + started["jobId"])
        self.assertEqual(st["status"], {"success": 3, "failed": []})
        self.assertEqual(self.device(b[0][0])["name"], api_id(b[0][0]))

        # multipart/form-data with the file and the options as form fields.
        boundary = "----roost-series-test"
        parts = [("prefix", None, "form-"), ("productCertificate", None, "P 0004 D356 04"),
                 ("file", "series.csv", "PAC,ID\r\n" + "".join("%s,%s\r\n" % (p, d)
                                                                for d, p in c))]
        body = ""
        for name, filename, value in parts:
            body += "--%s\r\nContent-Disposition: form-data; name=\"%s\"" % (boundary, name)
            if filename:
                body += "; filename=\"%s\"\r\nContent-Type: text/csv" % filename
            body += "\r\n\r\n%s\r\n" % value
        body += "--%s--\r\n" % boundary
        status, _, started = self.series(tid, body.encode(),
                                      "multipart/form-data; boundary=%s" % boundary,
                                      role="DEVICE_MANAGER")
        self.assertEqual(status, 202, started)
        self.assertEqual(started["total"], 3)
        st = self.wait_job("/api/jobs/" + started["jobId"])
        self.assertEqual(st["status"], {"success": 3, "failed": []})
        got = self.device(c[2][0])
        self.assertEqual(got["name"], "form-" + api_id(c[2][0]))
        self.assertEqual(got["productCertificate"], {"key": "P_0004_D356_04"})

    def test_series_bad_uploads_are_refused_with_the_line(self):
        tid = self.new_type("series bad")
        good = "%s;%s\n" % self.pacs[40]

        def refused(raw, line, fragment, content_type="text/csv", query=""):
            status, _, err = self.series(tid, raw.encode(), content_type, query)
            self.assertEqual(status, 400, err)
            self.assertIn(fragment, err["message"])
            if line is not None:
                self.assertEqual(err["errors"][0]["line"], line, err)
                self.assertTrue(err["message"].startswith("file: line %d: " % line), err)
            return err

        refused("id;pac\r\n" + good + "\r\n" + "41A2F0;12\r\n", 4, "16 hex digits")
        refused(good + "%s,%s\n" % self.pacs[41], 2, "separates fields with ';'")
        refused(good + "zz;%s\n" % ("0" * 16), 2, "device ID")
        refused(good + "1;2;3\n", 2, "expected 2 fields")
        refused("id;pac\n\n", 2, "no device")
        refused("", 0, "no device")
        refused(good, None, "prefix", query="?prefix=" + "x" * 300)
        refused(good, None, "productCertificate", query="?productCertificate=Q_1")
        # Not a file type the endpoint reads.
        status, _, err = self.series(tid, good.encode(), "application/json")
        self.assertEqual(status, 415, err)
        status, _, err = self.series(tid, good.encode(), "application/octet-stream")
        self.assertEqual(status, 415, err)
        # multipart without a file, with an unknown field, or broken.
        boundary = "b0und"
        no_file = ("--%s\r\nContent-Disposition: form-data; name=\"prefix\"\r\n\r\nx\r\n--%s--\r\n"
                   % (boundary, boundary))
        err = refused(no_file, None, "file", "multipart/form-data; boundary=" + boundary)
        self.assertEqual(err["errors"][0]["field"], "file")
        extra = ("--%s\r\nContent-Disposition: form-data; name=\"colour\"\r\n\r\nred\r\n"
                 "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n"
                 "%s\r\n--%s--\r\n" % (boundary, boundary, good, boundary))
        err = refused(extra, None, "colour", "multipart/form-data; boundary=" + boundary)
        refused("garbage", None, "request body", "multipart/form-data; boundary=" + boundary)
        # Roles and visibility.
        self.assertEqual(self.series(tid, good.encode(), "text/csv", role="READER")[0], 403)
        self.assertEqual(self.series(tid, good.encode(), "text/csv", role="OWNER")[0], 404)
        self.assertEqual(self.series("0" * 24, good.encode(), "text/csv")[0], 404)
        # Nothing was registered by the refused uploads.
        self.assertEqual(self.call("DEVICE_MANAGER", "GET", "/api/devices/" + self.pacs[40][0])[0],
                         404)


    # --- a device type's map ------------------------------------------------

    def test_a_types_map_has_every_positioned_device_listed_or_counted(self):
        tid = self.new_type("map")
        pairs = self.pacs[45:60]
        self.register(tid, pairs)
        ids = [d for d, _ in pairs]
        # 8 devices near Toulouse, 4 near Lima, 3 without a position.
        toulouse = [(43.6 + i * 0.01, 1.44) for i in range(8)]
        lima = [(-12.05, -77.04 - i * 0.01) for i in range(4)]
        items = [{"id": d, "lat": lat, "lng": lng}
                 for d, (lat, lng) in zip(ids, toulouse + lima)]
        status, _, started = self.call("DEVICE_MANAGER", "POST", "/api/devices/bulk/edit", items)
        self.assertEqual(status, 202, started)
        self.assertEqual(self.wait_job("/api/devices/bulk/edit/" + started["jobId"])
                         ["status"]["success"], 12)
        base = "/api/devicetypes/%s/positions" % tid

        listed = self.ok("READER", "GET", base)
        self.assertEqual(listed["total"], 12)
        self.assertEqual(listed["cells"], [])
        want = {api_id(d): (lat, lng) for d, (lat, lng) in zip(ids, toulouse + lima)}
        self.assertEqual({d["id"]: (d["lat"], d["lng"]) for d in listed["devices"]}, want)
        self.assertEqual([d["name"] for d in listed["devices"]][:1], ["dev-" + api_id(ids[0])])
        lats = [p[0] for p in want.values()]
        lngs = [p[1] for p in want.values()]
        self.assertEqual(listed["bounds"], {"south": min(lats), "west": min(lngs),
                                            "north": max(lats), "east": max(lngs)})

        # Past maxListed: all twelve counted in the cells of a 2 x 2 grid over their bounds.
        counted = self.ok("READER", "GET", base + "?maxListed=5&grid=2")
        self.assertEqual(counted["total"], 12)
        self.assertEqual(counted["devices"], [])
        self.assertEqual(sorted(c["count"] for c in counted["cells"]), [4, 8])
        for c in counted["cells"]:
            self.assertLessEqual(c["south"], c["lat"])
            self.assertLessEqual(c["lat"], c["north"])
            self.assertLessEqual(c["west"], c["lng"])
            self.assertLessEqual(c["lng"], c["east"])

        # An area: what the map shows.
        around_lima = self.ok("READER", "GET", base + "?south=-13&west=-78&north=-11&east=-76")
        self.assertEqual(around_lima["total"], 4)
        self.assertEqual(sorted(d["id"] for d in around_lima["devices"]),
                         sorted(api_id(d) for d in ids[8:12]))
        nowhere = self.ok("READER", "GET", base + "?south=0&west=0&north=0.5&east=0.5")
        self.assertEqual(nowhere, {"total": 0, "bounds": None, "devices": [], "cells": []})

        for query, field in [("?south=1", "west"), ("?south=1&west=1&north=2", "east"),
                             ("?south=x&west=0&north=1&east=1", "south"),
                             ("?south=91&west=0&north=1&east=1", "south"),
                             ("?south=nan&west=0&north=1&east=1", "south"),
                             ("?south=1e999&west=0&north=1&east=1", "south"),
                             ("?south=0&west=-181&north=1&east=1", "west"),
                             ("?south=2&west=0&north=1&east=1", "north"),
                             ("?south=0&west=2&north=1&east=1", "east"),
                             ("?maxListed=0", "maxListed"), ("?maxListed=5001", "maxListed"),
                             ("?maxListed=1.5", "maxListed"), ("?grid=65", "grid")]:
            self.bad("READER", "GET", base + query, field=field)
        # Another owner's manager does not learn the type exists.
        self.assertEqual(self.call("OWNER", "GET", base)[0], 404)

if __name__ == "__main__":
    unittest.main()
