"""A dead callback's alert email survives its server, on SQLite and PostgreSQL: the callback dies
while the mail server is down, the alert's first try fails, the server is killed (kill -9), and
the restarted server, now with a mail server, sends the alert once.

The alert is queued in the store in the transaction that marks the callback dead, so it does not
depend on the process that saw the death living on.
"""

import os
import socket
import time
import unittest

from callback_receiver import Receiver
from mailsink import SmtpSink
from roostsite import Client, Site

T0 = 1700000000000
SERVE = ("--callback-dead-after-s", "1", "--callback-timeout-ms", "1000",
         "--smtp-from", "roost@test.example", "--smtp-host", "127.0.0.1")


def closed_port():
    """A loopback port nothing listens on: a mail server that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DeadAlertFlows:
    ENGINE = None

    def setUp(self):
        self.site = Site(self.ENGINE)
        self.receiver = Receiver()

    def tearDown(self):
        self.receiver.stop()
        self.site.close()

    def test_an_alert_not_sent_before_a_kill_9_is_sent_once_after_the_restart(self):
        site = self.site
        server = site.serve(*SERVE, "--smtp-port", str(closed_port()))
        admin = Client(server, site.api_user("ADMIN"))
        station = site.api_user("STATION")
        admin.ok("POST", "/api/stations/create", {"id": "0A1B", "name": "0A1B"}, expect=201)
        (dev, pac), = site.issue_and_import(1, "6D0000")
        tid = admin.ok("POST", "/api/devicetypes/create",
                       {"name": "failing", "alertEmail": "ops@example.com"})["id"]
        did = admin.ok("POST", "/api/devices/create",
                       {"id": dev, "pac": pac, "name": "d", "type": tid})["id"]
        cb = admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid,
                      [{"url": self.receiver.url("/fail/{device}")}])["data"][0]["id"]
        s = Client(server, station)
        s.ok("POST", "/api/ingest/uplink",
             {"device": did, "seqNumber": 1, "data": "c0ffee", "time": T0, "station": "0A1B",
              "rssi": -115.0, "snr": 9.5})
        s.close()
        # Dead, and its alert's first try refused by the mail server that is down.
        deadline = time.time() + 30
        while time.time() < deadline:
            if any('"callback alert email not sent"' in line and cb in line
                   for line in server.drain_log(0.2)):
                break
        else:
            self.fail("the alert was never tried: %s" % "".join(server.log[-20:]))
        admin.close()
        self.assertEqual(site.sql("SELECT dead FROM callbacks WHERE id = '%s'" % cb), [["1"]])
        # The failed try is recorded just after its log line: killed before that, the alert
        # would wait for its claim's lease (2 minutes) instead of the 10 s retry.
        deadline = time.time() + 10
        while site.sql("SELECT alert_tries FROM callbacks WHERE id = '%s'" % cb) != [["1"]]:
            self.assertLess(time.time(), deadline, "the failed try was never recorded")
            time.sleep(0.05)
        server.kill()
        (due,), = site.sql("SELECT alert_due FROM callbacks WHERE id = '%s'" % cb)
        self.assertGreater(int(due), 0, "the alert waits in the store")

        sink = SmtpSink(os.path.join(site.dir, "mail"))
        try:
            server = site.serve(*SERVE, "--smtp-port", str(sink.port))
            # Due again 10 s after the failed try (the first of the retry waits).
            rcpts, msg = sink.message(1, timeout=30)
            self.assertEqual(rcpts, ["ops@example.com"])
            self.assertIn(cb, msg["Subject"])
            body = msg.get_body(preferencelist=("plain",)).get_content()
            self.assertIn("status 500", body)
            time.sleep(1.5)
            self.assertEqual(sink.count(), 1, "one alert")
            (due,), = site.sql("SELECT alert_due FROM callbacks WHERE id = '%s'" % cb)
            self.assertEqual(int(due), 0)
            self.assertEqual(server.stop(), 0)
        finally:
            sink.stop()


class SqliteDeadAlert(DeadAlertFlows, unittest.TestCase):
    ENGINE = "sqlite"


class PostgresDeadAlert(DeadAlertFlows, unittest.TestCase):
    ENGINE = "postgres"


if __name__ == "__main__":
    unittest.main()
