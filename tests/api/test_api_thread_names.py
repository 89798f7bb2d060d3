"""`roost serve` names its threads (docs/architecture.md), so that `top -H` and perf tell a busy
ingest writer from a busy event loop: read back from /proc while the server runs."""

import os
import time
import unittest

from roostsite import Client, Site


def thread_names(pid):
    names = set()
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                names.add(f.read().strip())
        except FileNotFoundError:
            pass  # the thread ended meanwhile
    return names


class ThreadNamesTest(unittest.TestCase):
    def test_the_servers_threads_say_what_they_do(self):
        site = Site("sqlite")
        try:
            server = site.serve()
            admin = Client(server, site.api_user("ADMIN", name="admin"))
            # A handler thread names itself on its first request.
            admin.ok("GET", "/api/devicetypes")
            admin.close()
            expect = {"event-loop", "http-handler", "job-worker", "ingest-writer",
                      "callback-claim", "callback-record", "event-watcher", "retention",
                      "queue-gauges"}
            deadline = time.time() + 10
            while True:
                names = thread_names(server.proc.pid)
                if expect <= names or time.time() > deadline:
                    break
                time.sleep(0.1)
            self.assertLessEqual(expect, names)
        finally:
            site.close()


if __name__ == "__main__":
    unittest.main()
