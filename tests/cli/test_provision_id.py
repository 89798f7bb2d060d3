"""roost pid: hashes and verify codes against the seed vectors, random IDs, request and report CSVs."""

import csv
import hashlib
import io
import json
import os
import re
import unittest

import roostcli

PID_RE = re.compile(r"^[A-Z2-7]{20}$")
HEADER = ["provisionId", "model", "serialNumber", "fixedDevEUI", "devEUI", "appEUI"]


def vectors():
    with open(os.path.join(roostcli.VECTORS, "provisioning.json")) as f:
        return json.load(f)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def sha(pid, suffix=".MatchX"):
    return hashlib.sha256((pid + suffix).encode()).hexdigest()


class PidTestCase(unittest.TestCase):
    def setUp(self):
        self._tmp = roostcli.temp_dir()
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, content):
        with open(self.path(name), "w", newline="") as f:
            f.write(content)
        return self.path(name)

    def ok(self, *args):
        proc = roostcli.run(args)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc

    def fails(self, *args, says=None):
        """Runs roost expecting failure with one-line 'roost: ...' errors on stderr."""
        proc = roostcli.run(args)
        self.assertNotEqual(proc.returncode, 0, proc.stdout)
        lines = proc.stderr.strip().split("\n")
        self.assertTrue(lines and all(line.startswith("roost: ") for line in lines), proc.stderr)
        if says is not None:
            self.assertIn(says, proc.stderr)
        return proc


class HashAndVerifyCode(PidTestCase):
    def test_hash_matches_seed_vector(self):
        v = vectors()["seed"]["provisionIdHash"]
        out = self.ok("pid", "hash", v["provisionId"]).stdout
        self.assertEqual(out, v["sha256"] + "\n")

    def test_hash_matches_every_transcript(self):
        for t in vectors()["transcripts"]:
            out = self.ok("pid", "hash", t["provisionId"]).stdout.strip()
            self.assertEqual(out, t["provisionIdHash"])

    def test_hash_canonicalises_lowercase_input(self):
        v = vectors()["seed"]["provisionIdHash"]
        out = self.ok("pid", "hash", v["provisionId"].lower()).stdout.strip()
        self.assertEqual(out, v["sha256"])

    def test_hash_suffix_is_a_setting(self):
        pid = "ABCDEFGHIJKLMNOPQRST"
        out = self.ok("pid", "hash", pid, "--hash-suffix", ".Other").stdout.strip()
        self.assertEqual(out, sha(pid, ".Other"))
        self.assertNotEqual(out, sha(pid))

    def test_hash_rejects_invalid_provision_ids(self):
        self.fails("pid", "hash", "ABCDEFGHIJKLMNOPQRS", says="expected 20 characters")
        self.fails("pid", "hash", "ABCDEFGHIJKLMNOPQRS1", says="Base32")

    def test_verify_code_matches_seed_vector(self):
        v = vectors()["seed"]["verifyCode"]
        out = self.ok("pid", "verify-code", v["provisionId"], v["nonce"]).stdout
        self.assertEqual(out, v["verifyCode"] + "\n")
        self.assertEqual(out.strip(), "2e69bb5ed78b5ee80c6a8adc8191ddf8")

    def test_verify_code_accepts_lowercase_pid_and_uppercase_nonce(self):
        v = vectors()["seed"]["verifyCode"]
        out = self.ok("pid", "verify-code", v["provisionId"].lower(), v["nonce"].upper()).stdout
        self.assertEqual(out.strip(), v["verifyCode"])

    def test_verify_code_rejects_bad_nonce(self):
        pid = "SERIALNUMBEROOOOOOOO"
        self.fails("pid", "verify-code", pid, "010203", says="expected 8 hex digits")
        self.fails("pid", "verify-code", pid, "0102030x", says="not a hex digit")

    def test_every_subcommand_has_help(self):
        for sub in ["hash", "verify-code", "generate", "request", "report"]:
            proc = self.ok("pid", sub, "--help")
            self.assertIn("Usage", proc.stdout)


