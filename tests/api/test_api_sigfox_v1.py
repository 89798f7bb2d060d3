"""Sigfox API v1 clients against `roost serve`: for every registry route, the request body a v1
client sends (enumerations as integer codes included) is accepted, and the answer carries the v1
fields with the types a v1 client reads (docs/api.md, "Sigfox API v1 compatibility").

The routes come from `roost api routes`, so a route added later without a case here fails
test_every_route_has_a_v1_case. Shapes do not depend on the engine: SQLite only.
"""

import json
import os
import time
import unittest
import uuid

from roostcli import run
from roostsite import KEY, RoleCalls, Site, run_ok

NULL = type(None)
NUM = (int, float)
INT = (int,)
STR = (str,)
BOOL = (bool,)
OBJ = (dict,)
LIST = (list,)

# v1 field -> accepted JSON types. A field Roost does not track is present with the v1 empty
# value (null; false for a boolean), so NULL is allowed exactly where docs/api.md says so.
DEVICE_V1 = {
    "id": STR, "name": STR, "type": OBJ, "deviceType": OBJ, "group": OBJ,
    "last": INT + (NULL,), "lastCom": INT + (NULL,), "averageSnr": NUM + (NULL,),
    "averageRssi": NUM + (NULL,), "averageSignal": NUM + (NULL,), "state": INT,
    "comState": INT, "lat": NUM + (NULL,), "lng": NUM + (NULL,), "location": OBJ + (NULL,),
    "computedLocation": OBJ + (NULL,), "lastComputedLocation": OBJ + (NULL,),
    "activationTime": INT + (NULL,), "creationTime": INT, "tokenType": STR + (NULL,),
    "tokenEnd": INT + (NULL,), "contractId": STR + (NULL,), "contract": OBJ + (NULL,),
    "preventRenewal": BOOL, "tokenRenewForbidden": BOOL, "activable": BOOL,
    "productCertificate": OBJ + (NULL,), "modemCertificate": OBJ + (NULL,),
    "prototype": BOOL, "satelliteCapable": BOOL, "repeater": BOOL,
    "sequenceNumber": INT + (NULL,), "trashSequenceNumber": INT + (NULL,),
    "lqi": INT + (NULL,), "unsubscriptionTime": INT + (NULL,), "createdBy": STR + (NULL,),
    "lastEditionTime": INT + (NULL,), "lastEditedBy": STR + (NULL,),
}
DEVICE_TYPE_V1 = {
    "id": STR, "name": STR, "description": STR, "group": OBJ, "keepAlive": INT,
    "alertEmail": STR, "payloadType": STR, "payloadConfig": STR, "downlinkMode": STR,
    "downlinkDataString": STR, "automaticRenewal": BOOL, "contract": OBJ + (NULL,),
    "creationTime": INT, "createdBy": STR + (NULL,), "lastEditionTime": INT,
    "lastEditedBy": STR + (NULL,),
}
GROUP_V1 = {
    "id": STR, "name": STR, "nameCI": STR, "description": STR, "type": INT + (NULL,),
    "timezone": STR + (NULL,), "path": LIST, "bssId": STR + (NULL,),
    "networkOperatorId": STR + (NULL,), "creationTime": INT,
}
USER_V1 = {
    "id": STR, "firstName": STR, "lastName": STR + (NULL,), "email": STR, "timezone": STR,
    "creationTime": INT, "lastLogin": INT + (NULL,), "userRoles": LIST, "locked": BOOL,
    "group": OBJ, "roles": LIST,
}
API_USER_V1 = {
    "id": STR, "login": STR, "name": STR, "timezone": STR + (NULL,), "group": OBJ,
    "creationTime": INT, "profiles": LIST, "roles": LIST,
}
CERTIFICATE_V1 = {
    "id": STR, "key": STR, "name": STR, "version": STR, "manufacturer": STR,
    "productName": STR, "revision": STR,
}
JOB_V1 = {"jobDone": BOOL, "total": INT, "status": OBJ}
JOB_STARTED_V1 = {"total": INT, "jobId": STR}
TOKEN_STATE_V1 = {
    "code": INT, "detailMessage": STR, "state": STR, "tokenType": STR + (NULL,),
    "contractId": STR + (NULL,), "automaticRenewal": BOOL, "tokenRenewForbidden": BOOL,
}
NETWORK_STATE_V1 = {"networkStatus": STR, "detailMessage": STR, "keepAlive": INT}
ERROR = {"message": STR, "errors": LIST}

