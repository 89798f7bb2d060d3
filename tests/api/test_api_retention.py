"""Retention in `roost serve`, on SQLite and PostgreSQL: with a retention of one day, a
message older than that is purged in the background (with its deliveries) while a recent one
stays; on PostgreSQL the current and coming months have their own partitions, a month wholly
past the cutoff is dropped as a table and older rows outside the dated months are deleted.
Statistics follow their own, longer retention.
"""

import calendar
import time
import unittest

from roostsite import Client, Site


def one_device(site, server, first_id):
    """A root ADMIN client, a device type with one device, and station 0A1B: (admin, device)."""
    admin = Client(server, site.api_user("ADMIN", name="root admin"))
    tid = admin.ok("POST", "/api/devicetypes/create", {"name": "meters"})["id"]
    (dev, pac), = site.issue_and_import(1, first_id)
    device = admin.ok("POST", "/api/devices/create",
                      {"id": dev, "pac": pac, "name": "m", "type": tid})["id"]
    admin.ok("POST", "/api/stations/create", {"id": "0A1B", "name": "roof"}, expect=201)
    return admin, device


def report(device, seq, t):
    return {"device": device, "seqNumber": seq, "data": "01", "time": t, "station": "0A1B",
            "rssi": -120.0, "snr": 10.0}


def ingested_then_served(test, site, first_id, times, env):
    """Reports of one device at `times` (seq 1, 2, ...) taken by a server that keeps
    everything (a server with a retention refuses reports older than it), then a server with
    `env`: (a root ADMIN client of it, the device)."""
    server = site.serve()
    admin, device = one_device(site, server, first_id)
    for seq, t in enumerate(times, 1):
        test.assertEqual(admin.ok("POST", "/api/ingest/uplink", report(device, seq, t)),
                         {"result": "accepted"})
    admin.close()
    server.stop()
    server = site.serve(env=env)
    return Client(server, site.api_user("ADMIN", name="second admin")), device


class RetentionFlows:
    ENGINE = None

    def test_old_messages_are_purged_in_the_background(self):
        site = Site(self.ENGINE)
        try:
            now = int(time.time() * 1000)
            # 40 days back: on PostgreSQL that month is wholly past the cutoff whatever
            # today's date (a month ends at most 31 days after any time in it). A message of
            # the month that straddles the cutoff stays until the month is past (documented).
            old, recent = now - 40 * 86400000, now - 60000
            admin, device = ingested_then_served(
                self, site, "4B0000", (old, recent),
                {"ROOST_PIPELINE_RETENTION_DAYS": "1", "ROOST_PIPELINE_RETENTION_PERIOD_S": "1"})
            # Now a report that old is refused, naming its time: it would be purged at once.
            status, _, err = admin.call("POST", "/api/ingest/uplink", report(device, 3, old))
            self.assertEqual(status, 400, err)
            self.assertIn("time: is 40 days old; messages are kept 1 day", err["message"])
            deadline = time.time() + 20
            while True:
                seqs = [m["seqNumber"] for m in admin.list_all("/api/devices/%s/messages" % device)]
                if seqs == [2] or time.time() > deadline:
                    break
                time.sleep(0.2)
            # Purged whichever partition it sits in on PostgreSQL: a dated month wholly past
            # the cutoff is dropped, rows of the default partition are deleted (store tests
            # check both ways apart, and that the month straddling the cutoff is kept).
            self.assertEqual(seqs, [2])
            # Statistics are kept.
            stats = admin.ok("GET", "/api/devices/%s/stats?step=day&from=%d" % (device, old))
            self.assertEqual(sum(b["messages"] for b in stats["data"]), 2)
            admin.close()
        finally:
            site.close()


    def test_statistics_older_than_their_own_retention_are_purged(self):
        site = Site(self.ENGINE)
        try:
            now = int(time.time() * 1000)
            # Statistics of three days ago go; those of the day before yesterday stay
            # (their messages go after one day).
            ancient, old = now - 3 * 86400000, now - 36 * 3600000
            admin, device = ingested_then_served(
                self, site, "4C0000", (ancient, old, now - 60000),
                {"ROOST_PIPELINE_RETENTION_DAYS": "1",
                 "ROOST_PIPELINE_STATISTICS_RETENTION_DAYS": "2",
                 "ROOST_PIPELINE_RETENTION_PERIOD_S": "1"})
            path = "/api/devices/%s/stats?step=day&from=%d" % (device, ancient - 86400000)
            deadline = time.time() + 20
            while True:
                days = admin.ok("GET", path)["data"]
                if sum(b["messages"] for b in days) == 2 or time.time() > deadline:
                    break
                time.sleep(0.2)
            self.assertEqual(sum(b["messages"] for b in days), 2, days)
            self.assertTrue(all(b["time"] > ancient for b in days), days)
            metric = admin.ok("GET", "/api/devices/%s/messages/metric" % device)
            self.assertEqual(metric["lastWeek"], 2)
            admin.close()
        finally:
            site.close()


class RetentionSqliteTest(RetentionFlows, unittest.TestCase):
    ENGINE = "sqlite"


class RetentionPostgresTest(RetentionFlows, unittest.TestCase):
    ENGINE = "postgres"

    def test_a_month_wholly_past_the_cutoff_is_dropped_whole(self):
        site = Site("postgres")
        try:
            server = site.serve()  # the default retention (90 days) keeps everything below
            admin, device = one_device(site, server, "4D0000")
            now = int(time.time() * 1000)
            # 75 and 40 days back: two different months (more than 31 days apart), both
            # wholly older than a one-day retention. The later one gets its partition, as a
            # store that has run for months has; the earlier one lands in the default one.
            ancient, old, recent = now - 75 * 86400000, now - 40 * 86400000, now - 60000
            y, m = time.gmtime(old // 1000)[:2]
            ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
            partition = "messages_p%04d%02d" % (y, m)
            site.sql("CREATE TABLE %s PARTITION OF messages FOR VALUES FROM (%d) TO (%d)"
                     % (partition, calendar.timegm((y, m, 1, 0, 0, 0)) * 1000,
                        calendar.timegm((ny, nm, 1, 0, 0, 0)) * 1000))
            for seq, t in ((1, ancient), (2, old), (3, recent)):
                report = {"device": device, "seqNumber": seq, "data": "01", "time": t,
                          "station": "0A1B", "rssi": -120.0, "snr": 10.0}
                self.assertEqual(admin.ok("POST", "/api/ingest/uplink", report),
                                 {"result": "accepted"})
            admin.close()
            self.assertEqual(site.sql("SELECT seq_number FROM %s" % partition), [["2"]])
            self.assertEqual(site.sql("SELECT seq_number FROM messages_default"), [["1"]])
            server.stop()

            server = site.serve(env={"ROOST_PIPELINE_RETENTION_DAYS": "1",
                                     "ROOST_PIPELINE_RETENTION_PERIOD_S": "1"})
            admin = Client(server, site.api_user("ADMIN", name="second admin"))
            deadline = time.time() + 20
            while True:
                seqs = [m["seqNumber"] for m in admin.list_all("/api/devices/%s/messages" % device)]
                if seqs == [3] or time.time() > deadline:
                    break
                time.sleep(0.2)
            admin.close()
            self.assertEqual(seqs, [3])
            # The month's table is gone, not emptied; the default partition's row deleted.
            self.assertEqual(site.sql("SELECT count(*) FROM pg_class WHERE relname = '%s'"
                                      % partition), [["0"]])
            self.assertEqual(site.sql("SELECT count(*) FROM messages_default"), [["0"]])
        finally:
            site.close()


if __name__ == "__main__":
    unittest.main()