class Generate(PidTestCase):
    def test_generates_distinct_valid_ids(self):
        lines = self.ok("pid", "generate", "--count", "2000").stdout.split("\n")
        self.assertEqual(lines[-1], "")
        ids = lines[:-1]
        self.assertEqual(len(ids), 2000)
        self.assertEqual(len(set(ids)), 2000)
        for pid in ids:
            self.assertRegex(pid, PID_RE)
        # 40 000 random symbols: every one of the 32 appears.
        self.assertEqual(len(set("".join(ids))), 32)

    def test_two_runs_differ(self):
        a = self.ok("pid", "generate", "--count", "5").stdout
        b = self.ok("pid", "generate", "--count", "5").stdout
        self.assertNotEqual(a, b)

    def test_rejects_zero_count(self):
        proc = roostcli.run(["pid", "generate", "--count", "0"])
        self.assertNotEqual(proc.returncode, 0)


class RequestAndReport(PidTestCase):
    def test_request_from_serial_range_then_report(self):
        req = self.path("req.csv")
        self.ok("pid", "request", "--manufacturer", "MatchX GmbH", "--model", "M-1234",
                "--serials", "S000000..S000009", "-o", req)
        rows = read_csv(req)
        self.assertEqual(rows[0], ["MatchX Device Provisioning", "", "", "", "", ""])
        self.assertEqual(rows[1], ["manufacturerName", "MatchX GmbH", "", "", "", ""])
        self.assertEqual(rows[2], HEADER)
        self.assertEqual(len(rows), 13)
        for i, row in enumerate(rows[3:]):
            self.assertEqual(row, ["", "M-1234", f"S{i:06d}", "N", "", "0000000000000000"])

        rep = self.path("rep.csv")
        self.ok("pid", "report", req, "-o", rep)
        rows = read_csv(rep)
        self.assertEqual(rows[0], ["MatchX Device Provisioning"] + [""] * 6)
        self.assertEqual(rows[2], HEADER + ["provisionIdHash"])
        pids = set()
        for i, row in enumerate(rows[3:]):
            self.assertEqual(row[1:6], ["M-1234", f"S{i:06d}", "N", "", "0000000000000000"])
            self.assertRegex(row[0], PID_RE)
            self.assertEqual(row[6], sha(row[0]))
            pids.add(row[0])
        self.assertEqual(len(pids), 10)

    def test_report_keeps_given_ids_and_uses_hash_suffix(self):
        req = self.write("req.csv",
                         "\ufeffMatchX Device Provisioning,,,,,\r\n"
                         "manufacturerName,\"Acme, Inc.\",,,,\r\n"
                         "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI\r\n"
                         "testpidooooooooooooo,M,S1,y,AA-BB-CC-DD-EE-FF-00-11,0000000000000000\r\n"
                         ",M,S2,N,,0000000000000000\r\n"
                         ",,,,,\r\n\r\n")
        rep = self.path("rep.csv")
        self.ok("pid", "report", req, "-o", rep, "--hash-suffix", ".Test")
        rows = read_csv(rep)
        self.assertEqual(rows[1][:2], ["manufacturerName", "Acme, Inc."])
        self.assertEqual(len(rows), 5)
        self.assertEqual(rows[3], ["TESTPIDOOOOOOOOOOOOO", "M", "S1", "Y", "aabbccddeeff0011",
                                   "0000000000000000", sha("TESTPIDOOOOOOOOOOOOO", ".Test")])
        self.assertRegex(rows[4][0], PID_RE)
        self.assertNotEqual(rows[4][0], "TESTPIDOOOOOOOOOOOOO")
        self.assertEqual(rows[4][6], sha(rows[4][0], ".Test"))

    def test_request_with_bad_rows_writes_nothing(self):
        req = self.write("bad.csv",
                         "MatchX Device Provisioning,,,,,\n"
                         "manufacturerName,Acme,,,,\n"
                         "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI\n"
                         ",M,S1,N,,0000000000000000\n"
                         ",M,S2,Y,,0000000000000000\n"
                         ",M,S3,N,,0000000000000000\n"
                         "ABCDEFGHIJKLMNOPQRS1,M,S1,N,,0000000000000000\n")
        out = self.path("out.csv")
        proc = self.fails("pid", "report", req, "-o", out)
        self.assertIn("bad.csv: line 5: fixedDevEUI is Y but devEUI is empty", proc.stderr)
        self.assertIn("bad.csv: line 7: provisionId", proc.stderr)
        self.assertIn("bad.csv: line 7: serial number 'S1' already on line 4", proc.stderr)
        self.assertFalse(os.path.exists(out))
        self.assertEqual(os.listdir(self.dir), ["bad.csv"])

    def test_single_bad_row_is_one_line(self):
        req = self.write("bad.csv",
                         "MatchX Device Provisioning,,,,,\n"
                         "manufacturerName,Acme,,,,\n"
                         "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI\n"
                         ",M,S1,N,000000fffe000001,0000000000000000\n")
        out = self.path("out.csv")
        proc = self.fails("pid", "report", req, "-o", out)
        self.assertEqual(proc.stderr.count("\n"), 1)
        self.assertIn("bad.csv: line 4: fixedDevEUI is N but devEUI is given", proc.stderr)
        self.assertFalse(os.path.exists(out))

    def test_bad_signature_and_header_name_their_lines(self):
        req = self.write("sig.csv", "Device Provisioning,,,,,\nmanufacturerName,A,,,,\n"
                                    "provisionId,model,serial,fixedDevEUI,devEUI,appEUI\n")
        proc = self.fails("pid", "report", req, "-o", self.path("o.csv"))
        self.assertIn("sig.csv: line 1: expected the signature", proc.stderr)
        self.assertIn("sig.csv: line 3: expected the header", proc.stderr)

    def test_report_of_a_report_is_refused(self):
        req = self.path("req.csv")
        rep = self.path("rep.csv")
        self.ok("pid", "request", "--manufacturer", "A", "--model", "M", "--serials", "S1..S2",
                "-o", req)
        self.ok("pid", "report", req, "-o", rep)
        self.fails("pid", "report", rep, "-o", self.path("rep2.csv"), says="already a report")

    def test_missing_request_file(self):
        self.fails("pid", "report", self.path("nope.csv"), "-o", self.path("o.csv"),
                   says="nope.csv")

    def test_output_is_not_overwritten_without_force(self):
        req = self.path("req.csv")
        self.ok("pid", "request", "--manufacturer", "A", "--model", "M", "--serials", "S1..S2",
                "-o", req)
        rep = self.write("rep.csv", "keep me\n")
        self.fails("pid", "report", req, "-o", rep, says="already exists")
        with open(rep) as f:
            self.assertEqual(f.read(), "keep me\n")
        self.ok("pid", "report", req, "-o", rep, "--force")
        self.assertEqual(len(read_csv(rep)), 5)


