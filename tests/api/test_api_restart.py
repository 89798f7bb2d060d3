"""A bulk registration job survives its server: kill -9 (and SIGTERM) in the middle of a
40 000-device job, restart, and the job completes with every device registered exactly once.
On SQLite and on PostgreSQL.

The servers run with --job-lease-seconds 2, so that the chunk the killed process had claimed
is taken over 2 s later instead of the default 60 s.

The job has eight chunks of 5 000: when the test sees the first one done, the server's two
workers hold at most two more, and a SIGTERM lets those finish, so several are still left
for the restarted server even when the poll that saw the first chunk was slow.
"""

import signal
import time
import unittest

from roostsite import Client, Site, api_id

N = 40000
LEASE = ["--job-lease-seconds", "2"]


class RestartFlows:
    ENGINE = None

    def setUp(self):
        self.site = Site(self.ENGINE)

    def tearDown(self):
        self.site.close()

    def interrupt_and_resume(self, sig):
        site = self.site
        server = site.serve(*LEASE)
        user = site.api_user("DEVICE_MANAGER")
        pairs = site.issue_and_import(N, "1000000")
        c = Client(server, user)
        tid = c.new_type("restart")
        job = c.bulk_create(tid, pairs)
        # Poll until the first chunk is in, then stop the server at once: the job is under way.
        deadline = time.time() + 60
        while True:
            st = c.ok("GET", "/api/jobs/" + job)
            if st["status"]["success"] > 0 or st["jobDone"] or time.time() > deadline:
                break
        c.close()
        self.assertFalse(st["jobDone"], "the job finished before it could be interrupted")
        self.assertLess(st["status"]["success"], N)
        if sig == signal.SIGKILL:
            server.kill()
            self.assertEqual(server.proc.returncode, -signal.SIGKILL)
        else:
            self.assertEqual(server.stop(sig), 0)
            self.assertIn('"msg":"stopped"', "".join(server.drain_log()))
        (left, processed), = site.sql("SELECT chunks_left, processed FROM jobs WHERE id = '%s'"
                                      % job)
        self.assertGreater(int(left), 0, "nothing left for the restarted server")
        self.assertLess(int(processed), N)

        server = site.serve(*LEASE)
        c = Client(server, user)
        st = c.wait_job(job, timeout=90)
        self.assertEqual(st["total"], N)
        self.assertEqual(st["status"]["success"] + len(st["status"]["failed"]), st["total"])
        self.assertEqual(st["status"]["failed"], [])
        self.assertEqual(st["status"]["success"], N)
        # Every device exactly once, named prefix + id, listed through the API.
        devices = c.list_all("/api/devicetypes/%s/devices" % tid)
        ids = [d["id"] for d in devices]
        self.assertEqual(len(ids), len(set(ids)), "a device is listed twice")
        self.assertEqual(set(ids), {api_id(d) for d, _ in pairs})
        self.assertEqual({d["name"] for d in devices}, {"dev-" + api_id(d) for d, _ in pairs})
        self.assertEqual(len(c.list_all("/api/devices?deviceTypeId=" + tid)), N)
        (count,), = site.sql("SELECT count(*) FROM devices WHERE type_id = '%s'" % tid)
        self.assertEqual(int(count), N)
        (left, processed, success), = site.sql(
            "SELECT chunks_left, processed, success FROM jobs WHERE id = '%s'" % job)
        self.assertEqual((int(left), int(processed), int(success)), (0, N, N))
        c.close()
        self.assertEqual(server.stop(), 0)

    def test_kill_9_mid_job(self):
        self.interrupt_and_resume(signal.SIGKILL)

    def test_sigterm_mid_job(self):
        self.interrupt_and_resume(signal.SIGTERM)


class RestartSqliteTest(RestartFlows, unittest.TestCase):
    ENGINE = "sqlite"


class RestartPostgresTest(RestartFlows, unittest.TestCase):
    ENGINE = "postgres"


if __name__ == "__main__":
    unittest.main()
