"""What `roost serve` shows every local user: its command line (ps, /proc/PID/cmdline) must
not carry the database password given with --database."""

import unittest

from roostsite import Site

SECRET = "not-shown-in-ps-0451"


class DatabasePasswordOnTheCommandLineTest(unittest.TestCase):
    def test_the_password_is_masked_in_the_processes_arguments(self):
        site = Site("postgres")
        self.addCleanup(site.close)
        # The throwaway server trusts local connections: any password connects.
        site.url = site.url.replace("postgresql://postgres@", "postgresql://postgres:%s@" % SECRET)
        self.assertIn(SECRET, site.url)
        server = site.serve()
        status, _, _ = server.request("GET", "/healthz")
        self.assertEqual(status, 200)  # it connected with the URL as given
        with open("/proc/%d/cmdline" % server.proc.pid, "rb") as f:
            args = f.read().split(b"\0")
        self.assertNotIn(SECRET.encode(), b" ".join(args))
        url = args[args.index(b"--database") + 1].decode()
        self.assertEqual(url, site.url.replace(SECRET, "x" * len(SECRET)))


if __name__ == "__main__":
    unittest.main()