class SerialRanges(PidTestCase):
    def request(self, serials):
        return roostcli.run(["pid", "request", "--manufacturer", "A", "--model", "M",
                             "--serials", serials, "-o", self.path("out.csv")])

    def test_range_keeps_prefix_and_width(self):
        self.assertEqual(self.request("AB-12-0098..AB-12-0102").returncode, 0)
        serials = [row[2] for row in read_csv(self.path("out.csv"))[3:]]
        self.assertEqual(serials, ["AB-12-0098", "AB-12-0099", "AB-12-0100", "AB-12-0101",
                                   "AB-12-0102"])

    def test_single_serial_range(self):
        self.assertEqual(self.request("S7..S7").returncode, 0)
        self.assertEqual(len(read_csv(self.path("out.csv"))), 4)

    def test_range_errors(self):
        cases = {
            "S000000-S000999": "expected FIRST..LAST",
            "S01..S02..S03": "expected FIRST..LAST",
            "S000010..S000001": "first serial comes after the last",
            "S0001..S001": "different widths",
            "A0001..B0002": "different prefixes",
            "SA..SB": "does not end in a number",
            "..S1": "does not end in a number",
        }
        for spec, message in cases.items():
            with self.subTest(spec=spec):
                proc = self.request(spec)
                self.assertNotEqual(proc.returncode, 0)
                self.assertIn(message, proc.stderr)
                self.assertEqual(proc.stderr.count("\n"), 1, proc.stderr)
                self.assertFalse(os.path.exists(self.path("out.csv")))

    def test_needs_serials(self):
        self.fails("pid", "request", "--manufacturer", "A", "--model", "M", "-o",
                   self.path("o.csv"), says="--serials")
        self.assertFalse(os.path.exists(self.path("o.csv")))

    def test_serials_and_serial_file_exclude_each_other(self):
        f = self.write("serials.txt", "S1\n")
        proc = roostcli.run(["pid", "request", "--manufacturer", "A", "--model", "M", "--serials",
                             "S1..S2", "--serial-file", f, "-o", self.path("o.csv")])
        self.assertNotEqual(proc.returncode, 0)
        self.assertFalse(os.path.exists(self.path("o.csv")))


