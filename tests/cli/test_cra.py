"""roost cra decrypt / issue, run as the real binary and checked against openssl and the vectors."""

import json
import os
import stat
import subprocess
import unittest

from roostcli import VECTORS, run, temp_dir

SAMPLE = os.path.join(VECTORS, "cra-sample")
KEY = "00112233445566778899AABBCCDDEEFF"


def openssl_decrypt(path, key, mode="ecb"):
    args = ["openssl", "enc", "-d", f"-aes-128-{mode}", "-nopad", "-K", key, "-in", path]
    if mode == "cbc":
        args += ["-iv", "00" * 16]
    return subprocess.run(args, check=True, capture_output=True).stdout


class DecryptSample(unittest.TestCase):
    def setUp(self):
        self.tmp = temp_dir()
        with open(os.path.join(SAMPLE, "expected.json")) as f:
            self.expected = json.load(f)

    def tearDown(self):
        self.tmp.cleanup()

    def test_dump_is_byte_identical_to_aesd_output(self):
        out = os.path.join(self.tmp.name, "id_key.txt")
        r = run(["cra", "decrypt", KEY, os.path.join(SAMPLE, "id_key_encrypted.bin"), out])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, "rb") as f, open(os.path.join(SAMPLE, "id_key_decrypted.txt"), "rb") as g:
            self.assertEqual(f.read(), g.read())
        self.assertIn("in clear", r.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)

    def test_an_existing_readable_output_is_made_private_and_a_link_is_not_followed(self):
        out = os.path.join(self.tmp.name, "id_key.txt")
        with open(out, "w") as f:
            f.write("an older, longer file that was readable by everyone\n" * 100)
        os.chmod(out, 0o644)
        r = run(["cra", "decrypt", KEY, os.path.join(SAMPLE, "id_key_encrypted.bin"), out])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        with open(out, "rb") as f, open(os.path.join(SAMPLE, "id_key_decrypted.txt"), "rb") as g:
            self.assertEqual(f.read(), g.read())  # the old content is gone
        # A symbolic link planted where the output goes is refused, its target untouched.
        target = os.path.join(self.tmp.name, "elsewhere.txt")
        with open(target, "w") as f:
            f.write("not yours")
        link = os.path.join(self.tmp.name, "link.txt")
        os.symlink(target, link)
        r = run(["cra", "decrypt", KEY, os.path.join(SAMPLE, "id_key_encrypted.bin"), link])
        self.assertNotEqual(r.returncode, 0)
        with open(target) as f:
            self.assertEqual(f.read(), "not yours")

    def test_lowercase_key_is_accepted(self):
        r = run(["cra", "decrypt", KEY.lower(), os.path.join(SAMPLE, "id_key_encrypted.bin"), "-"])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(SAMPLE, "id_key_decrypted.txt")) as g:
            self.assertEqual(r.stdout, g.read())

    def test_single_pair_by_index_and_by_id(self):
        for i, dev in enumerate(self.expected["devices"]):
            want = f"{dev['id']};{dev['key']}\n"
            r = run(["cra", "decrypt", KEY, os.path.join(SAMPLE, "id_key_encrypted.bin"), "--pair", i])
            self.assertEqual((r.returncode, r.stdout), (0, want), r.stderr)
            r = run(["cra", "decrypt", KEY, os.path.join(SAMPLE, "id_key_encrypted.bin"),
                     "--id", dev["id"].lstrip("0").lower()])
            self.assertEqual((r.returncode, r.stdout), (0, want), r.stderr)
            self.assertNotIn("in clear", r.stderr)

    def test_pairs_and_json_formats(self):
        enc = os.path.join(SAMPLE, "id_key_encrypted.bin")
        r = run(["cra", "decrypt", KEY, enc, "-", "--format", "pairs"])
        want = "".join(f"{d['id']};{d['key']}\n" for d in self.expected["devices"])
        self.assertEqual(r.stdout, want)
        r = run(["cra", "decrypt", KEY, enc, "-", "--format", "json"])
        self.assertEqual(json.loads(r.stdout),
                         [{"id": d["id"], "key": d["key"]} for d in self.expected["devices"]])

    def test_bad_inputs_fail_with_one_clear_line(self):
        enc = os.path.join(SAMPLE, "id_key_encrypted.bin")
        truncated = os.path.join(self.tmp.name, "cut.bin")
        with open(enc, "rb") as f, open(truncated, "wb") as g:
            g.write(f.read()[:100])
        cases = [
            (["cra", "decrypt", KEY[:30], enc, "-"], "expected 32 hex digits"),
            (["cra", "decrypt", "Z" + KEY[1:], enc, "-"], "not a hex digit at position 1"),
            (["cra", "decrypt", KEY, truncated, "-"], "offset 0x60"),
            (["cra", "decrypt", KEY, os.path.join(self.tmp.name, "missing.bin"), "-"], "cannot open"),
            (["cra", "decrypt", KEY, enc, "--pair", "4"], "holds 4 pairs"),
            (["cra", "decrypt", KEY, enc, "--id", "1234"], "not in"),
            (["cra", "decrypt", KEY, enc, "--id", "xyz"], "--id"),
            (["cra", "decrypt", KEY, enc], "OUT is required"),
            (["cra", "decrypt", KEY, enc, "-", "--mode", "ctr"], "--mode"),
        ]
        for args, needle in cases:
            with self.subTest(args=args):
                r = run(args)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(needle, r.stderr)
                self.assertEqual(r.stdout, "")
        self.assertIn("cut.bin", run(["cra", "decrypt", KEY, truncated, "-"]).stderr)


