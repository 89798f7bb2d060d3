"""Two `roost serve` on one PostgreSQL database share the bulk-job queue: both process chunks
of one job, the job completes once, no device is registered twice; and when one instance dies
mid-job, the other finishes its work.

Which instance processed a chunk is shown twice: each server's /metrics counter
roost_job_chunks_total, and the `worker` column ("serve-<pid>") of the job's chunks.
"""

import math
import time
import unittest

from roostsite import Client, Site, api_id
from roostserver import metric_value

CHUNK = 5000  # DeviceRegistry's chunk size


def instance(worker):
    """The instance part of a lease name: "serve-<pid>" of "serve-<pid>/<thread>"."""
    return worker.split("/")[0]


def chunks_done(server):
    """This server's roost_job_chunks_total (from /metrics, Prometheus text)."""
    status, _, body = server.request("GET", "/metrics")
    assert status == 200, status
    return metric_value(body.decode(), "roost_job_chunks_total") or 0


class SharedJobsTest(unittest.TestCase):
    def setUp(self):
        self.site = Site("postgres")

    def tearDown(self):
        self.site.close()

    def check_registered_once(self, client, tid, pairs):
        devices = client.list_all("/api/devicetypes/%s/devices" % tid)
        ids = [d["id"] for d in devices]
        self.assertEqual(len(ids), len(set(ids)), "a device is listed twice")
        self.assertEqual(set(ids), {api_id(d) for d, _ in pairs})
        (count,), = self.site.sql("SELECT count(*) FROM devices WHERE type_id = '%s'" % tid)
        self.assertEqual(int(count), len(pairs))

    def workers(self, job):
        """Chunks done per instance: leases are named serve-<pid>/<worker thread>."""
        rows = self.site.sql("SELECT worker, count(*) FROM job_chunks WHERE job_id = '%s' "
                             "AND state = 2 GROUP BY worker" % job)
        by_instance = {}
        for w, n in rows:
            by_instance[instance(w)] = by_instance.get(instance(w), 0) + int(n)
        return by_instance

    def test_two_instances_share_one_job(self):
        n = 60000
        site = self.site
        a = site.serve()
        b = site.serve()
        user = site.api_user("DEVICE_MANAGER")
        pairs = site.issue_and_import(n, "2000000")
        ca, cb = Client(a, user), Client(b, user)
        tid = ca.new_type("shared")
        job = ca.bulk_create(tid, pairs)
        st = cb.wait_job(job, timeout=120)  # polled on the other instance
        self.assertEqual(st, ca.ok("GET", "/api/jobs/" + job))
        self.assertEqual(st["total"], n)
        self.assertEqual(st["status"], {"success": n, "failed": []})
        self.check_registered_once(cb, tid, pairs)

        chunks = math.ceil(n / CHUNK)
        done_a, done_b = chunks_done(a), chunks_done(b)
        self.assertGreater(done_a, 0, "instance A processed no chunk")
        self.assertGreater(done_b, 0, "instance B processed no chunk")
        self.assertEqual(done_a + done_b, chunks, "a chunk was processed twice or not at all")
        by_worker = self.workers(job)
        self.assertEqual(by_worker, {"serve-%d" % a.proc.pid: done_a,
                                     "serve-%d" % b.proc.pid: done_b})
        (left, processed, success), = site.sql(
            "SELECT chunks_left, processed, success FROM jobs WHERE id = '%s'" % job)
        self.assertEqual((int(left), int(processed), int(success)), (0, n, n))
        print("\nchunks processed: A %d, B %d of %d" % (done_a, done_b, chunks))
        ca.close()
        cb.close()
        self.assertEqual(a.stop(), 0)
        self.assertEqual(b.stop(), 0)

    def test_the_survivor_finishes_a_dead_instances_chunks(self):
        n = 30000
        site = self.site
        a = site.serve("--job-lease-seconds", "2")
        b = site.serve("--job-lease-seconds", "2")
        user = site.api_user("DEVICE_MANAGER")
        pairs = site.issue_and_import(n, "3000000")
        ca, cb = Client(a, user), Client(b, user)
        tid = ca.new_type("survivor")
        job = ca.bulk_create(tid, pairs)
        # Kill A as soon as it holds a chunk lease (its worker is mid-chunk).
        deadline = time.time() + 60
        mine = "serve-%d" % a.proc.pid
        while time.time() < deadline:
            leased = site.sql("SELECT count(*) FROM job_chunks WHERE job_id = '%s' AND state = 1 "
                              "AND worker LIKE '%s/%%'" % (job, mine))
            if int(leased[0][0]) > 0:
                break
            time.sleep(0.005)
        else:
            self.fail("instance A never claimed a chunk")
        a.kill()
        ca.close()
        held = [int(r[0]) for r in site.sql(
            "SELECT chunk FROM job_chunks WHERE job_id = '%s' AND state = 1 AND worker LIKE '%s/%%'"
            % (job, mine))]
        self.assertTrue(held, "instance A died holding no chunk")
        st = cb.wait_job(job, timeout=60)
        self.assertEqual(st["status"], {"success": n, "failed": []})
        self.check_registered_once(cb, tid, pairs)
        # The chunks A held when it died were redone by B, once.
        rows = site.sql("SELECT chunk, worker, state FROM job_chunks WHERE job_id = '%s'" % job)
        final = {int(c): (instance(w), int(st)) for c, w, st in rows}
        for chunk in held:
            self.assertEqual(final[chunk], ("serve-%d" % b.proc.pid, 2), chunk)
        by_worker = self.workers(job)
        self.assertEqual(sum(by_worker.values()), math.ceil(n / CHUNK))
        self.assertGreater(by_worker.get("serve-%d" % b.proc.pid, 0), 0)
        cb.close()
        self.assertEqual(b.stop(), 0)


if __name__ == "__main__":
    unittest.main()