class SerialAndMacFiles(PidTestCase):
    def request(self, *extra):
        return roostcli.run(["pid", "request", "--manufacturer", "A", "--model", "M", *extra,
                             "-o", self.path("out.csv")])

    def test_serial_file_skips_blanks_and_comments(self):
        f = self.write("serials.txt", "# serials\r\nX-1\r\n\r\n  X-2  \r\nX,3\r\n")
        proc = self.request("--serial-file", f)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows = read_csv(self.path("out.csv"))[3:]
        self.assertEqual([r[2] for r in rows], ["X-1", "X-2", "X,3"])

    def test_serial_file_duplicate_names_both_lines(self):
        f = self.write("serials.txt", "X1\nX2\n\nX1\n")
        proc = self.request("--serial-file", f)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("serials.txt: line 4: serial 'X1' already on line 1", proc.stderr)
        self.assertFalse(os.path.exists(self.path("out.csv")))

    def test_mac_file_gives_fixed_dev_euis(self):
        v = vectors()["seed"]["macToEui"]
        macs = self.write("macs.txt", f"{v['mac']}\n# next\nAA-BB-CC-DD-EE-FF\naabb.ccdd.ee00\n")
        proc = self.request("--serials", "S1..S3", "--mac-file", macs)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows = read_csv(self.path("out.csv"))[3:]
        self.assertEqual([r[3:5] for r in rows], [["Y", v["eui"]], ["Y", "aabbccfffeddeeff"],
                                                  ["Y", "aabbccfffeddee00"]])
        rep = self.path("rep.csv")
        self.ok("pid", "report", self.path("out.csv"), "-o", rep)
        self.assertEqual([r[4] for r in read_csv(rep)[3:]], [r[4] for r in rows])

    def test_request_reproduces_the_seed_example(self):
        # The request example of the provisioning guide, byte for byte (LF line ends).
        expected = ("MatchX Device Provisioning,,,,,\n"
                    "manufacturerName,MatchX GmbH,,,,\n"
                    "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI\n")
        for i in range(8):
            expected += f",M-1234,S00000{i},Y,000000fffe00000{i},0000000000000000\n"
        macs = self.write("macs.txt", "".join(f"00:00:00:00:00:0{i}\n" for i in range(8)))
        proc = roostcli.run(["pid", "request", "--manufacturer", "MatchX GmbH", "--model",
                             "M-1234", "--serials", "S000000..S000007", "--mac-file", macs,
                             "-o", "-"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, expected)
        req = self.write("seed.csv", expected.replace("\n", "\r\n"))
        proc = self.ok("pid", "report", req, "-o", "-")
        rows = list(csv.reader(io.StringIO(proc.stdout)))
        self.assertEqual(len(rows), 11)
        self.assertEqual([r[4] for r in rows[3:]], [f"000000fffe00000{i}" for i in range(8)])

    def test_mac_count_mismatch_is_refused(self):
        macs = self.write("macs.txt", "010203040506\n010203040507\n")
        proc = self.request("--serials", "S1..S3", "--mac-file", macs)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("2 MAC addresses for 3 serials", proc.stderr)
        self.assertFalse(os.path.exists(self.path("out.csv")))

    def test_bad_mac_names_its_line(self):
        macs = self.write("macs.txt", "010203040506\n\n0102030405\n")
        proc = self.request("--serials", "S1..S2", "--mac-file", macs)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("macs.txt: line 3: MAC address", proc.stderr)
        self.assertFalse(os.path.exists(self.path("out.csv")))

    def test_duplicate_mac_is_refused(self):
        macs = self.write("macs.txt", "01:02:03:04:05:06\n01-02-03-04-05-06\n")
        proc = self.request("--serials", "S1..S2", "--mac-file", macs)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("macs.txt: line 2:", proc.stderr)
        self.assertIn("already on line 1", proc.stderr)

    def test_empty_model_or_manufacturer_is_refused(self):
        for flag in ["--model", "--manufacturer"]:
            args = {"--model": "M", "--manufacturer": "A", flag: " "}
            proc = roostcli.run(["pid", "request", "--serials", "S1..S2", "-o",
                                 self.path("out.csv")] + [x for kv in args.items() for x in kv])
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn(f"roost: {flag}: must not be empty", proc.stderr)
            self.assertFalse(os.path.exists(self.path("out.csv")))


if __name__ == "__main__":
    unittest.main()
