"""roost credentials import, run as the real binary on a data dir bootstrapped by `roost serve`."""

import json
import os
import signal
import subprocess
import unittest

import roostcli
from roostcli import VECTORS, run, temp_dir

SAMPLE = os.path.join(VECTORS, "cra-sample")
KEY = "00112233445566778899AABBCCDDEEFF"


def bootstrap(data_dir):
    """Starts `roost serve` once (master key, root group, admin), stops it after "listening"."""
    proc = subprocess.Popen(
        [roostcli.ROOST_BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir,
         "--threads", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "ROOST_ADMIN_PASSWORD": "correct horse battery"})
    try:
        for line in proc.stderr:
            if json.loads(line).get("msg") == "listening":
                break
        else:
            raise AssertionError("roost serve stopped before listening")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()


class CredentialsImportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(SAMPLE, "expected.json")) as f:
            cls.expected = json.load(f)

    def setUp(self):
        self.tmp = temp_dir()
        self.data_dir = os.path.join(self.tmp.name, "data")
        bootstrap(self.data_dir)
        self.assertTrue(os.path.exists(os.path.join(self.data_dir, "master.key")))

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def write(self, name, data):
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(self.path(name), mode) as f:
            f.write(data)
        return self.path(name)

    def import_(self, id_key, id_pac, *extra, key=KEY):
        return run(["credentials", "import", "--enc-key", key, "--id-key", id_key, "--id-pac",
                    id_pac, "--data-dir", self.data_dir, *extra])

    def import_ok(self, *args, **kwargs):
        r = self.import_(*args, **kwargs)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def db_bytes(self):
        data = b""
        for name in os.listdir(self.data_dir):  # roost.db and any WAL file
            if name.startswith("roost.db"):
                with open(os.path.join(self.data_dir, name), "rb") as f:
                    data += f.read()
        return data

    def sample(self):
        return (os.path.join(SAMPLE, "id_key_encrypted.bin"), os.path.join(SAMPLE, "id_pac.txt"))

    def test_import_sample_then_idempotent_reimport(self):
        first = self.import_ok(*self.sample())
        self.assertEqual(first, {"imported": 4, "unchanged": 0, "skipped": 0,
                                 "refusedCount": 0, "refused": []})
        again = self.import_ok(*self.sample())
        self.assertEqual(again, {"imported": 0, "unchanged": 4, "skipped": 0,
                                 "refusedCount": 0, "refused": []})
        db = self.db_bytes()
        self.assertIn(b"6FEE95A9E3756E43", db)  # the initial PAC is stored in clear
        for dev in self.expected["devices"]:
            key = dev["key"]
            for form in (key.encode(), key.lower().encode(), bytes.fromhex(key)):
                self.assertNotIn(form, db, dev["id"])
        self.assertNotIn(bytes.fromhex(KEY), db)
        self.assertNotIn(KEY.encode(), db)

    def test_issued_batch_of_1000(self):
        out = self.path("batch")
        r = run(["cra", "issue", "--count", 1000, "--first-id", "100000", "--enc-key", KEY,
                 "--out-dir", out])
        self.assertEqual(r.returncode, 0, r.stderr)
        id_key = os.path.join(out, "id_key_encrypted.bin")
        id_pac = os.path.join(out, "id_pac.txt")
        got = self.import_ok(id_key, id_pac)
        self.assertEqual((got["imported"], got["unchanged"], got["refused"]), (1000, 0, []))
        got = self.import_ok(id_key, id_pac)
        self.assertEqual((got["imported"], got["unchanged"], got["refused"]), (0, 1000, []))
        # Every KEY of the batch stays out of the database in clear.
        r = run(["cra", "decrypt", KEY, id_key, "-", "--format", "pairs"])
        self.assertEqual(r.returncode, 0, r.stderr)
        keys = [line.split(";")[1] for line in r.stdout.split()]
        self.assertEqual(len(keys), 1000)
        db = self.db_bytes()
        for key in keys:
            self.assertNotIn(bytes.fromhex(key), db)
            self.assertNotIn(key.encode(), db)

    def test_refusals_beyond_1000_are_counted_not_listed(self):
        def issue(name):
            out = self.path(name)
            r = run(["cra", "issue", "--count", 1500, "--first-id", "200000", "--enc-key", KEY,
                     "--out-dir", out])
            self.assertEqual(r.returncode, 0, r.stderr)
            return os.path.join(out, "id_key_encrypted.bin"), os.path.join(out, "id_pac.txt")

        first = self.import_ok(*issue("first"))
        self.assertEqual((first["imported"], first["refusedCount"]), (1500, 0))
        # The same IDs issued again get new KEYs: every one is refused, 1 000 listed in order.
        got = self.import_ok(*issue("second"))
        self.assertEqual((got["imported"], got["unchanged"], got["refusedCount"]), (0, 0, 1500))
        self.assertEqual(len(got["refused"]), 1000)
        self.assertEqual(got["refused"][0]["id"], "200000")
        self.assertEqual(got["refused"][999]["id"], "2003E7")
        self.assertIn("different KEY", got["refused"][999]["message"])

    def test_files_that_cannot_be_mapped_are_named(self):
        id_key, id_pac = self.sample()
        r = self.import_(self.tmp.name, id_pac)
        self.expect_failure(r, self.tmp.name + ": not a regular file")
        r = self.import_(id_key, self.path("absent.txt"))
        self.expect_failure(r, self.path("absent.txt") + ": cannot open")

    def test_different_key_for_a_known_id_is_refused_per_id(self):
        self.import_ok(*self.sample())
        # Same IDs, other KEYs: encrypt a new ID/KEY file with openssl.
        clear = b""
        for dev in self.expected["devices"][:2]:
            clear += bytes.fromhex(dev["id"]) + bytes(12) + bytes(16)
        enc = subprocess.run(["openssl", "enc", "-aes-128-ecb", "-nopad", "-K", KEY],
                             input=clear, capture_output=True, check=True).stdout
        id_key = self.write("other.bin", enc)
        id_pac = self.write("other.txt", "0041A2F0;6FEE95A9E3756E43\n")
        got = self.import_ok(id_key, id_pac)
        self.assertEqual(got["imported"], 0)
        self.assertEqual(got["skipped"], 1)
        self.assertEqual(len(got["refused"]), 1)
        self.assertEqual(got["refused"][0]["id"], "41A2F0")
        self.assertIn("different KEY", got["refused"][0]["message"])

    def expect_failure(self, r, *fragments):
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "")
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("roost: "), lines[0])
        for fragment in fragments:
            self.assertIn(fragment, lines[0])
        for dev in self.expected["devices"]:
            self.assertNotIn(dev["key"], r.stderr)
            self.assertNotIn(dev["key"].lower(), r.stderr)

    def test_bad_inputs_fail_with_one_line_and_store_nothing(self):
        id_key, id_pac = self.sample()
        with open(id_key, "rb") as f:
            truncated = self.write("truncated.bin", f.read()[:-3])
        self.expect_failure(self.import_(truncated, id_pac), "truncated.bin", "incomplete pair",
                            "offset 0x60")
        bad_pac = self.write("bad.txt", "0041A2F0;6FEE95A9E3756E43\n0041A2F1 zz\n")
        self.expect_failure(self.import_(id_key, bad_pac), "bad.txt", "line 2")
        missing = self.write("missing.txt", "0041A2F0;6FEE95A9E3756E43\n0041A2F9;6FEE95A9E3756E43\n")
        self.expect_failure(self.import_(id_key, missing), "missing.txt", "line 2", "0041A2F9")
        self.expect_failure(self.import_(id_key, id_pac, key="FF" * 16), "not in the ID/KEY file")
        self.expect_failure(self.import_(id_key, id_pac, key="12"), "encryption")
        self.expect_failure(self.import_(id_key, id_pac, "--mode", "xts"), "--mode")
        self.expect_failure(self.import_(self.path("nope.bin"), id_pac), "nope.bin")
        self.assertNotIn(b"6FEE95A9E3756E43", self.db_bytes())
        # Nothing was stored by the failures: the sample still imports all 4.
        self.assertEqual(self.import_ok(id_key, id_pac)["imported"], 4)

    def test_missing_master_key_says_to_start_serve(self):
        id_key, id_pac = self.sample()
        empty = self.path("empty")
        os.mkdir(empty)
        r = run(["credentials", "import", "--enc-key", KEY, "--id-key", id_key, "--id-pac",
                 id_pac, "--data-dir", empty])
        self.expect_failure(r, "master.key", "roost serve")
        # An explicit --master-key-file works against the bootstrapped store.
        r = run(["credentials", "import", "--enc-key-file", self.write("k", KEY + "\n"),
                 "--id-key", id_key, "--id-pac", id_pac, "--data-dir", self.data_dir,
                 "--master-key-file", os.path.join(self.data_dir, "master.key")])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["imported"], 4)


if __name__ == "__main__":
    unittest.main()
