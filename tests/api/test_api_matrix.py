"""Every API route × every role × a foreign group, over real HTTP, on SQLite and PostgreSQL.

The routes come from `roost api routes` (the route table of the binary), so a route added later
is walked too. For each route:
  - no credentials → 401 (public routes are exempt);
  - each role gets 403 exactly when the table does not list it, and never otherwise;
  - a request naming only objects of another group (path parameters and, for body-carrying
    routes, the body) gets 404 from every allowed role, and the owner of those objects can
    still read them afterwards: the 404 is about visibility, and nothing changed.
A route with a path parameter or a body this file does not know how to aim at a foreign object
fails the test, naming the route: add it to FOREIGN_PARAMS or FOREIGN_BODIES.
"""

import hashlib
import json
import secrets
import unittest

from roostcli import run
from roostsite import ROLES, Client, ServedSite, api_id

WRITE_METHODS = ("POST", "PUT", "PATCH")


def new_id():
    return secrets.token_hex(12)


# Path parameter → which foreign object it names, by path prefix (longest prefix wins).
FOREIGN_PARAMS = {
    ("/api/devicetypes/", "id"): "type",
    ("/api/devices/", "id"): "device",
    ("/api/", "jobId"): "job",
    ("/api/devices/bulk/edit/", "jobId"): "edit_job",
    ("/api/groups/", "id"): "group",
    ("/api/users/", "id"): "user",
    ("/api/api-users/", "login"): "api_user",
    ("/api/devicetypes/", "cid"): "callback",
    ("/api/devicetypes/{id}/events/", "cid"): "event_config",
    ("/api/devices/", "cid"): "event_config",
    ("/api/groups/", "cid"): "event_config",
    ("/api/devices/", "year"): "year",
    ("/api/provisioning/ids/", "pid"): "provision_id",
    ("/api/provisioning/devices/", "devEui"): "provisioned_device",
    ("/api/stations/", "id"): "station",
}

# Query strings that aim a route without path parameters at the foreign group.
FOREIGN_QUERY = {
    "POST /api/provisioning/ids/import": lambda f: "?groupId=" + f.foreign,
}

# Routes whose foreign object the owner cannot read back either: a provisioned device comes
# only from the radio exchange, so the foreign devEUI is an imported, never provisioned one.
NO_OWNER_READ = {
    "GET /api/provisioning/devices/{devEui}",
    "GET /api/provisioning/devices/{devEui}/keys",
}

# Live message streams: the owner's request would open a stream that never ends. The owner's
# streams are tested in test_api_live_messages.py.
STREAMS = {
    "GET /api/devices/{id}/messages/live",
    "GET /api/devicetypes/{id}/messages/live",
}

FOREIGN_PROVISION_ID = "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
                               for _ in range(20))
FOREIGN_DEV_EUI = "00aabbccddeeff99"


def provision_report(pid, dev_eui):
    """A one-row Provision ID report CSV."""
    digest = hashlib.sha256((pid + ".MatchX").encode()).hexdigest()
    return ("MatchX Device Provisioning,,,,,,\nmanufacturerName,MatchX GmbH,,,,,\n"
            "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI,provisionIdHash\n"
            "%s,M-1,S-1,Y,%s,0000000000000000,%s\n" % (pid, dev_eui, digest))

# Routes whose objects belong to no group (credentials are the factory's, certificates are
# global reference data): nothing foreign can be named, so the matrix checks only 401/403.
# The value fills their path parameters.
GROUPLESS = {
    "POST /api/credentials/import": {},
    "GET /api/product-certificates": {},
    "POST /api/product-certificates/import": {},
    "GET /api/product-certificates/{key}": {"key": "P_0004_D356_03"},
    # Pure computation on the body (the device-type editor's "try it"): no stored object.
    "POST /api/codec/decode": {},
    "POST /api/codec/downlink/check": {},
    # Labels are made from the report in the body; nothing is stored or read back.
    "POST /api/provisioning/labels": {},
}

# Routes that answer a foreign object with another status than 404: a bulk edit is a job,
# in which a foreign device fails as "device not found" (checked after the walk).
FOREIGN_STATUS = {
    "POST /api/devices/bulk/edit": 202,
    # A report through a foreign station is decided, like one of an unknown station: refused
    # (test_api_pipeline checks the answer and that nothing is stored).
    "POST /api/ingest/uplink": 200,
    "POST /api/ingest/sigfox-callback": 200,
    "POST /api/ingest/sigfox-service-callback": 200,
    "POST /api/ingest/service": 200,
}