class Issue(unittest.TestCase):
    def setUp(self):
        self.tmp = temp_dir()

    def tearDown(self):
        self.tmp.cleanup()

    def issue(self, *extra):
        out = os.path.join(self.tmp.name, "batch")
        r = run(["cra", "issue", "--enc-key", KEY, "--out-dir", out, *extra])
        self.assertEqual(r.returncode, 0, r.stderr)
        return out

    def test_issue_then_openssl_agrees_with_roost(self):
        out = self.issue("--count", 500, "--first-id", "0041A2F0")
        enc = os.path.join(out, "id_key_encrypted.bin")
        clear = openssl_decrypt(enc, KEY)
        self.assertEqual(len(clear), 500 * 32)
        r = run(["cra", "decrypt", KEY, enc, "-", "--format", "raw"], text=False)
        self.assertEqual(r.stdout, clear)
        r = run(["cra", "decrypt", KEY, enc, "-", "--format", "pairs"])
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 500)
        with open(os.path.join(out, "id_pac.txt")) as f:
            id_pac = f.read().splitlines()
        # The PACs are secrets: their file is its owner's alone.
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(out, "id_pac.txt")).st_mode), 0o600)
        for i, (pair, idpac) in enumerate(zip(lines, id_pac)):
            dev_id, key = pair.split(";")
            block = clear[32 * i:32 * i + 32]
            self.assertEqual(dev_id, "%08X" % (0x41A2F0 + i))
            self.assertEqual(block[:4].hex().upper(), dev_id)
            self.assertEqual(block[4:16], bytes(12))
            self.assertEqual(block[16:].hex().upper(), key)
            pid, pac = idpac.split(";")
            self.assertEqual(pid, dev_id)
            self.assertRegex(pac, r"^[0-9A-F]{16}$")
        self.assertEqual(len(set(l.split(";")[1] for l in lines)), 500, "KEYs must be distinct")

    def test_cbc_mode_matches_openssl_cbc_with_zero_iv(self):
        out = self.issue("--count", 64, "--first-id", "100", "--mode", "cbc")
        enc = os.path.join(out, "id_key_encrypted.bin")
        clear = openssl_decrypt(enc, KEY, "cbc")
        r = run(["cra", "decrypt", KEY, enc, "-", "--format", "raw", "--mode", "cbc"], text=False)
        self.assertEqual(r.stdout, clear)
        r = run(["cra", "decrypt", KEY, enc, "--pair", 37, "--mode", "cbc"])
        self.assertEqual(r.stdout.split(";")[0], "%08X" % (0x100 + 37))
        self.assertEqual(r.stdout.strip().split(";")[1], clear[32 * 37 + 16:32 * 38].hex().upper())

    def test_random_ids_are_unique(self):
        out = self.issue("--count", 2000, "--random-ids")
        with open(os.path.join(out, "id_pac.txt")) as f:
            ids = [l.split(";")[0] for l in f.read().splitlines()]
        self.assertEqual(len(ids), 2000)
        self.assertEqual(len(set(ids)), 2000)

    def test_refuses_to_overwrite(self):
        out = self.issue("--count", 3, "--first-id", "1")
        with open(os.path.join(out, "id_pac.txt")) as f:
            before = f.read()
        r = run(["cra", "issue", "--enc-key", KEY, "--out-dir", out, "--count", 3, "--first-id", "9"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("refusing to overwrite", r.stderr)
        with open(os.path.join(out, "id_pac.txt")) as f:
            self.assertEqual(f.read(), before)

    def test_key_file(self):
        key_file = os.path.join(self.tmp.name, "key.txt")
        with open(key_file, "w") as f:
            f.write(KEY + "\n")
        out = os.path.join(self.tmp.name, "k")
        r = run(["cra", "issue", "--enc-key-file", key_file, "--out-dir", out, "--count", 2,
                 "--first-id", "AB"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(run(["cra", "decrypt", KEY, os.path.join(out, "id_key_encrypted.bin"),
                              "--pair", 1]).stdout[:9], "000000AC;")

    def test_bad_arguments(self):
        out = os.path.join(self.tmp.name, "bad")
        cases = [
            (["--count", 2, "--first-id", "FFFFFFFF"], "runs past the last device ID"),
            (["--count", 2], "--first-id HEX or --random-ids"),
            (["--count", 2, "--first-id", "123456789"], "--first-id"),
            (["--count", 0, "--first-id", "1"], "--count"),
        ]
        for extra, needle in cases:
            with self.subTest(extra=extra):
                r = run(["cra", "issue", "--enc-key", KEY, "--out-dir", out, *extra])
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(needle, r.stderr)
        r = run(["cra", "issue", "--enc-key", "00", "--out-dir", out, "--count", 1, "--first-id", "1"])
        self.assertIn("expected 32 hex digits", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(out, "id_pac.txt")))


if __name__ == "__main__":
    unittest.main()
