"""Stations are read, edited and deleted over real HTTP, on SQLite and PostgreSQL: an edit
renames a station or corrects its position (checked as at creation, never moving it to another
group); a deleted station's reports are refused, its messages keep it, and its id may be listed
again, in another group; a station deleted and listed again elsewhere behind this instance's
back (as another instance would) is not reported through by its former owner, although this
instance's cache still knows it as theirs.
"""

import threading
import time
import unittest

from roostsite import Client, ServedSite


class Stations(ServedSite):
    @classmethod
    def set_up_site(cls):
        cls.admin = cls.set_up_tenant(2, "5D0000")
        cls.tenant_admin = cls.client("ADMIN", group=cls.tenant, name="tenant admin")
        cls.station_client = cls.client("STATION", group=cls.tenant, name="tenant station")
        cls.reader_client = Client(cls.server, cls.reader)
        cls._clients.append(cls.reader_client)

    def report(self, device, seq, station):
        return {"device": device, "seqNumber": seq, "data": "0102",
                "time": int(time.time() * 1000) - 1000, "station": station,
                "rssi": -110.0, "snr": 8.0}

    def ingest(self, device, seq, station):
        return self.station_client.ok("POST", "/api/ingest/uplink",
                                      self.report(device, seq, station))

    def test_a_station_is_read_and_edited_in_place(self):
        created = self.tenant_admin.ok("POST", "/api/stations/create",
                                       {"id": "0e1a", "name": "roof", "lat": 43.6, "lng": 1.44},
                                       expect=201)
        self.assertEqual(created["id"], "0E1A")
        got = self.reader_client.ok("GET", "/api/stations/0e1a")
        self.assertEqual(got, created)
        edited = self.tenant_admin.ok("POST", "/api/stations/edit",
                                      {"id": "0E1A", "name": "mast", "lat": 44.0, "lng": 2.5})
        self.assertEqual((edited["name"], edited["lat"], edited["lng"]), ("mast", 44.0, 2.5))
        self.assertEqual((edited["group"], edited["creationTime"]),
                         (created["group"], created["creationTime"]))
        # Only what is given changes; null (both) takes the position away.
        renamed = self.tenant_admin.ok("POST", "/api/stations/edit", {"id": "0E1A", "name": "m2"})
        self.assertEqual((renamed["name"], renamed["lat"]), ("m2", 44.0))
        cleared = self.tenant_admin.ok("POST", "/api/stations/edit",
                                       {"id": "0E1A", "lat": None, "lng": None})
        self.assertEqual((cleared["lat"], cleared["lng"]), (None, None))
        # Refusals name the field and change nothing.
        for body, field in (({"id": "0E1A", "lat": 1.0}, "lng"),
                            ({"id": "0E1A", "lat": 91.0, "lng": 0.0}, "lat"),
                            ({"id": "0E1A", "name": ""}, "name"),
                            ({"id": "0E1A", "name": 7}, "name"),
                            ({"id": "0E1A", "group": self.other}, "group"),
                            ({"id": "0E1A", "colour": "red"}, "colour"),
                            ({"name": "x"}, "id")):
            status, _, res = self.tenant_admin.call("POST", "/api/stations/edit", body)
            self.assertEqual(status, 400, (body, res))
            self.assertIn(field, res["message"], (body, res))
        self.assertEqual(self.reader_client.ok("GET", "/api/stations/0E1A"), cleared)
        # Unknown, not visible, not an id: as if it did not exist, or 400.
        for path, expect in (("/api/stations/0E1F", 404), ("/api/stations/0E1AZ", 400)):
            status, _, res = self.reader_client.call("GET", path)
            self.assertEqual(status, expect, res)
        other_admin = self.client("ADMIN", group=self.other, name="other admin")
        status, _, res = other_admin.call("POST", "/api/stations/edit",
                                          {"id": "0E1A", "name": "stolen"})
        self.assertEqual(status, 404, res)
        self.assertEqual(res["message"], "station 0E1A not found")
        status, _, _ = self.reader_client.call("DELETE", "/api/stations/0E1A")
        self.assertEqual(status, 403)

    def test_concurrent_edits_of_name_and_position_both_hold(self):
        # Each edit applies its fields to the station as stored when it lands.
        self.tenant_admin.ok("POST", "/api/stations/create", {"id": "0E2F", "name": "first"},
                             expect=201)
        statuses = []

        def edits(client, bodies):
            for body in bodies:
                for _ in range(20):  # 409: it lost to the other edits too often; retried
                    status, _, _ = client.call("POST", "/api/stations/edit", {"id": "0E2F", **body})
                    statuses.append(status)
                    if status != 409:
                        break

        names = [{"name": "name %d" % i} for i in range(40)]
        places = [{"lat": 40.0 + i / 10, "lng": 1.0 + i / 10} for i in range(40)]
        threads = [threading.Thread(target=edits, args=(self.client("ADMIN", group=self.tenant), b))
                   for b in (names, places)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(set(statuses) - {200, 409}, set(), statuses)
        got = self.reader_client.ok("GET", "/api/stations/0E2F")
        self.assertEqual((got["name"], got["lat"], got["lng"]), ("name 39", 43.9, 4.9))

    def test_a_deleted_station_is_refused_and_its_id_may_be_listed_again(self):
        self.tenant_admin.ok("POST", "/api/stations/create", {"id": "0E2B", "name": "old"},
                             expect=201)
        device = self.devices[0]
        self.assertEqual(self.ingest(device, 1, "0E2B")["result"], "accepted")
        self.tenant_admin.ok("DELETE", "/api/stations/0e2b", expect=204)
        status, _, _ = self.reader_client.call("GET", "/api/stations/0E2B")
        self.assertEqual(status, 404)
        self.assertEqual(self.ingest(device, 2, "0E2B"),
                         {"result": "refused", "reason": "unknown_station"})
        messages = self.reader_client.ok("GET", "/api/devices/%s/messages" % device)["data"]
        self.assertEqual([(m["seqNumber"], m["rinfos"][0]["tap"]) for m in messages],
                         [(1, "0E2B")])
        status, _, _ = self.tenant_admin.call("DELETE", "/api/stations/0E2B")
        self.assertEqual(status, 404)
        # Listed again, by the operator in the other group.
        self.admin.ok("POST", "/api/stations/create",
                      {"id": "0E2B", "name": "new", "group": self.other}, expect=201)
        self.assertEqual(self.ingest(device, 3, "0E2B"),
                         {"result": "refused", "reason": "unknown_station"})

    def test_a_station_moved_behind_this_instances_back_is_refused_by_the_store(self):
        self.tenant_admin.ok("POST", "/api/stations/create", {"id": "0E3C", "name": "cached"},
                             expect=201)
        device = self.devices[1]
        self.assertEqual(self.ingest(device, 1, "0E3C")["result"], "accepted")  # cached now
        # Another instance deletes it and the operator lists it again in the root group, whose
        # stations hear every device: this instance's cache still says it is the tenant's.
        self.site.sql("UPDATE stations SET group_id = (SELECT parent FROM groups WHERE id = "
                      "'%s') WHERE id = '0E3C'" % self.tenant)
        self.assertEqual(self.ingest(device, 2, "0E3C"),
                         {"result": "refused", "reason": "unknown_station"})
        messages = self.reader_client.ok("GET", "/api/devices/%s/messages" % device)["data"]
        self.assertEqual([m["seqNumber"] for m in messages], [1])


class StationsSqliteTest(Stations, unittest.TestCase):
    ENGINE = "sqlite"


class StationsPostgresTest(Stations, unittest.TestCase):
    ENGINE = "postgres"


if __name__ == "__main__":
    unittest.main()