EVENT_CONFIG = {"kinds": ["COMMUNICATION_LOSS"], "emails": ["x@example.com"]}

# Body-carrying routes: a body whose only problem is that it names foreign objects.
# `f` is the fixture: f.foreign (group), f.type, f.device, f.job, f.spare (an unregistered
# (id, pac) with imported credentials).
FOREIGN_BODIES = {
    "POST /api/devicetypes/create": lambda f: {"name": "x", "group": f.foreign},
    "POST /api/devicetypes/edit": lambda f: {"id": f.type, "name": "changed"},
    "POST /api/devices/create": lambda f: {"id": f.spare[0], "pac": f.spare[1], "name": "n",
                                           "type": f.type},
    "POST /api/devicetypes/{id}/devices/bulk/create/async":
        lambda f: {"ids": [{"id": f.spare[0], "pac": f.spare[1]}]},
    "POST /api/devicetypes/{id}/devices/bulk/create/series":
        lambda f: {"file": "%s;%s" % f.spare},  # refused for the type before the body is read
    "POST /api/devices/edit": lambda f: {"id": f.device, "name": "changed"},
    "POST /api/devices/bulk/edit": lambda f: [{"id": f.device, "name": "changed"}],
    "POST /api/groups/create": lambda f: {"name": "x", "parentId": f.foreign},
    "POST /api/groups/edit": lambda f: {"id": f.foreign, "name": "changed"},
    "POST /api/api-users/create": lambda f: {"name": "x", "roles": ["READER"], "group": f.foreign},
    "POST /api/users/create": lambda f: {"email": "x@example.com", "name": "x", "timezone": "UTC",
                                         "roles": ["READER"], "group": f.foreign},
    "POST /api/users/edit": lambda f: {"id": f.user, "name": "changed"},
    "POST /api/users/{id}/invite": lambda f: {},
    "POST /api/devicetypes/{id}/callbacks/new": lambda f: [{"url": "http://example.com/x"}],
    "POST /api/devicetypes/{id}/callbacks/{cid}/edit": lambda f: {"url": "http://example.com/y"},
    "POST /api/devicetypes/{id}/callbacks/{cid}/delete": lambda f: {},
    "POST /api/devicetypes/{id}/callbacks/{cid}/enable": lambda f: {},
    "POST /api/devicetypes/{id}/callbacks/{cid}/downlink": lambda f: {},
    "POST /api/devices/{id}/disengage": lambda f: {},
    "POST /api/devices/{id}/events/config/new": lambda f: EVENT_CONFIG,
    "POST /api/devicetypes/{id}/events/config/new": lambda f: EVENT_CONFIG,
    "POST /api/groups/{id}/events/config/new": lambda f: EVENT_CONFIG,
    "POST /api/devices/{id}/events/config/{cid}/delete": lambda f: {},
    "POST /api/devicetypes/{id}/events/config/{cid}/delete": lambda f: {},
    "POST /api/groups/{id}/events/config/{cid}/delete": lambda f: {},
    "POST /api/stations/create": lambda f: {"id": "0F0E", "name": "x", "group": f.foreign},
    "POST /api/stations/edit": lambda f: {"id": f.station, "name": "x", "lat": 1, "lng": 2},
    "POST /api/ingest/uplink": lambda f: {"device": f.device, "seqNumber": 1, "data": "01",
                                          "time": 1700000000000, "station": f.station,
                                          "rssi": -120, "snr": 10},
    "POST /api/ingest/sigfox-callback": lambda f: {"device": f.device, "seqNumber": 1, "data": "01",
                                                   "time": 1700000000, "station": f.station,
                                                   "rssi": -120, "snr": 10},
    "POST /api/ingest/sigfox-service-callback": lambda f: {"device": f.device, "time": 1700000000,
                                                           "station": f.station, "temp": 20.5,
                                                           "batt": 3.1},
    "POST /api/ingest/service": lambda f: {"device": f.device, "type": "STATUS",
                                           "time": 1700000000000, "station": f.station,
                                           "temp": 20.5, "batt": 3.1},
    "POST /api/provisioning/ids/import": lambda f: {},  # refused for the group before the body
    "POST /api/provisioning/ids/{pid}/disable": lambda f: {},
}


def route_key(route):
    return "%s %s" % (route["method"], route["path"])


