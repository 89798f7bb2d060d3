"""A stop that a database holds ends at http.stop_timeout_s.

PostgreSQL stops answering without closing its connections (its processes are stopped with
SIGSTOP, as a hung server or a network partition would leave them): a request in flight waits
in libpq, and so would `roost serve`'s stop, for good. With --stop-timeout-s 15 the process
exits with status 1 about 15 s after SIGTERM, and says why. (Its own PostgreSQL server: the
other test files' servers are never stopped.)
"""

import os
import signal
import subprocess
import threading
import time
import unittest

from roostsite import Client, Site


def server_pids(pg):
    """The postmaster and every process it started."""
    with open(os.path.join(pg.data_dir, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True,
                              text=True).stdout.split()
    return [postmaster] + [int(c) for c in children]


class StopTimeoutTest(unittest.TestCase):
    def test_a_stop_held_by_a_database_that_stopped_answering_ends_at_the_timeout(self):
        site = Site("postgres")
        self.addCleanup(site.close)
        server = site.serve("--stop-timeout-s", "15")
        user = site.api_user("ADMIN")
        c = Client(server, user, timeout=120)
        c.ok("GET", "/api/devicetypes")  # the pool's connection is open
        pids = server_pids(site.pg)
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            # A request that waits on the database while the stop begins.
            def wait_for_an_answer():
                try:
                    c.call("GET", "/api/devicetypes")
                except OSError:
                    pass  # the process ended without answering

            waiting = threading.Thread(target=wait_for_an_answer, daemon=True)
            waiting.start()
            time.sleep(1)
            started = time.time()
            server.proc.send_signal(signal.SIGTERM)
            try:
                code = server.proc.wait(timeout=45)
            except subprocess.TimeoutExpired:
                server.kill()
                self.fail("roost serve was still stopping 45 s after SIGTERM")
            took = time.time() - started
        finally:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
        self.assertEqual(code, 1)
        self.assertGreaterEqual(took, 14, "it ended before its timeout")
        self.assertLess(took, 30)
        log = "".join(server.drain_log())
        self.assertIn('"msg":"shutting down"', log)
        self.assertIn('"msg":"stop took too long; exiting"', log)


if __name__ == "__main__":
    unittest.main()
