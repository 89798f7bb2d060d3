"""roost pid import|devices|keys|export on the store directly, run as the real binary on a data
dir bootstrapped by `roost serve` (SQLite)."""

import json
import os
import subprocess
import unittest

from roostcli import run, temp_dir
from test_credentials import bootstrap


class PidRegistryTest(unittest.TestCase):
    def setUp(self):
        self.tmp = temp_dir()
        self.data_dir = os.path.join(self.tmp.name, "data")
        bootstrap(self.data_dir)
        self.request = os.path.join(self.tmp.name, "request.csv")
        self.report = os.path.join(self.tmp.name, "report.csv")
        r = run(["pid", "request", "--manufacturer", "MatchX GmbH", "--model", "M-1",
                 "--serials", "S000..S004", "-o", self.request])
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run(["pid", "report", self.request, "-o", self.report])
        self.assertEqual(r.returncode, 0, r.stderr)

    def tearDown(self):
        self.tmp.cleanup()

    def pid(self, *args):
        return run(["pid", *args, "--data-dir", self.data_dir])

    def stored(self):
        out = subprocess.run(["sqlite3", os.path.join(self.data_dir, "roost.db"),
                              "SELECT COUNT(*) FROM provision_ids"],
                             capture_output=True, text=True, check=True)
        return int(out.stdout.strip())

    def test_import_stores_every_row_and_refuses_it_again_naming_the_line(self):
        r = self.pid("import", self.report)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"imported": 5})
        self.assertEqual(self.stored(), 5)
        again = self.pid("import", self.report)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("line 4", again.stderr)
        self.assertIn("nothing was imported", again.stderr)
        self.assertEqual(self.stored(), 5)

    def test_a_bad_line_is_named_and_nothing_is_stored(self):
        with open(self.report) as f:
            lines = f.read().split("\n")
        lines[5] = lines[5].replace(",M-1,", ",,")
        bad = os.path.join(self.tmp.name, "bad.csv")
        with open(bad, "w") as f:
            f.write("\n".join(lines))
        r = self.pid("import", bad)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("bad.csv: line 6", r.stderr)
        self.assertEqual(self.stored(), 0)
        r = self.pid("import", self.request)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("report", r.stderr)
        self.assertEqual(self.stored(), 0)

    def test_devices_keys_and_export_without_provisioned_devices(self):
        self.assertEqual(self.pid("import", self.report).returncode, 0)
        r = self.pid("devices")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "")
        r = self.pid("keys", "00aabbccddeeff01")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not found", r.stderr)
        out = os.path.join(self.tmp.name, "export.csv")
        r = self.pid("export", "--format", "csv", "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o600)
        with open(out) as f:
            self.assertEqual(f.read(),
                             "devEUI,joinEUI,appKey,nwkKey,provisionId,model,serialNumber\n")
        audit = [json.loads(line) for line in r.stderr.splitlines() if line.startswith("{")]
        self.assertEqual([(a["msg"], a["what"], a["count"]) for a in audit],
                         [("provisioning keys read", "export", 0)])
        r = self.pid("export", "--format", "xml")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--format", r.stderr)


if __name__ == "__main__":
    unittest.main()