def is_public(route):
    return route["access"] == "public"


def any_principal(route):
    """Routes for every authenticated caller, whatever its roles ("who am I", log out)."""
    return route["access"] == "authenticated"


def path_params(pattern):
    out, rest = [], pattern
    while "{" in rest:
        start = rest.index("{")
        end = rest.index("}", start)
        out.append(rest[start + 1:end])
        rest = rest[end + 1:]
    return out


def load_routes():
    r = run(["api", "routes"], timeout=30)
    if r.returncode != 0:
        raise AssertionError("roost api routes failed: " + r.stderr)
    return json.loads(r.stdout)


class ApiRoutesCommandTest(unittest.TestCase):
    def test_routes_command_prints_the_table(self):
        routes = load_routes()
        self.assertIsInstance(routes, list)
        self.assertGreaterEqual(len(routes), 13)
        keys = [route_key(r) for r in routes]
        self.assertEqual(len(keys), len(set(keys)), "duplicate routes")
        for r in routes:
            self.assertLessEqual({"method", "path", "roles", "access", "public"}, set(r), r)
            self.assertIn(r["method"], ("GET", "POST", "PUT", "PATCH", "DELETE"), r)
            self.assertTrue(r["path"].startswith("/api/"), r)
            self.assertLessEqual(set(r["roles"]), set(ROLES), r)
            self.assertEqual(len(r["roles"]), len(set(r["roles"])), r)
            self.assertIn(r["access"], ("roles", "authenticated", "public"), r)
            self.assertEqual(r["public"], r["access"] == "public", r)
            self.assertEqual(not r["roles"], r["access"] != "roles", r)
        by_key = {route_key(r): r for r in routes}
        # A few rows of docs/api.md, to show the output is the table and not a guess.
        self.assertEqual(by_key["GET /api/devices"]["roles"], ["ADMIN", "DEVICE_MANAGER", "READER"])
        self.assertEqual(by_key["POST /api/devicetypes/{id}/devices/bulk/create/async"]["roles"],
                         ["ADMIN", "DEVICE_MANAGER", "FACTORY"])
        self.assertEqual(by_key["DELETE /api/devices/{id}"]["roles"], ["ADMIN", "DEVICE_MANAGER"])

    def test_bad_usage(self):
        r = run(["api"], timeout=30)
        self.assertNotEqual(r.returncode, 0)
        r = run(["api", "routes", "--bogus"], timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--bogus", r.stderr)


class MatrixFlows(ServedSite):
    @classmethod
    def set_up_site(cls):
        cls.routes = load_routes()
        root_admin = Client(cls.server, cls.site.api_user("ADMIN", name="root admin"))
        cls.mine = root_admin.ok("POST", "/api/groups/create", {"name": "mine"})["id"]
        cls.foreign = root_admin.ok("POST", "/api/groups/create", {"name": "foreign"})["id"]
        root_admin.close()
        cls.users = {role: cls.site.api_user(role, group=cls.mine) for role in ROLES}
        owner = cls.site.api_user("ADMIN", group=cls.foreign, name="foreign admin")
        cls.owner_login = owner["login"]
        cls.owner = Client(cls.server, owner)
        cls.closers.append(cls.owner.close)
        cls.user = cls.owner.ok("POST", "/api/users/create",
                                {"email": "foreign@example.com", "name": "Foreign",
                                 "timezone": "UTC", "roles": ["READER"]})["id"]
        pairs = cls.site.issue_and_import(3, "300000")
        # The foreign group's objects, made through the API by their owner.
        cls.type = cls.owner.new_type("foreign type")
        dev, pac = pairs[0]
        cls.device = cls.owner.ok("POST", "/api/devices/create",
                                  {"id": dev, "pac": pac, "name": "foreign device",
                                   "type": cls.type})["id"]
        cls.job = cls.owner.bulk_create(cls.type, [pairs[1]])
        cls.owner.wait_job(cls.job, timeout=30)
        cls.edit_job = cls.owner.ok("POST", "/api/devices/bulk/edit",
                                    [{"id": cls.device, "lat": 1.5}], expect=202)["jobId"]
        cls.owner.wait_job(cls.edit_job, timeout=30)
        cls.spare = pairs[2]
        cls.callback = cls.owner.ok(
            "POST", "/api/devicetypes/%s/callbacks/new" % cls.type,
            [{"url": "http://127.0.0.1:9/{device}", "callbackType": 0,
              "callbackSubtype": 3}])["data"][0]["id"]
        cls.event_config = cls.owner.ok(
            "POST", "/api/devicetypes/%s/events/config/new" % cls.type,
            {"kinds": ["COMMUNICATION_LOSS"], "emails": ["owner@example.com"]},
            expect=201)["id"]
        cls.station = cls.owner.ok("POST", "/api/stations/create",
                                   {"id": "0F00", "name": "foreign station"},
                                   expect=201)["id"]
        cls.provision_id = FOREIGN_PROVISION_ID
        cls.provisioned_device = FOREIGN_DEV_EUI
        status, _, res = cls.owner.call(
            "POST", "/api/provisioning/ids/import",
            raw=provision_report(cls.provision_id, cls.provisioned_device),
            headers={"Content-Type": "text/csv"})
        if status != 200:
            raise AssertionError("provisioning import: %d %r" % (status, res))
        mine_admin = Client(cls.server, cls.users["ADMIN"])
        cls.my_type = mine_admin.new_type("my type")
        mine_admin.close()

    def foreign_request(self, route):
        """(path, body) naming only foreign objects; raises LookupError when unknown."""
        path = route["path"]
        if is_public(route) or any_principal(route):
            return path, None  # nothing to aim at: checked for 401/403 only
        if route_key(route) in GROUPLESS:
            for name, value in GROUPLESS[route_key(route)].items():
                path = path.replace("{%s}" % name, value)
            return path, None
        for param in path_params(route["path"]):
            matches = [(prefix, what) for (prefix, name), what in FOREIGN_PARAMS.items()
                       if name == param and route["path"].startswith(prefix)]
            if not matches:
                raise LookupError("%s: no foreign object known for path parameter {%s}; add it "
                                  "to FOREIGN_PARAMS in %s" % (route_key(route), param, __file__))
            what = max(matches, key=lambda m: len(m[0]))[1]
            value = {"type": self.type, "device": self.device, "job": self.job,
                     "edit_job": self.edit_job, "group": self.foreign, "user": self.user,
                     "api_user": self.owner_login, "callback": self.callback,
                     "event_config": self.event_config, "year": "2026",
                     "provision_id": self.provision_id,
                     "provisioned_device": self.provisioned_device,
                     "station": self.station}[what]
            path = path.replace("{%s}" % param, value, 1)
        if route_key(route) in FOREIGN_QUERY:
            path += FOREIGN_QUERY[route_key(route)](self)
        body = None
        maker = FOREIGN_BODIES.get(route_key(route))
        if maker is not None:
            body = maker(self)
        elif route["method"] in WRITE_METHODS:
            raise LookupError("%s: no foreign request body known; add one to FOREIGN_BODIES in %s"
                              % (route_key(route), __file__))
        elif route["method"] != "GET" and not path_params(route["path"]):
            raise LookupError("%s: neither a path parameter nor a body names an object; add the "
                              "route to FOREIGN_BODIES in %s" % (route_key(route), __file__))
        return path, body

    def test_every_route_can_be_aimed_at_a_foreign_object(self):
        unknown = []
        for route in self.routes:
            try:
                self.foreign_request(route)
            except LookupError as e:
                unknown.append(str(e))
        self.assertEqual(unknown, [], "routes this matrix cannot test:\n" + "\n".join(unknown))

    def test_every_route_times_every_role_times_a_foreign_group(self):
        anonymous = Client(self.server)
        clients = {role: Client(self.server, self.users[role]) for role in ROLES}
        walked = 0
        bulk_jobs = []
        for route in self.routes:
            try:
                path, body = self.foreign_request(route)
            except LookupError:
                continue  # reported by test_every_route_can_be_aimed_at_a_foreign_object
            key = route_key(route)
            method = route["method"]
            if not is_public(route):
                status, head, err = anonymous.call(method, path, body)
                self.assertEqual(status, 401, "%s without credentials: %r" % (key, err))
                self.assertEqual(head.get("WWW-Authenticate"), 'Basic realm="roost"', key)
            for role in ROLES:
                with self.subTest(route=key, role=role):
                    status, _, res = clients[role].call(method, path, body)
                    if is_public(route) or any_principal(route):
                        self.assertNotIn(status, (401, 403), res)
                        continue
                    if role not in route["roles"]:
                        self.assertEqual(status, 403, res)
                        self.assertIn("roles", res["message"])
                        continue
                    self.assertNotEqual(status, 403, res)
                    if key in GROUPLESS:
                        self.assertNotIn(status, (401, 403), res)
                    elif key in FOREIGN_STATUS:
                        self.assertEqual(status, FOREIGN_STATUS[key], res)
                        if status == 202:
                            bulk_jobs.append(res["jobId"])
                    elif path_params(route["path"]) or body is not None:
                        self.assertEqual(status, 404, res)
                        self.assertIn("not found", res["message"])
                        self.assertNotIn("roles", res["message"])
                    else:  # a list: answers, without anything of the foreign group
                        self.assertEqual(status, 200, res)
                        text = json.dumps(res)
                        for secret in (self.foreign, self.type, self.job, self.user,
                                       self.owner_login, self.callback, self.event_config,
                                       self.provision_id, self.provisioned_device):
                            self.assertNotIn(secret, text)
                        self.assertNotIn('"id": "%s"' % self.device, text)
                        self.assertNotIn('"%s"' % self.station, text)
            walked += 1
            # The owner of the objects still sees them through the same path.
            if (method == "GET" and path_params(route["path"]) and key not in GROUPLESS
                    and key not in NO_OWNER_READ and key not in STREAMS):
                status, _, res = self.owner.call("GET", path)
                self.assertEqual(status, 200, "%s as the foreign group's ADMIN: %r" % (key, res))
        # The bulk edit jobs found no device: the foreign one is "device not found".
        for job in bulk_jobs:
            st = clients["ADMIN"].wait_job(job, timeout=30)
            self.assertEqual(st["status"]["success"], 0, st)
            self.assertEqual([f["message"] for f in st["status"]["failed"]], ["device not found"])
        self.assertEqual(len(bulk_jobs), 2)  # ADMIN, DEVICE_MANAGER
        for c in (anonymous, *clients.values()):
            c.close()
        self.assertGreaterEqual(walked, 13)
        # Nothing of the foreign group changed, and the spare credentials are still unused.
        cbs = self.owner.ok("GET", "/api/devicetypes/%s/callbacks" % self.type)["data"]
        self.assertEqual([(c["id"], c["enabled"], c["downlinkHook"]) for c in cbs],
                         [(self.callback, True, False)])
        t = self.owner.ok("GET", "/api/devicetypes/" + self.type)
        self.assertEqual(t["name"], "foreign type")
        configs = self.owner.ok("GET", "/api/devicetypes/%s/events/config" % self.type)["data"]
        self.assertEqual([(c["id"], c["emails"]) for c in configs],
                         [(self.event_config, ["owner@example.com"])])
        for path in ("/api/devices/%s/events/config" % self.device,
                     "/api/groups/%s/events/config" % self.foreign):
            self.assertEqual(self.owner.ok("GET", path)["data"], [])
        device = self.owner.ok("GET", "/api/devices/" + self.device)
        self.assertEqual(device["name"], "foreign device")
        self.assertEqual(device["lat"], 1.5)
        status, _, _ = self.owner.call("GET", "/api/devices/" + api_id(self.spare[0]))
        self.assertEqual(status, 404)
        names = [d["name"] for d in self.owner.list_all("/api/devicetypes")]
        self.assertEqual(names.count("x"), 0)
        self.assertEqual(self.owner.ok("GET", "/api/jobs/" + self.job)["status"]["success"], 1)
        ids = self.owner.ok("GET", "/api/provisioning/ids")["data"]
        self.assertEqual([(i["provisionId"], i["state"]) for i in ids],
                         [(self.provision_id, "pending")])
        station = self.owner.ok("GET", "/api/stations/" + self.station)
        self.assertEqual((station["name"], station["lat"]), ("foreign station", None))

    def test_own_group_objects_are_served(self):
        """The other side of the 404s: the same principals see their own group's objects."""
        reader = Client(self.server, self.users["READER"])
        self.assertEqual(reader.ok("GET", "/api/devicetypes/" + self.my_type)["name"], "my type")
        listed = [t["id"] for t in reader.list_all("/api/devicetypes")]
        self.assertEqual(listed, [self.my_type])
        reader.close()


class MatrixSqliteTest(MatrixFlows, unittest.TestCase):
    ENGINE = "sqlite"


class MatrixPostgresTest(MatrixFlows, unittest.TestCase):
    ENGINE = "postgres"


if __name__ == "__main__":
    unittest.main()
