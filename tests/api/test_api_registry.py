"""The registry API of `roost serve` over real HTTP, on SQLite and on PostgreSQL: API users,
device types, devices, bulk jobs."""

import json
import os
import threading
import time
import unittest

from roostcli import VECTORS, run, temp_dir
from roostsite import ROLES, RoleCalls, ServedSite, basic, read_id_pac
from roostserver import Server

SAMPLE = os.path.join(VECTORS, "cra-sample")


class ApiRegistryFlows(RoleCalls, ServedSite):
    """The flows; run once per engine by the subclasses below (ENGINE)."""

    @classmethod
    def set_up_site(cls):
        cls.data_dir = cls.site.data_dir
        cls.users = {role: cls.site.api_user(role) for role in ROLES}
        # Credentials of the sample CRA batch (4 devices) and of an issued batch of 30.
        cls.sample_pacs = dict(read_id_pac(os.path.join(SAMPLE, "id_pac.txt")))
        cls.site.import_credentials(os.path.join(SAMPLE, "id_key_encrypted.bin"),
                                    os.path.join(SAMPLE, "id_pac.txt"))
        cls.batch_pacs = cls.site.issue_and_import(30, "200000")

    def test_engine_is_the_one_asked_for(self):
        log = "".join(self.server.log)
        self.assertIn('"database":"%s"' % ("postgresql" if self.ENGINE == "postgres"
                                           else "sqlite"), log)

    def new_type(self, name, **fields):
        return self.ok("DEVICE_MANAGER", "POST", "/api/devicetypes/create",
                       {"name": name, **fields})["id"]

    # --- authentication ----------------------------------------------------

    def test_authentication_401_and_no_credentials_in_logs(self):
        status, head, body = self.call(None, "GET", "/api/devicetypes")
        self.assertEqual(status, 401)
        self.assertEqual(head.get("WWW-Authenticate"), 'Basic realm="roost"')
        self.assertIn("message", body)
        reader = self.users["READER"]
        status, head, body = self.call(None, "GET", "/api/devicetypes",
                                       headers=basic(reader["login"], "wrong-password"))
        self.assertEqual(status, 401)
        self.assertNotIn("wrong-password", json.dumps(body))
        status, _, _ = self.call(None, "GET", "/api/devicetypes",
                                 headers={"Authorization": "Basic !!!"})
        self.assertEqual(status, 401)
        status, _, _ = self.call(None, "GET", "/api/devicetypes",
                                 headers={"Authorization": "Bearer abc"})
        self.assertEqual(status, 401)
        self.assertEqual(self.call("READER", "GET", "/api/devicetypes")[0], 200)
        log = "".join(self.server.drain_log(0.2))
        for u in self.users.values():
            self.assertNotIn(u["password"], log)
        self.assertNotIn("wrong-password", log)
        self.assertNotIn("Basic ", log)

    def test_failed_logins_are_throttled_with_429(self):
        login = "ab" * 12  # unknown login: counted like a wrong password
        statuses = []
        for _ in range(11):
            status, head, _ = self.call(None, "GET", "/api/devices",
                                        headers=basic(login, "guess"))
            statuses.append(status)
        self.assertEqual(statuses[:10], [401] * 10)
        self.assertEqual(statuses[10], 429)
        self.assertGreater(int(head["Retry-After"]), 0)
        # Other logins from the same address still work (per-address limit is higher).
        self.assertEqual(self.call("READER", "GET", "/api/devices")[0], 200)

    # --- roles -------------------------------------------------------------

    def test_roles(self):
        tid = self.new_type("roles")
        status, _, body = self.call("READER", "POST", "/api/devicetypes/create", {"name": "x"})
        self.assertEqual(status, 403)
        self.assertIn("roles", body["message"])
        self.assertEqual(self.call("FACTORY", "POST", "/api/devicetypes/create",
                                   {"name": "x"})[0], 403)
        self.assertEqual(self.call("FACTORY", "GET", "/api/devicetypes")[0], 403)
        self.assertEqual(self.call("STATION", "GET", "/api/devicetypes")[0], 403)
        self.assertEqual(self.call("READER", "DELETE", "/api/devicetypes/" + tid)[0], 403)
        self.assertEqual(self.call("READER", "POST", "/api/devices/create",
                                   {"id": "1", "pac": "0" * 16, "name": "n", "type": tid})[0],
                         403)
        self.assertEqual(self.call("READER", "GET", "/api/devicetypes/" + tid)[0], 200)
        self.assertEqual(self.call("ADMIN", "GET", "/api/devicetypes/" + tid)[0], 200)
        # The refused requests changed nothing.
        names = [t["name"] for t in self.ok("ADMIN", "GET", "/api/devicetypes?limit=1000")["data"]]
        self.assertNotIn("x", names)

    # --- device types ------------------------------------------------------

    def test_device_type_lifecycle(self):
        tid = self.new_type("meters", description="water meters", keepAlive=3600,
                            payloadType="Custom", payloadConfig="temp::uint:16 flag::bool:7",
                            downlinkMode="DIRECT", downlinkDataString="{time}0000{rssi}")
        self.assertRegex(tid, r"^[0-9a-f]{24}$")
        t = self.ok("READER", "GET", "/api/devicetypes/" + tid)
        self.assertEqual(t["name"], "meters")
        self.assertEqual(t["keepAlive"], 3600)
        self.assertEqual(t["payloadType"], "Custom")
        self.assertEqual(t["downlinkMode"], "DIRECT")
        self.assertEqual(t["group"]["id"], self.ok("ADMIN", "GET", "/api/devicetypes/" + tid)
                         ["group"]["id"])
        # Edit: absent fields untouched, null clears.
        e = self.ok("DEVICE_MANAGER", "POST", "/api/devicetypes/edit",
                    {"id": tid, "description": None, "keepAlive": 60})
        self.assertEqual(e["description"], "")
        self.assertEqual(e["keepAlive"], 60)
        self.assertEqual(e["payloadConfig"], "temp::uint:16 flag::bool:7")
        t = self.ok("READER", "GET", "/api/devicetypes/" + tid)
        self.assertEqual((t["description"], t["keepAlive"], t["name"]), ("", 60, "meters"))
        self.assertGreaterEqual(t["lastEditionTime"], t["creationTime"])
        # Delete, then it is gone.
        self.assertEqual(self.call("DEVICE_MANAGER", "DELETE", "/api/devicetypes/" + tid)[0], 204)
        self.assertEqual(self.call("READER", "GET", "/api/devicetypes/" + tid)[0], 404)
        self.assertEqual(self.call("DEVICE_MANAGER", "DELETE", "/api/devicetypes/" + tid)[0], 404)

    def edit_concurrently(self, path, object_id, fields):
        """One thread per (field, values): each posts its field's values in turn to `path`,
        retrying an edit answered 409 (it lost to the other edits too often). Returns every
        status seen."""
        statuses = []

        def edits(field, values):
            for v in values:
                for _ in range(20):
                    status, _, _ = self.call(self.EDITOR, "POST", path, {"id": object_id, field: v})
                    statuses.append(status)
                    if status != 409:
                        break

        threads = [threading.Thread(target=edits, args=fv) for fv in fields]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return statuses

    EDITOR = "DEVICE_MANAGER"

    def test_concurrent_edits_of_different_fields_of_a_device_type_all_hold(self):
        # Each edit applies its fields to the type as stored when it lands: one that read the
        # type before another edit landed is applied again, never written over it.
        tid = self.new_type("edited at once", keepAlive=60)
        statuses = self.edit_concurrently("/api/devicetypes/edit", tid, [
            ("keepAlive", list(range(100, 130))),
            ("description", ["d%d" % i for i in range(30)]),
            ("name", ["n%d" % i for i in range(30)])])
        self.assertEqual(set(statuses) - {200, 409}, set(), statuses)
        t = self.ok("READER", "GET", "/api/devicetypes/" + tid)
        self.assertEqual((t["keepAlive"], t["description"], t["name"]), (129, "d29", "n29"))

    def test_device_type_bad_input(self):
        def bad(body, field, fragment, status=400, raw=None):
            code, _, err = self.call("DEVICE_MANAGER", "POST", "/api/devicetypes/create",
                                     body, raw=raw)
            self.assertEqual(code, status, err)
            self.assertIn(fragment, err["message"])
            if field:
                self.assertEqual(err["errors"][0]["field"], field)

        bad({"name": "p", "payloadType": "Custom", "payloadConfig": "a::uint:8 b::bogus"},
            "payloadConfig", "position 14")
        bad({"name": "p", "downlinkDataString": "{time}00"}, "downlinkDataString", "")
        bad({"name": "p", "keepAlive": "60"}, "keepAlive", "must be an integer")
        bad({"name": "p", "keepAlive": -1}, "keepAlive", "negative")
        bad({"name": "p", "colour": "red"}, "colour", "unknown field")
        bad({"name": "p", "payloadType": "Binary"}, "payloadType",
            "None (2), String (5) or Custom (3)")
        bad({"name": "p", "downlinkMode": "direct"}, "downlinkMode", "DIRECT")
        bad({"description": "no name"}, "name", "required")
        bad(None, None, "line 2, column 15", raw='{"name": "p",\n "keepAlive": }')
        bad(None, None, "must be a JSON object", raw="[1]")
        bad({"name": "p", "group": "0" * 24}, "group", "not found", status=404)
        code, _, err = self.call("DEVICE_MANAGER", "POST", "/api/devicetypes/edit",
                                 {"id": "0" * 24, "name": "z"})
        self.assertEqual(code, 404, err)
        tid = self.new_type("editme")
        code, _, err = self.call("DEVICE_MANAGER", "POST", "/api/devicetypes/edit",
                                 {"id": tid, "name": None})
        self.assertEqual((code, err["errors"][0]["field"]), (400, "name"))
        code, _, err = self.call("DEVICE_MANAGER", "POST", "/api/devicetypes/edit",
                                 {"id": tid, "payloadType": "Custom"})
        self.assertEqual((code, err["errors"][0]["field"]), (400, "payloadConfig"))
        self.assertEqual(self.ok("READER", "GET", "/api/devicetypes/" + tid)["payloadType"], "None")
        names = [t["name"] for t in self.ok("ADMIN", "GET", "/api/devicetypes?limit=1000")["data"]]
        self.assertNotIn("p", names)
        self.assertEqual(self.call("READER", "GET", "/api/devicetypes?limit=0")[0], 400)
        self.assertEqual(self.call("READER", "GET", "/api/devicetypes?limit=1001")[0], 400)

    def test_device_type_paging(self):
        ids = sorted(self.new_type("page-%d" % i) for i in range(5))
        seen = []
        url = "/api/devicetypes?limit=2"
        pages = 0
        while url:
            page = self.ok("READER", "GET", url)
            self.assertLessEqual(len(page["data"]), 2)
            seen += [t["id"] for t in page["data"]]
            url = page["paging"].get("next")
            pages += 1
            self.assertLess(pages, 100)
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(seen, sorted(seen))
        for i in ids:
            self.assertIn(i, seen)

    # --- devices -----------------------------------------------------------

    def test_single_registration_get_list_delete(self):
        tid = self.new_type("single")
        dev, pac = sorted(self.sample_pacs.items())[0]
        api_id = dev.lstrip("0")
        code, _, err = self.call("FACTORY", "POST", "/api/devices/create",
                                 {"id": dev, "pac": "0" * 16, "name": "d", "type": tid})
        self.assertEqual((code, err["errors"][0]["field"]), (400, "pac"))
        code, _, err = self.call("FACTORY", "POST", "/api/devices/create",
                                 {"id": "FFFFFFF0", "pac": "0" * 16, "name": "d", "type": tid})
        self.assertEqual(code, 400, err)
        self.assertIn("unknown", err["message"])
        code, _, err = self.call("FACTORY", "POST", "/api/devices/create",
                                 {"id": dev, "pac": pac, "name": "d", "type": "0" * 24})
        self.assertEqual(code, 404, err)
        code, _, err = self.call("FACTORY", "POST", "/api/devices/create",
                                 {"id": dev, "pac": pac, "name": "d", "type": tid, "lat": "north"})
        self.assertEqual((code, err["errors"][0]["field"]), (400, "lat"))
        self.assertEqual(self.call("READER", "GET", "/api/devices/" + api_id)[0], 404)

        created = self.ok("DEVICE_MANAGER", "POST", "/api/devices/create",
                          {"id": dev.lower(), "pac": pac.lower(), "name": "first", "type": tid,
                           "lat": 43.5, "lng": 1.25, "productCertificate": {"key": "P_0004_D356_03"}})
        self.assertEqual(created["id"], api_id)
        self.assertRegex(created["pac"], r"^[0-9A-F]{16}$")
        self.assertNotEqual(created["pac"], pac)  # a new PAC replaces the initial one
        code, _, err = self.call("DEVICE_MANAGER", "POST", "/api/devices/create",
                                 {"id": dev, "pac": pac, "name": "again", "type": tid})
        self.assertEqual(code, 409, err)

        as_reader = self.ok("READER", "GET", "/api/devices/" + api_id)
        self.assertNotIn("pac", as_reader)
        self.assertEqual(as_reader["name"], "first")
        self.assertEqual(as_reader["type"]["id"], tid)
        self.assertEqual(as_reader["productCertificate"], {"key": "P_0004_D356_03"})
        self.assertEqual((as_reader["lat"], as_reader["lng"]), (43.5, 1.25))
        self.assertEqual(self.ok("ADMIN", "GET", "/api/devices/" + api_id)["pac"], created["pac"])

        listed = self.ok("READER", "GET", "/api/devices?deviceTypeId=" + tid)
        self.assertEqual([d["id"] for d in listed["data"]], [api_id])
        listed = self.ok("READER", "GET", "/api/devicetypes/%s/devices" % tid)
        self.assertEqual([d["id"] for d in listed["data"]], [api_id])
        self.assertEqual(self.ok("READER", "GET", "/api/devices?namePrefix=fir&deviceTypeId="
                                 + tid)["data"][0]["id"], api_id)
        self.assertEqual(self.ok("READER", "GET", "/api/devices?namePrefix=zzz")["data"], [])
        self.assertEqual([d["id"] for d in self.ok(
            "READER", "GET", "/api/devices?idPrefix=%s&deviceTypeId=%s" % (dev[:5].lower(), tid))
            ["data"]], [api_id])
        self.assertEqual(self.ok("READER", "GET", "/api/devices?idPrefix=FFFF&deviceTypeId="
                                 + tid)["data"], [])
        self.assertEqual(self.call("READER", "GET", "/api/devices?idPrefix=xyz")[0], 400)
        # State by v1 name or code; last seen (never, for a device without messages).
        for state in ("OK", "0"):
            self.assertEqual([d["id"] for d in self.ok(
                "READER", "GET", "/api/devices?state=%s&deviceTypeId=%s" % (state, tid))["data"]],
                [api_id])
        for state in ("DEAD", "1"):
            self.assertEqual(self.ok("READER", "GET", "/api/devices?state=" + state)["data"], [])
        code, _, err = self.call("READER", "GET", "/api/devices?state=ALIVE")
        self.assertEqual(code, 400)
        self.assertIn("state", json.dumps(err))
        self.assertIn("NOT_ACTIVABLE (7)", json.dumps(err))
        self.assertEqual(self.ok("READER", "GET", "/api/devicetypes/%s/devices?lastSeenSince=0"
                                 % tid)["data"], [])
        self.assertEqual(self.call("READER", "GET", "/api/devices?lastSeenBefore=soon")[0], 400)
        self.assertEqual(self.call("READER", "GET", "/api/devices?deviceTypeId=" + "0" * 24)[0],
                         404)
        self.assertEqual(self.call("READER", "GET", "/api/devices?groupId=" + "0" * 24)[0], 404)

        # A device type with devices cannot be deleted.
        code, _, err = self.call("DEVICE_MANAGER", "DELETE", "/api/devicetypes/" + tid)
        self.assertEqual(code, 409, err)
        self.assertEqual(self.call("READER", "DELETE", "/api/devices/" + api_id)[0], 403)
        self.assertEqual(self.call("DEVICE_MANAGER", "DELETE", "/api/devices/" + api_id)[0], 204)
        self.assertEqual(self.call("READER", "GET", "/api/devices/" + api_id)[0], 404)
        self.assertEqual(self.call("DEVICE_MANAGER", "DELETE", "/api/devicetypes/" + tid)[0], 204)

    def test_a_types_positioned_devices_are_listed_alone(self):
        tid = self.new_type("placed")
        placed = []
        for i, (dev, pac) in enumerate(self.batch_pacs[25:30]):
            body = {"id": dev, "pac": pac, "name": "p%d" % i, "type": tid}
            if i % 2 == 0:
                body.update({"lat": 43.0 + i, "lng": 1.5})
            did = self.ok("DEVICE_MANAGER", "POST", "/api/devices/create", body)["id"]
            if i % 2 == 0:
                placed.append(did)
        seen, url, pages = [], "/api/devicetypes/%s/devices?positioned=true&limit=2" % tid, 0
        while url:
            page = self.ok("READER", "GET", url)
            self.assertTrue(all(d["lat"] is not None and d["lng"] is not None
                                for d in page["data"]), page)
            seen += [d["id"] for d in page["data"]]
            url = page["paging"].get("next")
            pages += 1
            self.assertLess(pages, 10)
        self.assertEqual(seen, sorted(placed, key=lambda d: int(d, 16)))
        self.assertEqual(pages, 2, "the next page keeps the filter")
        everyone = self.ok("READER", "GET", "/api/devicetypes/%s/devices?positioned=false" % tid)
        self.assertEqual(len(everyone["data"]), 5)
        self.assertEqual(sorted(d["id"] for d in self.ok(
            "READER", "GET", "/api/devices?positioned=true&deviceTypeId=" + tid)["data"]),
            sorted(placed))
        code, _, err = self.call("READER", "GET", "/api/devices?positioned=yes")
        self.assertEqual((code, err["errors"][0]["field"]), (400, "positioned"))

    def test_bulk_registration_job(self):
        tid = self.new_type("bulk")
        ids = [{"id": d, "pac": p} for d, p in self.batch_pacs[:20]]
        ids.append({"id": self.batch_pacs[20][0], "pac": "0" * 16})  # wrong PAC
        ids.append({"id": "FFFFFFF1", "pac": "0" * 16})  # no credentials
        ids.append({"id": "zz", "pac": "0" * 16})  # malformed
        status, _, started = self.call("FACTORY", "POST",
                                       "/api/devicetypes/%s/devices/bulk/create/async" % tid,
                                       {"prefix": "dev-", "ids": ids,
                                        "productCertificate": "P_0004_D356_03"})
        self.assertEqual(status, 202, started)
        self.assertEqual(started["total"], 23)
        job = started["jobId"]
        deadline = time.time() + 20
        while True:
            st = self.ok("FACTORY", "GET",
                         "/api/devicetypes/%s/devices/bulk/create/async/%s" % (tid, job))
            if st["jobDone"] or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertTrue(st["jobDone"], st)
        self.assertEqual(st["total"], 23)
        self.assertEqual(st["status"]["success"], 20)
        failed = {f["id"]: f["message"] for f in st["status"]["failed"]}
        self.assertEqual(len(failed), 3, failed)
        self.assertEqual(self.ok("READER", "GET", "/api/jobs/" + job), st)
        self.assertEqual(self.call("READER", "GET", "/api/jobs/" + "0" * 24)[0], 404)
        # The devices exist, named prefix + id, listed in pages of 7.
        seen = []
        url = "/api/devicetypes/%s/devices?limit=7" % tid
        while url:
            page = self.ok("READER", "GET", url)
            seen += [d["name"] for d in page["data"]]
            url = page["paging"].get("next")
        self.assertEqual(len(seen), 20)
        self.assertTrue(all(n.startswith("dev-") for n in seen))
        # Bad bulk bodies are refused as a whole, and create nothing.
        for body, fragment in (({"ids": "all"}, "ids"), ({"ids": [{"id": "1"}]}, "ids[0].pac"),
                               ({"ids": [], "foo": 1}, "foo"), ({"ids": []}, "ids")):
            code, _, err = self.call("FACTORY", "POST",
                                     "/api/devicetypes/%s/devices/bulk/create/async" % tid, body)
            self.assertEqual(code, 400, err)
            self.assertIn(fragment, err["message"])
        code, _, _ = self.call("FACTORY", "POST",
                               "/api/devicetypes/%s/devices/bulk/create/async" % ("0" * 24),
                               {"ids": ids[:1]})
        self.assertEqual(code, 404)


