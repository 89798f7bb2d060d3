"""`roost serve` on PostgreSQL over TCP asks for keepalives after 30 s idle (the system's
default is two hours): a server host that vanishes fails a waiting query within a minute.
Read off the kernel's socket timers (`ss -o`) of the server's connections; a URL that names
its own keepalives_idle keeps it."""

import re
import subprocess
import time
import unittest

from roostsite import Site


def keepalive_timers(pid, port):
    """Seconds left on the keepalive timer of each of `pid`'s TCP connections to `port`."""
    out = subprocess.run(["ss", "-tnopH", "state", "established", "dst", "127.0.0.1:%d" % port],
                         capture_output=True, text=True, check=True).stdout
    timers = []
    for line in out.splitlines():
        if "pid=%d," % pid not in line:
            continue
        m = re.search(r"timer:\(keepalive,(?:(\d+)min)?(?:(\d+)(?:\.\d+)?sec)?(?:(\d+)ms)?,", line)
        if m:
            minutes, seconds, millis = (int(g) if g else 0 for g in m.groups())
            timers.append(minutes * 60 + seconds + millis / 1000)
        # Else a connection in the middle of an exchange (its retransmission
        # timer, or none for an instant): its keepalive timer shows once idle.
    return timers


class DatabaseKeepaliveTest(unittest.TestCase):
    def connections_timers(self, site):
        """The keepalive timers of the server's idle connections to PostgreSQL."""
        server = site.serve()
        status, _, _ = server.request("GET", "/healthz")
        self.assertEqual(status, 200)
        deadline = time.time() + 10
        while True:
            timers = keepalive_timers(server.proc.pid, site.pg.port)
            if timers or time.time() > deadline:
                return timers
            time.sleep(0.1)

    def test_connections_to_postgresql_ask_for_keepalives_after_30_seconds(self):
        site = Site("postgres")
        self.addCleanup(site.close)
        self.assertIn("@127.0.0.1:", site.url)  # over TCP
        timers = self.connections_timers(site)
        self.assertTrue(timers, "no connection of roost serve to PostgreSQL seen")
        for t in timers:
            self.assertLessEqual(t, 30, timers)

    def test_the_urls_own_keepalive_setting_wins(self):
        site = Site("postgres")
        self.addCleanup(site.close)
        site.url += "?keepalives_idle=600"
        timers = self.connections_timers(site)
        self.assertTrue(timers, "no connection of roost serve to PostgreSQL seen")
        for t in timers:
            self.assertGreater(t, 30, timers)
            self.assertLessEqual(t, 600, timers)


if __name__ == "__main__":
    unittest.main()