# Every route of `roost api routes` -> the test below that sends its v1 body.
V1_CASES = {
    "GET /api/devicetypes": "test_device_types",
    "POST /api/devicetypes/create": "test_device_types",
    "POST /api/devicetypes/edit": "test_device_types",
    "GET /api/devicetypes/{id}": "test_device_types",
    "DELETE /api/devicetypes/{id}": "test_device_types",
    "GET /api/devicetypes/{id}/disengage": "test_device_types",
    "GET /api/devicetypes/{id}/devices": "test_devices",
    "GET /api/devicetypes/{id}/positions": "test_devices",
    "POST /api/devicetypes/{id}/devices/bulk/create/async": "test_bulk_jobs",
    "GET /api/devicetypes/{id}/devices/bulk/create/async/{jobId}": "test_bulk_jobs",
    "POST /api/devicetypes/{id}/devices/bulk/create/series": "test_bulk_jobs",
    "GET /api/jobs/{jobId}": "test_bulk_jobs",
    "POST /api/devices/bulk/edit": "test_bulk_jobs",
    "GET /api/devices/bulk/edit/{jobId}": "test_bulk_jobs",
    "GET /api/devices": "test_devices",
    "POST /api/devices/create": "test_devices",
    "POST /api/devices/edit": "test_devices",
    "GET /api/devices/{id}": "test_devices",
    "DELETE /api/devices/{id}": "test_devices",
    "GET /api/devices/{id}/token-state": "test_devices",
    "GET /api/devices/{id}/networkstate": "test_devices",
    "POST /api/credentials/import": "test_credentials_import",
    "GET /api/product-certificates": "test_product_certificates",
    "POST /api/product-certificates/import": "test_product_certificates",
    "GET /api/product-certificates/{key}": "test_product_certificates",
    "GET /api/groups": "test_groups",
    "POST /api/groups/create": "test_groups",
    "POST /api/groups/edit": "test_groups",
    "GET /api/groups/{id}": "test_groups",
    "DELETE /api/groups/{id}": "test_groups",
    "GET /api/api-users": "test_api_users",
    "POST /api/api-users/create": "test_api_users",
    "GET /api/api-users/{login}": "test_api_users",
    "DELETE /api/api-users/{login}": "test_api_users",
    "GET /api/users": "test_users_and_sessions",
    "POST /api/users/create": "test_users_and_sessions",
    "POST /api/users/edit": "test_users_and_sessions",
    "POST /api/users/set-password": "test_users_and_sessions",
    "GET /api/users/{id}": "test_users_and_sessions",
    "DELETE /api/users/{id}": "test_users_and_sessions",
    "POST /api/users/{id}/invite": "test_users_and_sessions",
    "POST /api/session/login": "test_users_and_sessions",
    "GET /api/session": "test_users_and_sessions",
    "POST /api/session/logout": "test_users_and_sessions",
    "POST /api/session/password": "test_users_and_sessions",
    "GET /api/stations": "test_stations_and_messages",
    "POST /api/devicetypes/{id}/callbacks/new": "test_callbacks",
    "GET /api/devicetypes/{id}/callbacks": "test_callbacks",
    "POST /api/devicetypes/{id}/callbacks/{cid}/delete": "test_callbacks",
    "POST /api/devicetypes/{id}/callbacks/{cid}/enable": "test_callbacks",
    "POST /api/devicetypes/{id}/callbacks/{cid}/downlink": "test_callbacks",
    "GET /api/callbacks/messages/error": "test_callbacks",
    "POST /api/stations/create": "test_stations_and_messages",
    "POST /api/stations/edit": "test_stations_and_messages",
    "GET /api/stations/{id}": "test_stations_and_messages",
    "DELETE /api/stations/{id}": "test_stations_and_messages",
    "POST /api/ingest/uplink": "test_stations_and_messages",
    "POST /api/ingest/sigfox-callback": "test_stations_and_messages",
    "GET /api/devices/{id}/messages": "test_stations_and_messages",
    "GET /api/devicetypes/{id}/messages": "test_stations_and_messages",
    "POST /api/ingest/service": "test_service_statistics_and_locations",
    "POST /api/ingest/sigfox-service-callback": "test_service_statistics_and_locations",
    "GET /api/devices/{id}/locations": "test_service_statistics_and_locations",
    "GET /api/devices/{id}/stats": "test_service_statistics_and_locations",
    "GET /api/devicetypes/{id}/stats": "test_service_statistics_and_locations",
    "GET /api/devices/{id}/messages/metric": "test_service_statistics_and_locations",
    "GET /api/devices/{id}/consumptions/{year}": "test_service_statistics_and_locations",
    "GET /api/devices/{id}/status/error": "test_events",
    "GET /api/devices/{id}/status/warn": "test_events",
    "GET /api/devicetypes/{id}/status/error": "test_events",
    "GET /api/devicetypes/{id}/status/warn": "test_events",
    "GET /api/devices/{id}/events/config": "test_events",
    "POST /api/devices/{id}/events/config/new": "test_events",
    "POST /api/devices/{id}/events/config/{cid}/delete": "test_events",
    "GET /api/devicetypes/{id}/events/config": "test_events",
    "POST /api/devicetypes/{id}/events/config/new": "test_events",
    "POST /api/devicetypes/{id}/events/config/{cid}/delete": "test_events",
    "GET /api/groups/{id}/events/config": "test_events",
    "POST /api/groups/{id}/events/config/new": "test_events",
    "POST /api/groups/{id}/events/config/{cid}/delete": "test_events",
}