class ApiRegistrySqliteTest(ApiRegistryFlows, unittest.TestCase):
    ENGINE = "sqlite"


class ApiRegistryPostgresTest(ApiRegistryFlows, unittest.TestCase):
    ENGINE = "postgres"


class ApiServeStopTest(unittest.TestCase):
    """SIGTERM stops the bulk-job worker with the server: exit 0, and the job is persisted."""

    def test_sigterm_with_a_job_in_the_queue(self):
        tmp = temp_dir()
        data_dir = os.path.join(tmp.name, "data")
        server = Server(data_dir, env={"ROOST_ADMIN_PASSWORD": "correct horse battery"})
        try:
            r = run(["api-user", "create", "--name", "m", "--role", "DEVICE_MANAGER",
                     "--data-dir", data_dir])
            self.assertEqual(r.returncode, 0, r.stderr)
            u = json.loads(r.stdout)
            auth = basic(u["login"], u["password"])
            auth["Content-Type"] = "application/json"
            status, _, body = server.request("POST", "/api/devicetypes/create",
                                             json.dumps({"name": "t"}), auth)
            self.assertEqual(status, 200, body)
            tid = json.loads(body)["id"]
            ids = [{"id": "%X" % (0x300000 + i), "pac": "0" * 16} for i in range(20000)]
            status, _, body = server.request(
                "POST", "/api/devicetypes/%s/devices/bulk/create/async" % tid,
                json.dumps({"ids": ids}), auth)
            self.assertEqual(status, 202, body)
            job = json.loads(body)["jobId"]
            self.assertEqual(server.stop(), 0)
            self.assertIn('"msg":"stopped"', "".join(server.drain_log()))
        finally:
            server.kill()
            server.proc.stderr.close()
            server.proc.stdout.close()
        # After a restart the job is still there, and finishes.
        server = Server(data_dir)
        try:
            deadline = time.time() + 60
            while True:
                status, _, body = server.request("GET", "/api/jobs/" + job, headers=auth)
                self.assertEqual(status, 200, body)
                st = json.loads(body)
                if st["jobDone"] or time.time() > deadline:
                    break
                time.sleep(0.2)
            self.assertTrue(st["jobDone"])
            self.assertEqual(st["total"], 20000)
            self.assertEqual(st["status"]["success"], 0)
            self.assertEqual(len(st["status"]["failed"]), 20000)
            self.assertEqual(server.stop(), 0)
        finally:
            server.kill()
            server.proc.stderr.close()
            server.proc.stdout.close()
            tmp.cleanup()


if __name__ == "__main__":
    unittest.main()
