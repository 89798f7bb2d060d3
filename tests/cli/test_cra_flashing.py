"""roost cra next / roost cra journal: the flashing bench, run on the real binary.

The torture test hands out a whole batch on two benches sharing one journal while
kill -9'ing `roost cra next` at random moments; it prints its seed (set
ROOST_TEST_SEED to replay one run's random choices).
"""

import hashlib
import os
import random
import re
import signal
import subprocess
import threading
import time
import unittest

import roostcli

ENC_KEY = "2b7e151628aed2a6abf7158809cf4f3c"


def issue(dir_path, count, first_id="41A2F0", key=ENC_KEY, mode="ecb"):
    """Issues a batch; returns (encrypted file, id_pac file)."""
    r = roostcli.run(["cra", "issue", "--count", count, "--first-id", first_id, "--enc-key", key,
                      "--out-dir", dir_path, "--mode", mode])
    if r.returncode != 0:
        raise AssertionError("cra issue failed: " + r.stderr)
    return os.path.join(dir_path, "id_key_encrypted.bin"), os.path.join(dir_path, "id_pac.txt")


def openssl_pairs(enc_path, key=ENC_KEY, mode="ecb"):
    """Decrypts the whole file with openssl (independently of roost): {ID: KEY}."""
    args = ["openssl", "enc", "-d", "-aes-128-" + mode, "-nopad", "-K", key, "-in", enc_path]
    if mode == "cbc":
        args += ["-iv", "00" * 16]
    clear = subprocess.run(args, check=True, capture_output=True).stdout
    out = {}
    for off in range(0, len(clear), 32):
        out[clear[off:off + 4].hex().upper()] = clear[off + 16:off + 32].hex().upper()
    return out