# A message as the Sigfox API v1 writes it (snr a string), with Roost's own fields beside.
MESSAGE_V1 = {
    "device": STR, "time": INT, "data": STR, "seqNumber": INT, "nbFrames": INT, "snr": STR,
    "avgSnr": STR,
    "rinfos": LIST, "linkQuality": STR, "computedLocation": OBJ + (NULL,),
    "deviceTypeId": STR, "station": STR, "rssi": NUM, "ack": BOOL,
}
CALLBACK_V1 = {
    "id": STR, "channel": STR, "callbackType": INT, "callbackSubtype": INT, "url": STR,
    "httpMethod": STR, "headers": OBJ, "contentType": STR, "bodyTemplate": STR,
    "sendDuplicate": BOOL, "sendSni": BOOL, "payloadConfig": STR, "enabled": BOOL, "dead": BOOL,
    "downlinkHook": BOOL,
}
EVENT_CONFIG = {"id": STR, "scope": STR, "target": STR, "kinds": LIST, "emails": LIST,
                "creationTime": INT}
RINFO_V1 = {"tap": STR, "delay": INT, "lat": NUM + (NULL,), "lng": NUM + (NULL,)}
STATION = {"id": STR, "name": STR, "group": OBJ, "lat": NUM + (NULL,), "lng": NUM + (NULL,),
           "creationTime": INT}


def multipart(fields):
    """fields: [(name, bytes)] -> (content type, body)."""
    boundary = "roost-" + uuid.uuid4().hex
    body = b""
    for name, data in fields:
        body += b"--" + boundary.encode() + b"\r\n"
        body += ('Content-Disposition: form-data; name="%s"; filename="%s"\r\n' %
                 (name, name)).encode()
        body += b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
    body += b"--" + boundary.encode() + b"--\r\n"
    return "multipart/form-data; boundary=" + boundary, body


