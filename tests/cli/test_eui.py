"""roost eui from-mac, run as the real binary."""

import json
import os
import unittest

from roostcli import VECTORS, run


class FromMac(unittest.TestCase):
    def test_vector_and_separators(self):
        with open(os.path.join(VECTORS, "provisioning.json")) as f:
            seed = json.load(f)["seed"]["macToEui"]
        for mac in (seed["mac"], seed["mac"].replace(":", "-"), seed["mac"].replace(":", ""),
                    seed["mac"].upper(), "0102.0304.0506"):
            with self.subTest(mac=mac):
                r = run(["eui", "from-mac", mac])
                self.assertEqual((r.returncode, r.stdout), (0, seed["eui"] + "\n"), r.stderr)

    def test_lowercase_canonical_output(self):
        r = run(["eui", "from-mac", "AA:BB:CC:DD:EE:FF"])
        self.assertEqual(r.stdout, "aabbccfffeddeeff\n")

    def test_bad_macs(self):
        for mac, needle in (("01:02:03:04:05", "expected 12 hex digits"),
                            ("01:02:03:04:05:0G", "not a hex digit"),
                            ("01::02:03:04:05:06", "separator"),
                            ("01:02:03:04:05:06:07", "expected 12 hex digits")):
            with self.subTest(mac=mac):
                r = run(["eui", "from-mac", mac])
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(needle, r.stderr)
                self.assertEqual(r.stdout, "")


if __name__ == "__main__":
    unittest.main()
