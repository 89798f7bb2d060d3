"""Ingest back-pressure: a full writer queue answers 503 with Retry-After, and a 2xx means durable.

While another connection holds what ingest must write (SQLite's write lock, or a lock on
PostgreSQL's `messages`), the writer waits inside its transaction and reports queue behind it.
With `--ingest-queue-reports 500` and arrays of 300 reports:
- the requests the writer holds or has queued get no answer while the lock is held (nothing is
  acknowledged before it is committed);
- the next request is answered at once 503 with `Retry-After` and a message saying why,
  counted by roost_ingest_busy_total; none of its reports is stored;
- once the lock is released every waiting request is answered 200 with every report accepted,
  and exactly those reports are stored; the refused array, sent again, is accepted;
- the server answered other requests meanwhile (/healthz).
On SQLite and PostgreSQL.
"""

import threading
import time
import unittest

from roostserver import metric_value
from roostsite import Client, Site

T0 = 1750000000000
BATCH = 300
LIMIT = 500


def reports(devices, first_seq):
    """BATCH reports, spread over `devices`, with sequence numbers from first_seq on."""
    out = []
    for i in range(BATCH):
        device = devices[i % len(devices)]
        seq = first_seq + i // len(devices)
        out.append({"device": device, "seqNumber": seq, "data": "01", "time": T0 + seq * 1000,
                    "station": "0A1B", "rssi": -120.0, "snr": 10.0})
    return out


class BackPressureFlows:
    ENGINE = None

    def metric(self, server, name, labels=""):
        status, _, body = server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        return metric_value(body.decode(), name + labels) or 0

    def wait_gauge(self, server, name, value, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.metric(server, name) == value:
                return
            time.sleep(0.02)
        self.fail("%s never reached %d" % (name, value))

    def test_a_full_ingest_queue_answers_503_and_keeps_what_it_acknowledged(self):
        site = Site(self.ENGINE)
        try:
            server = site.serve("--ingest-queue-reports", str(LIMIT))
            admin_user = site.api_user("ADMIN", name="admin")
            station_user = site.api_user("STATION", name="station")
            admin = Client(server, admin_user)
            tid = admin.ok("POST", "/api/devicetypes/create", {"name": "meters"})["id"]
            admin.ok("POST", "/api/stations/create", {"id": "0A1B", "name": "s"}, expect=201)
            job = admin.bulk_create(tid, site.issue_and_import(10, "5C0000"))
            admin.wait_job(job, timeout=60)
            devices = [d["id"] for d in admin.list_all("/api/devicetypes/%s/devices" % tid)]
            admin.close()
            self.assertEqual(len(devices), 10)
            # Each array goes on its own connection, from its own thread.
            answers = {}

            def send(name, body):
                c = Client(server, station_user, timeout=60)
                answers[name] = c.call("POST", "/api/ingest/uplink", body)
                c.close()

            arrays = {"held": reports(devices, 1), "queued": reports(devices, 31),
                      "refused": reports(devices, 61)}
            busy_before = self.metric(server, "roost_ingest_busy_total")
            with site.writes_held():
                held = threading.Thread(target=send, args=("held", arrays["held"]))
                held.start()
                # The writer took the first array and waits for the lock: nothing queued.
                self.wait_gauge(server, "roost_ingest_writing_reports", BATCH)
                self.assertEqual(self.metric(server, "roost_ingest_queue_reports"), 0)
                queued = threading.Thread(target=send, args=("queued", arrays["queued"]))
                queued.start()
                self.wait_gauge(server, "roost_ingest_queue_reports", BATCH)
                # 300 waiting + 300 more > 500: refused at once, whole.
                send("refused", arrays["refused"])
                status, headers, body = answers["refused"]
                self.assertEqual(status, 503, body)
                self.assertGreater(int(headers["Retry-After"]), 0)
                self.assertIn("busy", body["message"])
                self.assertEqual(self.metric(server, "roost_ingest_busy_total"),
                                 busy_before + 1)
                # The server still answers, and nothing held was acknowledged.
                self.assertEqual(server.request("GET", "/healthz")[0], 200)
                time.sleep(0.5)
                self.assertNotIn("held", answers)
                self.assertNotIn("queued", answers)
            held.join(timeout=60)
            queued.join(timeout=60)
            for name in ("held", "queued"):
                status, _, body = answers[name]
                self.assertEqual(status, 200, body)
                self.assertEqual((body["accepted"], body["refused"]), (BATCH, 0), name)
            stored = {(int(d), int(s)) for d, s in
                      site.sql("SELECT device_id, seq_number FROM messages")}
            expect = {(int(r["device"], 16), r["seqNumber"])
                      for name in ("held", "queued") for r in arrays[name]}
            self.assertEqual(stored, expect)
            # Sent again, the refused array is stored.
            send("again", arrays["refused"])
            status, _, body = answers["again"]
            self.assertEqual(status, 200, body)
            self.assertEqual((body["accepted"], body["refused"]), (BATCH, 0))
            self.assertEqual(int(site.sql("SELECT count(*) FROM messages")[0][0]), 3 * BATCH)
        finally:
            site.close()


class BackPressureSqliteTest(BackPressureFlows, unittest.TestCase):
    ENGINE = "sqlite"


class BackPressurePostgresTest(BackPressureFlows, unittest.TestCase):
    ENGINE = "postgres"


if __name__ == "__main__":
    unittest.main()