class SigfoxV1Test(RoleCalls, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.site = Site("sqlite")
        cls.server = cls.site.serve()
        cls.users = cls.site.api_users(("ADMIN", "DEVICE_MANAGER", "READER", "FACTORY"))
        cls.pairs = cls.site.issue_and_import(20, "700000")

    @classmethod
    def tearDownClass(cls):
        cls.site.close()

    # --- helpers -----------------------------------------------------------

    def refused(self, role, method, path, body, field, fragment, status=400, **kw):
        code, _, err = self.call(role, method, path, body, **kw)
        self.assertEqual(code, status, err)
        self.assertShape(err, ERROR)
        if field is not None:
            self.assertIn(field, [e.get("field") for e in err["errors"]], err)
        self.assertIn(fragment, err["message"])
        return err

    def assertShape(self, obj, shape):
        self.assertIsInstance(obj, dict)
        for field, types in shape.items():
            self.assertIn(field, obj, "v1 field %r missing from %r" % (field, obj))
            value = obj[field]
            # bool is an int in Python; a v1 integer is never a boolean.
            if isinstance(value, bool) and bool not in types:
                self.fail("%s: %r is a boolean, expected %r" % (field, value, types))
            self.assertIsInstance(value, types, "%s: %r" % (field, value))

    def assertPage(self, page, shape):
        self.assertIsInstance(page["data"], list)
        self.assertIsInstance(page["paging"], dict)
        self.assertTrue(page["data"], "an empty page checks nothing")
        for item in page["data"]:
            self.assertShape(item, shape)

    def new_type(self, name, **fields):
        return self.ok("DEVICE_MANAGER", "POST", "/api/devicetypes/create",
                       {"name": name, **fields})["id"]

    def wait_job(self, path):
        deadline = time.time() + 60
        while True:
            st = self.ok("DEVICE_MANAGER", "GET", path)
            if st["jobDone"] or time.time() > deadline:
                return st
            time.sleep(0.05)

    # --- coverage ----------------------------------------------------------

    def test_every_route_has_a_v1_case(self):
        r = run(["api", "routes"], timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        routes = {"%s %s" % (x["method"], x["path"]) for x in json.loads(r.stdout)}
        # LoRaWAN provisioning and what the web console needs have no Sigfox API v1
        # counterpart: their routes and shapes are Roost's own (docs/api.md), tested in
        # test_api_provisioning.py, test_api_console*.py and test_api_codec.py.
        roost_own = ("/api/provisioning/", "/api/console/", "/api/codec/")
        routes = {r for r in routes if not r.split(" ", 1)[1].startswith(roost_own)}
        # Live message streams (server-sent events for the console) have none either:
        # tested in test_api_live_messages.py.
        routes = {r for r in routes if not r.endswith("/messages/live")}
        # Callback edit is v2's PUT /api/devicetypes/{id}/callbacks/{callbackId} in the
        # Sigfox API; Roost's own POST …/edit is tested in test_api_callback_edit.py.
        routes = {r for r in routes if not r.endswith("/callbacks/{cid}/edit")}
        # A single device's disengage is Roost's own (v1 disengages a whole device type):
        # tested in test_api_pipeline.py.
        routes.discard("POST /api/devices/{id}/disengage")
        self.assertEqual(routes - set(V1_CASES), set(), "routes without a v1 case")
        self.assertEqual(set(V1_CASES) - routes, set(), "v1 cases of routes that do not exist")
        for name in set(V1_CASES.values()):
            self.assertTrue(callable(getattr(self, name, None)), name)

    # --- stations and messages ----------------------------------------------

    def test_stations_and_messages(self):
        tid = self.new_type("v1 messages", payloadType=3, payloadConfig="temp::uint:8")
        dev, pac = self.pairs[19]
        device = self.ok("ADMIN", "POST", "/api/devices/create",
                         {"id": dev, "pac": pac, "name": "v1 messages", "type": tid})["id"]
        station = self.ok("ADMIN", "POST", "/api/stations/create",
                          {"id": "0a1b", "name": "roof", "lat": 43.6, "lng": 1.44}, expect=201)
        self.assertShape(station, STATION)
        self.assertEqual(station["id"], "0A1B")
        self.assertPage(self.ok("READER", "GET", "/api/stations"), STATION)
        report = {"device": device, "seqNumber": 1, "data": "15", "time": 1700000000000,
                  "station": "0A1B", "rssi": -118.5, "snr": 12.25}
        self.assertEqual(self.ok("ADMIN", "POST", "/api/ingest/uplink", report),
                         {"result": "accepted"})
        # What a Sigfox Cloud DATA callback sends (form fields, time in seconds).
        form = ("device=%s&time=1700000060&data=16&seqNumber=2&station=0A1B&rssi=-120.00"
                "&snr=9.50&ack=false" % device)
        self.assertEqual(self.ok("ADMIN", "POST", "/api/ingest/sigfox-callback", raw=form,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"}),
                         {"result": "accepted"})
        for path in ("/api/devices/%s/messages" % device, "/api/devicetypes/%s/messages" % tid):
            page = self.ok("READER", "GET", path)
            self.assertPage(page, MESSAGE_V1)
            m = page["data"][1]
            self.assertEqual(m["snr"], "12.25")
            self.assertEqual(m["decoded"], {"temp": 21})
            self.assertEqual(page["data"][0]["time"], 1700000060000)
            self.assertEqual(page["data"][0]["decoded"], {"temp": 22})
            self.assertShape(m["rinfos"][0], RINFO_V1)
            self.assertEqual(m["rinfos"][0]["tap"], "0A1B")
        edited = self.ok("ADMIN", "POST", "/api/stations/edit", {"id": "0A1B", "name": "mast"})
        self.assertShape(edited, STATION)
        self.assertEqual(self.ok("READER", "GET", "/api/stations/0a1b"), edited)
        self.ok("ADMIN", "DELETE", "/api/stations/0A1B", expect=204)

    def test_service_statistics_and_locations(self):
        tid = self.new_type("v1 statistics")
        dev, pac = self.pairs[17]
        device = self.ok("ADMIN", "POST", "/api/devices/create",
                         {"id": dev, "pac": pac, "name": "v1 statistics", "type": tid})["id"]
        self.ok("ADMIN", "POST", "/api/stations/create",
                {"id": "0C1B", "name": "mast", "lat": 43.6, "lng": 1.44}, expect=201)
        now = int(time.time() * 1000)
        report = {"device": device, "seqNumber": 1, "data": "15", "time": now - 1000,
                  "station": "0C1B", "rssi": -118.5, "snr": 12.25}
        self.assertEqual(self.ok("ADMIN", "POST", "/api/ingest/uplink", report),
                         {"result": "accepted"})
        status = {"device": device, "type": "STATUS", "time": now, "station": "0C1B",
                  "temp": 19.5, "batt": 3.3}
        self.assertEqual(self.ok("ADMIN", "POST", "/api/ingest/service", status),
                         {"result": "accepted"})
        # The Sigfox API v1 shapes: metric and consumptions.
        metric = self.ok("READER", "GET", "/api/devices/%s/messages/metric" % device)
        self.assertEqual(metric, {"lastDay": 1, "lastWeek": 1, "lastMonth": 1})
        year = time.gmtime(now // 1000).tm_year
        cons = self.ok("READER", "GET", "/api/devices/%s/consumptions/%d" % (device, year))
        self.assertEqual(set(cons), {"consumption"})
        self.assertEqual(set(cons["consumption"]), {"id", "consumptions"})
        self.assertIn(len(cons["consumption"]["consumptions"]), (365, 366))
        self.assertEqual(set(cons["consumption"]["consumptions"][0]),
                         {"frameCount", "downlinkFrameCount"})
        for path in ("/api/devices/%s/stats" % device, "/api/devicetypes/%s/stats" % tid):
            stats = self.ok("READER", "GET", path)
            self.assertEqual(len(stats["data"]), 1, stats)
            self.assertEqual(stats["data"][0]["messages"], 1)
            self.assertAlmostEqual(stats["data"][0]["temperature"], 19.5)
        locations = self.ok("READER", "GET", "/api/devices/%s/locations" % device)
        self.assertEqual(len(locations["data"]), 1)
        self.assertEqual(locations["data"][0]["source"], "computed")
        self.assertIn("paging", locations)

    def test_callbacks(self):
        tid = self.new_type("v1 callbacks")
        base = "/api/devicetypes/%s/callbacks" % tid
        # A Sigfox API v1 client's body: integer codes, headers as an object.
        created = self.ok("DEVICE_MANAGER", "POST", base + "/new", [
            {"channel": "URL", "callbackType": 0, "callbackSubtype": 2,
             "url": "http://example.com/up/{device}", "httpMethod": "POST",
             "headers": {"X-Api-Key": "k"}, "contentType": "application/json",
             "bodyTemplate": "{\"d\":\"{data}\"}", "sendDuplicate": False, "sendSni": False,
             "payloadConfig": "", "enabled": True},
            {"channel": 0, "callbackType": 0, "callbackSubtype": 3,
             "url": "http://example.com/bidir?id={device}", "httpMethod": "GET"}])
        ids = [c["id"] for c in created["data"]]
        self.assertEqual(len(ids), 2)
        listed = self.ok("READER", "GET", base)["data"]
        for c in listed:
            self.assertShape(c, CALLBACK_V1)
        by_id = {c["id"]: c for c in listed}
        # A READER sees which headers are sent, not their values (they carry API keys).
        self.assertEqual(by_id[ids[0]]["headers"], {"X-Api-Key": ""})
        managed = {c["id"]: c for c in self.ok("DEVICE_MANAGER", "GET", base)["data"]}
        self.assertEqual(managed[ids[0]]["headers"], {"X-Api-Key": "k"})
        self.assertEqual((by_id[ids[1]]["channel"], by_id[ids[1]]["callbackSubtype"]), ("URL", 3))
        # As Sigfox's own v1 examples send it: no TLS over http://, so no SNI either.
        self.assertFalse(by_id[ids[0]]["sendSni"])
        # An https:// callback copied from the Sigfox Cloud with sendSni false is taken; the
        # host name is sent anyway, and the list says so.
        for send_sni in (True, False):
            https = self.ok("DEVICE_MANAGER", "POST", base + "/new",
                            [{"url": "https://example.com/up/{device}", "sendSni": send_sni}])
            https_id = https["data"][0]["id"]
            self.assertTrue({c["id"]: c for c in self.ok("READER", "GET", base)["data"]}
                            [https_id]["sendSni"])
            self.ok("DEVICE_MANAGER", "POST", base + "/%s/delete" % https_id, expect=204)
        self.refused("DEVICE_MANAGER", "POST", base + "/new", [{"url": "http://x/{nope}"}],
                     None, "unknown variable")
        self.ok("DEVICE_MANAGER", "POST", base + "/%s/enable?enabled=false" % ids[0], expect=204)
        self.ok("DEVICE_MANAGER", "POST", base + "/%s/downlink" % ids[1], expect=204)
        self.refused("DEVICE_MANAGER", "POST", base + "/%s/downlink" % ids[0], None, None,
                     "BIDIR")
        listed = {c["id"]: c for c in self.ok("READER", "GET", base)["data"]}
        self.assertFalse(listed[ids[0]]["enabled"])
        self.assertTrue(listed[ids[1]]["downlinkHook"])
        self.ok("DEVICE_MANAGER", "POST", base + "/%s/delete" % ids[0], expect=204)
        self.assertEqual([c["id"] for c in self.ok("READER", "GET", base)["data"]], [ids[1]])
        errors = self.ok("READER", "GET", "/api/callbacks/messages/error")
        self.assertIsInstance(errors["data"], list)
        self.assertIsInstance(errors["paging"], dict)

    # --- events ------------------------------------------------------------

    def test_events(self):
        tid = self.new_type("v1 events")
        dev, pac = self.pairs[18]
        device = self.ok("ADMIN", "POST", "/api/devices/create",
                         {"id": dev, "pac": pac, "name": "v1 events", "type": tid})["id"]
        group = self.ok("READER", "GET", "/api/devicetypes/" + tid)["group"]["id"]
        made = []
        for base in ("/api/devices/%s/events/config" % device,
                     "/api/devicetypes/%s/events/config" % tid,
                     "/api/groups/%s/events/config" % group):
            # Kinds by name or by code.
            c = self.ok("ADMIN", "POST", base + "/new",
                        {"kinds": ["COMMUNICATION_LOSS", 1], "emails": ["ops@example.test"]},
                        expect=201)
            self.assertShape(c, EVENT_CONFIG)
            self.assertEqual(c["kinds"], ["COMMUNICATION_LOSS", "COMMUNICATION_RESTORED"])
            self.assertEqual([x["id"] for x in self.ok("READER", "GET", base)["data"]], [c["id"]])
            self.refused("ADMIN", "POST", base + "/new", {"kinds": [0], "emails": ["nope"]},
                         "emails[0]", "local@domain")
            made.append((base, c["id"]))
        for path in ("/api/devices/%s/status/error" % device,
                     "/api/devices/%s/status/warn" % device,
                     "/api/devicetypes/%s/status/error" % tid,
                     "/api/devicetypes/%s/status/warn" % tid):
            page = self.ok("READER", "GET", path)
            self.assertEqual(page, {"data": [], "paging": {}})
        for base, cid in made:
            self.ok("ADMIN", "POST", "%s/%s/delete" % (base, cid), expect=204)
            self.assertEqual(self.ok("READER", "GET", base)["data"], [])

    # --- device types ------------------------------------------------------

    def test_device_types(self):
        # payloadType 3 = Custom grammar, downlinkMode 1 = CALLBACK: the Sigfox codes.
        created = self.ok("DEVICE_MANAGER", "POST", "/api/devicetypes/create", {
            "name": "v1 type", "description": "from a v1 client", "keepAlive": 3600,
            "alertEmail": "ops@example.test", "payloadType": 3, "payloadConfig": "t::uint:8",
            "downlinkMode": 1, "downlinkDataString": "", "automaticRenewal": True})
        type_id = created["id"]
        got = self.ok("READER", "GET", "/api/devicetypes/" + type_id)
        self.assertShape(got, DEVICE_TYPE_V1)
        self.assertEqual((got["payloadType"], got["downlinkMode"]), ("Custom", "CALLBACK"))
        self.assertIsNone(got["contract"])

        # Codes and names mix; 2 = Regular (raw payload) is Roost's None, 0 = DIRECT.
        edited = self.ok("DEVICE_MANAGER", "POST", "/api/devicetypes/edit",
                         {"id": type_id, "payloadType": 2, "downlinkMode": 0})
        self.assertShape(edited, DEVICE_TYPE_V1)
        self.assertEqual((edited["payloadType"], edited["downlinkMode"]), ("None", "DIRECT"))
        edited = self.ok("DEVICE_MANAGER", "POST", "/api/devicetypes/edit",
                         {"id": type_id, "payloadType": 5, "downlinkMode": 2})
        self.assertEqual((edited["payloadType"], edited["downlinkMode"]), ("String", "NONE"))
        edited = self.ok("DEVICE_MANAGER", "POST", "/api/devicetypes/edit",
                         {"id": type_id, "payloadType": "None", "downlinkMode": "CALLBACK"})
        self.assertEqual((edited["payloadType"], edited["downlinkMode"]), ("None", "CALLBACK"))

        # Unknown codes name the field and list what is accepted; known but unsupported ones
        # say so. None of them changes the type.
        self.refused("DEVICE_MANAGER", "POST", "/api/devicetypes/edit",
                     {"id": type_id, "downlinkMode": 9}, "downlinkMode",
                     "DIRECT (0), CALLBACK (1) or NONE (2)")
        self.refused("DEVICE_MANAGER", "POST", "/api/devicetypes/edit",
                     {"id": type_id, "downlinkMode": 3}, "downlinkMode", "MANAGED (3)")
        self.refused("DEVICE_MANAGER", "POST", "/api/devicetypes/create",
                     {"name": "x", "payloadType": 6}, "payloadType",
                     "None (2), String (5) or Custom (3)")
        self.refused("DEVICE_MANAGER", "POST", "/api/devicetypes/create",
                     {"name": "x", "payloadType": 4}, "payloadType", "Geolocation (4)")
        self.assertEqual(self.ok("READER", "GET", "/api/devicetypes/" + type_id)["downlinkMode"],
                         "CALLBACK")

        self.assertPage(self.ok("READER", "GET", "/api/devicetypes"), DEVICE_TYPE_V1)
        self.assertShape(self.ok("DEVICE_MANAGER", "GET",
                                 "/api/devicetypes/%s/disengage" % type_id), {"disengaged": INT})
        self.ok("DEVICE_MANAGER", "DELETE", "/api/devicetypes/" + type_id, expect=204)
        self.refused("READER", "GET", "/api/devicetypes/" + type_id, None, None, "", status=404)

    # --- devices -----------------------------------------------------------

    def test_devices(self):
        type_id = self.new_type("v1 devices", downlinkMode=0, payloadType=2)
        other = self.new_type("v1 devices, moved")
        dev, pac = self.pairs[0]
        created = self.ok("DEVICE_MANAGER", "POST", "/api/devices/create", {
            "id": dev, "pac": pac, "name": "v1 device", "type": type_id, "lat": 43.6,
            "lng": 1.44, "productCertificate": "P_0004_D356_03"})
        self.assertShape(created, DEVICE_V1)
        self.assertEqual(created["location"], {"lat": 43.6, "lng": 1.44})
        self.assertEqual(created["deviceType"], {"id": type_id})
        self.assertEqual(created["comState"], 6)  # NOT_SEEN: no message yet
        self.assertEqual(created["state"], 0)
        self.assertIsNone(created["last"])
        self.assertIsNone(created["tokenEnd"])
        self.assertIsInstance(created["pac"], str)

        # A device registered without a location: the v1 empty values.
        dev2, pac2 = self.pairs[1]
        bare = self.ok("DEVICE_MANAGER", "POST", "/api/devices/create",
                       {"id": dev2, "pac": pac2, "name": "bare", "type": type_id})
        self.assertShape(bare, DEVICE_V1)
        for field in ("lat", "lng", "location", "productCertificate", "activationTime"):
            self.assertIsNone(bare[field], field)

        edited = self.ok("DEVICE_MANAGER", "POST", "/api/devices/edit", {
            "id": dev, "name": "v1 device 2", "lat": 44.2, "lng": 4.3, "deviceTypeId": other,
            "tokenRenewForbidden": True, "productCertificate": {"key": "P_0004_D356_04"}})
        self.assertShape(edited, DEVICE_V1)
        self.assertTrue(edited["preventRenewal"])
        self.assertEqual(edited["deviceType"], {"id": other})

        # READER sees every v1 field; only the current PAC is withheld.
        got = self.ok("READER", "GET", "/api/devices/" + created["id"])
        self.assertShape(got, DEVICE_V1)
        self.assertNotIn("pac", got)
        self.assertPage(self.ok("READER", "GET", "/api/devices"), DEVICE_V1)
        self.assertPage(self.ok("READER", "GET", "/api/devicetypes/%s/devices" % type_id),
                        DEVICE_V1)
        # Roost's own map read (no v1 counterpart): the moved device is on its new type's map.
        self.assertEqual(self.ok("READER", "GET", "/api/devicetypes/%s/positions" % other),
                         {"total": 1, "bounds": {"south": 44.2, "west": 4.3, "north": 44.2,
                                                 "east": 4.3},
                          "devices": [{"id": created["id"], "name": "v1 device 2", "lat": 44.2,
                                       "lng": 4.3}],
                          "cells": []})

        token = self.ok("READER", "GET", "/api/devices/%s/token-state" % dev)
        self.assertShape(token, TOKEN_STATE_V1)
        self.assertIsNone(token["tokenType"])
        self.assertShape(self.ok("READER", "GET", "/api/devices/%s/networkstate" % dev),
                         NETWORK_STATE_V1)

        self.ok("DEVICE_MANAGER", "DELETE", "/api/devices/" + dev, expect=204)
        self.refused("READER", "GET", "/api/devices/" + dev, None, None, "", status=404)

    # --- jobs --------------------------------------------------------------

    def test_bulk_jobs(self):
        type_id = self.new_type("v1 bulk", downlinkMode=2)
        ids = self.pairs[4:8]
        started = self.ok("DEVICE_MANAGER", "POST",
                          "/api/devicetypes/%s/devices/bulk/create/async" % type_id,
                          {"prefix": "test-device-",
                           "ids": [{"id": d, "pac": p} for d, p in ids],
                           "productCertificate": "P 0004 D356 03"}, expect=202)
        self.assertShape(started, JOB_STARTED_V1)
        status = self.wait_job("/api/devicetypes/%s/devices/bulk/create/async/%s"
                               % (type_id, started["jobId"]))
        self.assertShape(status, JOB_V1)
        self.assertEqual(status["status"]["success"], 4, status)
        self.assertShape(self.ok("FACTORY", "GET", "/api/jobs/" + started["jobId"]), JOB_V1)

        series = "id;pac\n" + "".join("%s;%s\n" % p for p in self.pairs[8:10])
        started = self.ok("DEVICE_MANAGER", "POST",
                          "/api/devicetypes/%s/devices/bulk/create/series?prefix=s-" % type_id,
                          raw=series, headers={"Content-Type": "text/plain"}, expect=202)
        self.assertShape(started, JOB_STARTED_V1)
        self.assertEqual(self.wait_job("/api/jobs/" + started["jobId"])["status"]["success"], 2)

        # The body of the v1 documentation's bulk edit: a bare array.
        edit = [{"id": ids[0][0], "name": "Device 1 name", "lat": 44.238767642997374,
                 "lng": 4.296564571559429, "deviceTypeId": type_id, "tokenRenewForbidden": True},
                {"id": ids[1][0], "name": "Device 2 name", "lat": 45.167965154987326,
                 "lng": 3.998845362154745}]
        started = self.ok("DEVICE_MANAGER", "POST", "/api/devices/bulk/edit", edit, expect=202)
        self.assertShape(started, JOB_STARTED_V1)
        status = self.wait_job("/api/devices/bulk/edit/" + started["jobId"])
        self.assertShape(status, JOB_V1)
        self.assertEqual(status["status"]["success"], 2, status)
        got = self.ok("READER", "GET", "/api/devices/" + ids[0][0].lstrip("0"))
        self.assertTrue(got["preventRenewal"])
        self.assertEqual(got["name"], "Device 1 name")

    # --- credentials and certificates --------------------------------------

    def test_credentials_import(self):
        out = os.path.join(self.site.dir, "v1-batch")
        run_ok(["cra", "issue", "--count", "3", "--first-id", "7A0000", "--enc-key", KEY,
                "--out-dir", out])
        with open(os.path.join(out, "id_key_encrypted.bin"), "rb") as f:
            id_key = f.read()
        with open(os.path.join(out, "id_pac.txt"), "rb") as f:
            id_pac = f.read()
        ctype, body = multipart([("encryptionKey", KEY.encode()), ("idKey", id_key),
                                 ("idPac", id_pac)])
        report = self.ok("FACTORY", "POST", "/api/credentials/import", raw=body,
                         headers={"Content-Type": ctype})
        self.assertShape(report, {"imported": INT, "unchanged": INT, "skipped": INT,
                                  "refused": LIST})
        self.assertEqual(report["imported"], 3)

    def test_product_certificates(self):
        imported = self.ok("DEVICE_MANAGER", "POST", "/api/product-certificates/import", [
            {"key": "P 0004 D356 05", "manufacturer": "Acme", "productName": "Tracker",
             "revision": "05"}])
        self.assertEqual(imported, {"imported": 1})
        got = self.ok("FACTORY", "GET", "/api/product-certificates/P_0004_D356_05")
        self.assertShape(got, CERTIFICATE_V1)
        self.assertEqual((got["id"], got["name"], got["version"]),
                         ("P_0004_D356_05", "Tracker", "05"))
        self.assertPage(self.ok("READER", "GET", "/api/product-certificates?search=acme"),
                        CERTIFICATE_V1)

    # --- accounts ----------------------------------------------------------

    def test_groups(self):
        root = self.ok("ADMIN", "GET", "/api/groups")["data"][0]["id"]
        created = self.ok("ADMIN", "POST", "/api/groups/create",
                          {"name": "Acme Field", "description": "v1", "parentId": root})
        got = self.ok("READER", "GET", "/api/groups/" + created["id"])
        self.assertShape(got, GROUP_V1)
        self.assertEqual(got["nameCI"], "acme field")
        self.assertIsNone(got["type"])
        edited = self.ok("ADMIN", "POST", "/api/groups/edit",
                         {"id": created["id"], "name": "Acme North"})
        self.assertShape(edited, GROUP_V1)
        self.assertEqual(edited["nameCI"], "acme north")
        self.assertPage(self.ok("READER", "GET", "/api/groups"), GROUP_V1)
        self.ok("ADMIN", "DELETE", "/api/groups/" + created["id"], expect=204)

    def test_api_users(self):
        made = self.ok("ADMIN", "POST", "/api/api-users/create",
                       {"name": "v1 access", "roles": ["READER"]})
        self.assertShape(made, {"login": STR, "password": STR})
        got = self.ok("ADMIN", "GET", "/api/api-users/" + made["login"])
        self.assertShape(got, API_USER_V1)
        self.assertEqual(got["id"], made["login"])
        self.assertEqual(got["profiles"], [{"id": "READER", "name": "READER"}])
        self.assertNotIn(made["password"], json.dumps(got))
        self.assertPage(self.ok("ADMIN", "GET", "/api/api-users"), API_USER_V1)
        self.ok("ADMIN", "DELETE", "/api/api-users/" + made["login"], expect=204)

    def test_users_and_sessions(self):
        made = self.ok("ADMIN", "POST", "/api/users/create", {
            "email": "v1.user@example.test", "name": "Ann Smith", "timezone": "Europe/Paris",
            "roles": ["READER"]})
        self.assertShape(made, {"id": STR, "emailSent": BOOL})
        got = self.ok("ADMIN", "GET", "/api/users/" + made["id"])
        self.assertShape(got, USER_V1)
        self.assertEqual(got["firstName"], "Ann Smith")
        self.assertEqual(got["userRoles"][0]["roles"], [{"id": "READER", "name": "READER"}])
        self.assertPage(self.ok("ADMIN", "GET", "/api/users"), USER_V1)

        password = "a long v1 password"
        edited = self.ok("ADMIN", "POST", "/api/users/edit", {
            "id": made["id"], "name": "Ann Jones", "password": password,
            "currentPassword": self.users["ADMIN"]["password"]})
        self.assertShape(edited, USER_V1)
        self.assertEqual(edited["firstName"], "Ann Jones")
        # No SMTP on this server, and no link: the refusals have the error shape.
        self.refused("ADMIN", "POST", "/api/users/%s/invite" % made["id"], None, None, "",
                     status=409)
        self.refused(None, "POST", "/api/users/set-password",
                     {"token": "0" * 64, "password": password}, "token", "token")

        status, head, session = self.call(None, "POST", "/api/session/login",
                                          {"email": "v1.user@example.test",
                                           "password": password})
        self.assertEqual(status, 200, session)
        self.assertShape(session["user"], USER_V1)
        cookie = head["Set-Cookie"].split(";")[0]
        as_user = {"Cookie": cookie, "X-CSRF-Token": session["csrfToken"]}
        status, _, current = self.call(None, "GET", "/api/session", headers=as_user)
        self.assertEqual(status, 200, current)
        self.assertShape(current["user"], USER_V1)
        status, _, current = self.call("ADMIN", "GET", "/api/session")
        self.assertShape(current["apiUser"], API_USER_V1)
        status, _, changed = self.call(None, "POST", "/api/session/password",
                                       {"currentPassword": password,
                                        "password": password + " 2"}, headers=as_user)
        self.assertEqual(status, 200, changed)
        self.assertShape(changed, USER_V1)
        status, _, _ = self.call(None, "POST", "/api/session/logout", headers=as_user)
        self.assertEqual(status, 204)
        self.ok("ADMIN", "DELETE", "/api/users/" + made["id"], expect=204)


if __name__ == "__main__":
    unittest.main()