def read_id_pac(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                i, p = line.split(";")
                out[i] = p
    return out


def parse_journal(path):
    """Replays a journal independently of roost: {ID: outcome}, checking every checksum."""
    outcomes = {}
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    assert lines[-1] == b"", "journal does not end in a newline"
    for n, raw in enumerate(lines[:-1], start=1):
        text = raw.decode("ascii")
        body, _, cks = text.rpartition(" ")
        assert hashlib.sha256(body.encode()).hexdigest()[:8] == cks, "line %d: checksum" % n
        fields = body.split(" ")
        if n == 1:
            assert fields[0] == "roost-bench-journal", text
        elif fields[0] == "reserved":
            assert fields[2] not in outcomes, "line %d: %s reserved twice" % (n, fields[2])
            outcomes[fields[2]] = "pending"
        elif fields[0] in ("flashed", "failed"):
            assert fields[2] in outcomes, "line %d: outcome of an unreserved pair" % n
            outcomes[fields[2]] = fields[0]
        elif fields[0] == "withdrawn":
            outcomes["withdrawn#" + fields[1]] = "withdrawn"
        else:
            raise AssertionError("line %d: unknown record %r" % (n, text))
    return outcomes


def report(journal):
    r = roostcli.run(["cra", "journal", "--journal", journal])
    if r.returncode != 0:
        raise AssertionError("cra journal failed: " + r.stderr)
    return {k: (int(v) if v.isdigit() else v)
            for k, v in re.findall(r"^(\w+): (.*)$", r.stdout, re.M)}


def next_args(journal, enc, *extra):
    return ["cra", "next", "--enc-key", ENC_KEY, "--journal", journal, enc, *extra]


class FlashingTortureTest(unittest.TestCase):
    def test_kill9_at_random_moments_never_hands_a_pair_out_twice(self):
        seed = int(os.environ.get("ROOST_TEST_SEED", random.SystemRandom().randrange(1 << 32)))
        print("\ntest_cra_flashing torture seed: %d (set ROOST_TEST_SEED to replay)" % seed)
        rng = random.Random(seed)
        count = 1000
        with roostcli.temp_dir() as d:
            enc, idpac = issue(os.path.join(d, "batch"), count)
            journal = os.path.join(d, "bench.journal")
            log = os.path.join(d, "flasher.log")
            flasher = ('printf "%s;%s;%s;%s;%s\\n" "$ROOST_ID" "$ROOST_KEY" "$ROOST_PAC" '
                       '"$ROOST_SERIAL" "$FLASH_EXIT" >> ' + log +
                       '; [ "$FLASH_SLEEP" = 0 ] || sleep "$FLASH_SLEEP"; exit "$FLASH_EXIT"')
            runs = {}  # serial -> (returncode or None when killed, flash exit)
            killed = [0]
            exhausted = []
            failures = []
            lock = threading.Lock()

            def bench(line):
                # One production line; two run at once on the same journal.
                rng = random.Random("%d-%d" % (seed, line))
                for run in range(3 * count):
                    serial = "L%dS%05d" % (line, run)
                    flash_exit = 0 if rng.random() < 0.9 else rng.choice([1, 7])
                    sleep = 0 if rng.random() < 0.8 else round(rng.uniform(0.002, 0.03), 3)
                    env = dict(os.environ, FLASH_EXIT=str(flash_exit), FLASH_SLEEP=str(sleep))
                    proc = subprocess.Popen(
                        [roostcli.ROOST_BIN, *next_args(journal, enc, "--id-pac", idpac, "--exec",
                                                        flasher, "--serial", serial)],
                        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                    rc = None
                    if rng.random() < 0.25:
                        try:
                            rc = proc.wait(timeout=rng.uniform(0, 0.03))
                        except subprocess.TimeoutExpired:
                            proc.send_signal(signal.SIGKILL)
                            with lock:
                                killed[0] += 1
                        err = proc.communicate()[1]
                    else:
                        err = proc.communicate()[1]
                        rc = proc.returncode
                    if rc == 2:
                        exhausted.append(err)
                        return
                    with lock:
                        runs[serial] = (rc, flash_exit)
                    if rc not in (None, 0, 3):
                        failures.append("line %d run %d: rc %s: %s" % (line, run, rc, err))
                        return

            lines = [threading.Thread(target=bench, args=(i,)) for i in range(2)]
            for t in lines:
                t.start()
            for t in lines:
                t.join()
            killed = killed[0]
            self.assertEqual(failures, [], "seed %d" % seed)
            self.assertEqual(len(exhausted), 2, "seed %d: the batch was never used up" % seed)
            for err in exhausted:
                self.assertIn("all %d pairs of the file are used" % count, err)
            time.sleep(0.2)  # flashers orphaned by a kill finish their sleep

            handed = []
            with open(log) as f:
                for line in f:
                    handed.append(line.rstrip("\n").split(";"))
            ids = [h[0] for h in handed]
            self.assertEqual(len(ids), len(set(ids)),
                             "seed %d: an ID was handed to the flasher twice" % seed)

            truth = openssl_pairs(enc)
            pacs = read_id_pac(idpac)
            self.assertEqual(len(truth), count)
            for id_, key, pac, serial, flash_exit in handed:
                self.assertEqual(truth.get(id_), key, "seed %d: wrong KEY for %s" % (seed, id_))
                self.assertEqual(pacs[id_], pac)

            outcomes = parse_journal(journal)
            rep = report(journal)
            self.assertEqual(rep["used"], count)
            self.assertEqual(rep["remaining"], 0)
            self.assertEqual(rep["flashed"] + rep["failed"] + rep["pending"] + rep["withdrawn"],
                             count, "seed %d: %r" % (seed, rep))
            values = list(outcomes.values())
            self.assertEqual(rep["flashed"], values.count("flashed"))
            self.assertEqual(rep["failed"], values.count("failed"))
            self.assertEqual(rep["pending"], values.count("pending"))
            # Only a kill can leave a pair pending here.
            self.assertLessEqual(rep["pending"] + rep["withdrawn"], killed)

            # Every pair with an outcome went to the flasher, and the outcome is its exit status.
            by_id = {h[0]: h for h in handed}
            for id_, outcome in outcomes.items():
                if outcome in ("flashed", "failed"):
                    self.assertIn(id_, by_id, "seed %d: %s %s but never handed out"
                                  % (seed, id_, outcome))
                    self.assertEqual(outcome == "flashed", by_id[id_][4] == "0", id_)
            # A run that was not killed recorded its outcome.
            for id_, key, pac, serial, flash_exit in handed:
                rc, expected_exit = runs[serial]
                self.assertEqual(int(flash_exit), expected_exit)
                if rc is not None:
                    self.assertEqual(rc, 0 if expected_exit == 0 else 3)
                    self.assertEqual(outcomes[id_], "flashed" if rc == 0 else "failed", id_)

            # No KEY ever reaches the journal.
            with open(journal) as f:
                text = f.read()
            for key in truth.values():
                self.assertNotIn(key, text.upper())

            pending = roostcli.run(["cra", "journal", "--journal", journal, "--pending"])
            self.assertEqual(pending.returncode, 0, pending.stderr)
            pending_ids = [line.split()[0] for line in pending.stdout.splitlines()]
            self.assertEqual(sorted(pending_ids),
                             sorted(i for i, o in outcomes.items() if o == "pending"))

            out = os.path.join(d, "customer.txt")
            r = roostcli.run(["cra", "journal", "--journal", journal, "--export-id-pac", out,
                              "--id-pac", idpac])
            self.assertEqual(r.returncode, 0, r.stderr)
            exported = read_id_pac(out)
            flashed = {i for i, o in outcomes.items() if o == "flashed"}
            self.assertEqual(set(exported), flashed)
            for i, p in exported.items():
                self.assertEqual(p, pacs[i])
            print("runs %d, killed %d, %r" % (len(runs) + 2, killed, rep))


class FlashingTest(unittest.TestCase):
    def setUp(self):
        self._dir = roostcli.temp_dir()
        self.d = self._dir.name
        self.journal = os.path.join(self.d, "bench.journal")

    def tearDown(self):
        self._dir.cleanup()

    def test_two_processes_at_once_never_share_a_pair(self):
        count = 200
        enc, _ = issue(os.path.join(self.d, "b"), count)
        got = [[], []]
        errors = []

        def bench(slot):
            while True:
                r = roostcli.run(next_args(self.journal, enc))
                if r.returncode == 2:
                    return
                if r.returncode != 0:
                    errors.append(r.stderr)
                    return
                got[slot].append(r.stdout.strip())

        threads = [threading.Thread(target=bench, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        lines = got[0] + got[1]
        self.assertEqual(len(lines), count)
        self.assertEqual(len({line.split(";")[0] for line in lines}), count)
        self.assertGreater(len(got[0]), 0)
        self.assertGreater(len(got[1]), 0)
        truth = openssl_pairs(enc)
        for line in lines:
            id_, key = line.split(";")
            self.assertEqual(truth[id_], key)
        rep = report(self.journal)
        self.assertEqual((rep["used"], rep["pending"], rep["remaining"]), (count, count, 0))

    def test_exhaustion(self):
        enc, _ = issue(os.path.join(self.d, "b"), 3)
        seen = []
        for _ in range(3):
            r = roostcli.run(next_args(self.journal, enc))
            self.assertEqual(r.returncode, 0, r.stderr)
            seen.append(r.stdout.split(";")[0])
        self.assertEqual(seen, ["0041A2F0", "0041A2F1", "0041A2F2"])
        r = roostcli.run(next_args(self.journal, enc))
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, "")
        self.assertIn("all 3 pairs of the file are used (0 flashed, 0 failed, 3 pending)",
                      r.stderr)
        self.assertEqual(report(self.journal)["remaining"], 0)

    def test_wrong_key_length(self):
        enc, _ = issue(os.path.join(self.d, "b"), 3)
        short = ENC_KEY[:31]
        r = roostcli.run(["cra", "next", "--enc-key", short, "--journal", self.journal, enc])
        self.assertEqual(r.returncode, 1)
        self.assertIn("--enc-key: key: expected 32 hex digits, got 31", r.stderr)
        self.assertNotIn(short, r.stderr)
        self.assertFalse(os.path.exists(self.journal))
        key_file = os.path.join(self.d, "key")
        with open(key_file, "w") as f:
            f.write(ENC_KEY + "00\n")
        r = roostcli.run(["cra", "next", "--enc-key-file", key_file, "--journal", self.journal,
                          enc])
        self.assertEqual(r.returncode, 1)
        self.assertIn(key_file + ": encryption: key: expected 32 hex digits, got 34", r.stderr)
        self.assertFalse(os.path.exists(self.journal))

    def test_journal_bound_to_another_file_is_refused(self):
        enc_a, _ = issue(os.path.join(self.d, "a"), 5)
        enc_b, _ = issue(os.path.join(self.d, "b"), 5)  # same size and IDs, other KEYs
        self.assertEqual(roostcli.run(next_args(self.journal, enc_a)).returncode, 0)
        with open(self.journal, "rb") as f:
            before = f.read()
        r = roostcli.run(next_args(self.journal, enc_b))
        self.assertEqual(r.returncode, 1)
        self.assertIn("journal is bound to another file", r.stderr)
        self.assertEqual(r.stdout, "")
        r = roostcli.run(next_args(self.journal, enc_a, "--mode", "cbc"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("journal is bound to another file", r.stderr)
        with open(self.journal, "rb") as f:
            self.assertEqual(f.read(), before)
        # Something that is not a journal is never overwritten.
        ids = os.path.join(self.d, "a", "id_pac.txt")
        with open(ids, "rb") as f:
            id_pac_before = f.read()
        r = roostcli.run(next_args(ids, enc_a))
        self.assertEqual(r.returncode, 1)
        self.assertIn("line 1: not a bench journal", r.stderr)
        with open(ids, "rb") as f:
            self.assertEqual(f.read(), id_pac_before)

    def test_missing_pac_reserves_nothing(self):
        enc, idpac = issue(os.path.join(self.d, "b"), 3)
        partial = os.path.join(self.d, "partial.txt")
        with open(idpac) as f, open(partial, "w") as g:
            g.writelines(f.readlines()[1:])  # drop the first device
        r = roostcli.run(next_args(self.journal, enc, "--id-pac", partial, "--exec", "exit 0"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("no PAC for device 0041A2F0 (pair 0); nothing was reserved", r.stderr)
        self.assertEqual(report(self.journal)["used"], 0)
        r = roostcli.run(next_args(self.journal, enc, "--id-pac", idpac))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip().split(";")[0], "0041A2F0")
        self.assertEqual(len(r.stdout.strip().split(";")), 3)

    def test_mark_records_an_outcome_by_hand(self):
        enc, idpac = issue(os.path.join(self.d, "b"), 3)
        r = roostcli.run(next_args(self.journal, enc))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--mark 0041A2F0 flashed|failed", r.stderr)
        r = roostcli.run(next_args(self.journal, enc, "--serial", "SN1"))
        self.assertEqual(r.returncode, 1)  # --serial without --exec: nothing to record now
        pend = roostcli.run(["cra", "journal", "--journal", self.journal, "--pending"])
        self.assertEqual(pend.stdout.split()[0], "0041A2F0")
        mark = ["cra", "journal", "--journal", self.journal, "--mark"]
        r = roostcli.run(mark + ["41a2f0", "flashed", "--serial", "SN-1"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(outcome_of(self.journal, "0041A2F0"), "flashed")
        r = roostcli.run(mark + ["41A2F0", "failed"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("already recorded as flashed; add --force", r.stderr)
        r = roostcli.run(mark + ["41A2F0", "failed", "--force"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(outcome_of(self.journal, "0041A2F0"), "failed")
        r = roostcli.run(mark + ["41A2F1", "flashed"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("0041A2F1 was never handed out", r.stderr)
        r = roostcli.run(mark + ["41A2F0", "burnt"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("outcome must be 'flashed' or 'failed'", r.stderr)
        r = roostcli.run(mark + ["41A2F0", "flashed", "--serial", "bad serial", "--force"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("--serial: serial number: character 4", r.stderr)
        rep = report(self.journal)
        self.assertEqual((rep["used"], rep["failed"], rep["pending"]), (1, 1, 0))

    def test_flasher_killed_by_a_signal_is_failed(self):
        enc, _ = issue(os.path.join(self.d, "b"), 3)
        r = roostcli.run(next_args(self.journal, enc, "--exec", "kill -TERM $$"))
        self.assertEqual(r.returncode, 3)
        self.assertIn("flasher failed for 0041A2F0 (killed by signal 15); recorded as failed",
                      r.stderr)
        self.assertEqual(outcome_of(self.journal, "0041A2F0"), "failed")
        # The environment carries the pair and nothing else is written.
        out = roostcli.run(next_args(self.journal, enc, "--exec",
                                     'echo "$ROOST_ID:$ROOST_KEY:${ROOST_PAC-none}"',
                                     "--serial", "X1"))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), "0041A2F1:%s:none" % openssl_pairs(enc)["0041A2F1"])
        self.assertEqual(outcome_of(self.journal, "0041A2F1"), "flashed")

    def test_torn_tail_withdraws_the_next_pair(self):
        enc, _ = issue(os.path.join(self.d, "b"), 4)
        self.assertEqual(roostcli.run(next_args(self.journal, enc)).returncode, 0)
        with open(self.journal, "ab") as f:
            f.write(b"reserved 1 0041A2")  # a power cut in the middle of a write
        r = roostcli.run(["cra", "journal", "--journal", self.journal])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("the last line is incomplete", r.stderr)
        r = roostcli.run(next_args(self.journal, enc))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(";")[0], "0041A2F2")  # pair 1 withdrawn, not reused
        rep = report(self.journal)
        self.assertEqual((rep["used"], rep["withdrawn"], rep["pending"]), (3, 1, 2))
        parse_journal(self.journal)  # the torn bytes are gone, every line intact

    def test_damaged_line_in_the_middle_names_it(self):
        enc, _ = issue(os.path.join(self.d, "b"), 4)
        for _ in range(3):
            self.assertEqual(roostcli.run(next_args(self.journal, enc)).returncode, 0)
        with open(self.journal) as f:
            lines = f.readlines()
        lines[2] = lines[2].replace("0041A2F1", "0041A2F3")
        with open(self.journal, "w") as f:
            f.writelines(lines)
        for args in (next_args(self.journal, enc), ["cra", "journal", "--journal", self.journal]):
            r = roostcli.run(args)
            self.assertEqual(r.returncode, 1)
            self.assertIn(self.journal + ": line 3: damaged record", r.stderr)

    def test_cbc_file(self):
        enc, _ = issue(os.path.join(self.d, "b"), 4, mode="cbc")
        truth = openssl_pairs(enc, mode="cbc")
        for expect in ("0041A2F0", "0041A2F1", "0041A2F2"):
            r = roostcli.run(next_args(self.journal, enc, "--mode", "cbc"))
            self.assertEqual(r.returncode, 0, r.stderr)
            id_, key = r.stdout.strip().split(";")
            self.assertEqual(id_, expect)
            self.assertEqual(truth[id_], key)


def outcome_of(journal, id_):
    return parse_journal(journal)[id_]


if __name__ == "__main__":
    unittest.main()
