"""roost simulate provisioning, run as the real binary against a GWMP server
played here: one that acknowledges but never answers, so every device times
out, and what the simulated gateways sent can be checked."""

import base64
import hashlib
import json
import os
import socket
import threading
import unittest

from roostcli import run, temp_dir


class SilentGwmpServer:
    """Acknowledges PUSH_DATA and PULL_DATA (GWMP v2), records the rxpk entries."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.rxpk = []   # (gateway EUI hex, rxpk dict)
        self.pulls = set()
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                data, peer = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            if len(data) < 12 or data[0] != 2:
                continue
            eui = data[4:12].hex()
            if data[3] == 0:
                self.sock.sendto(bytes([2, data[1], data[2], 1]), peer)
                for rx in json.loads(data[12:]).get("rxpk", []):
                    self.rxpk.append((eui, rx))
            elif data[3] == 2:
                self.pulls.add(eui)
                self.sock.sendto(bytes([2, data[1], data[2], 4]), peer)

    def close(self):
        self.stopping = True
        self.thread.join()
        self.sock.close()


def report_csv(ids):
    lines = ["MatchX Device Provisioning,,,,,,", "manufacturerName,Roost test,,,,,",
             "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI,provisionIdHash"]
    for i, pid in enumerate(ids):
        digest = hashlib.sha256((pid + ".MatchX").encode()).hexdigest()
        lines.append("%s,M-1,S%06d,N,,0000000000000000,%s" % (pid, i, digest))
    return "\n".join(lines) + "\n"


class SimulateProvisioning(unittest.TestCase):
    def setUp(self):
        self.server = SilentGwmpServer()
        self.addCleanup(self.server.close)

    def simulate(self, *args):
        return run(["simulate", "provisioning", "--server", "127.0.0.1:%d" % self.server.port,
                    "--timeout-ms", "200", *args])

    def test_unanswered_devices_time_out_after_their_retries(self):
        r = self.simulate("--devices", "2", "--gateways", "3", "--retries", "1", "--json")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("2 of 2 devices not provisioned", r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual((out["devices"], out["accepted"], out["timedOut"]), (2, 0, 2))
        for device in out["results"]:
            self.assertEqual((device["outcome"], device["accepted"], device["attempts"]),
                             ("timed_out", False, 2))
            self.assertNotIn("appKey", device)
        # 2 devices × 2 Hellos × 3 gateways, each gateway pulled first.
        self.assertEqual(len(self.server.rxpk), 12)
        self.assertEqual(len(self.server.pulls), 3)

    def test_hellos_are_region_correct_and_heard_with_different_snr(self):
        r = self.simulate("--devices", "1", "--gateways", "3", "--retries", "0",
                          "--region", "us915")
        self.assertEqual(r.returncode, 1)
        self.assertIn("timed out 1", r.stdout)
        self.assertEqual(len(self.server.rxpk), 3)
        snrs = set()
        for eui, rx in self.server.rxpk:
            phy = base64.b64decode(rx["data"])
            self.assertEqual(len(phy), 80)  # MHDR, 75-byte Hello, MIC
            self.assertEqual((phy[0], phy[1], phy[-5]), (0xE0, 0x01, 1))  # network flag 1
            self.assertEqual(rx["size"], 80)
            self.assertEqual(rx["datr"], "SF7BW125")
            channel = round((rx["freq"] - 902.3) / 0.2)
            self.assertAlmostEqual(rx["freq"], 902.3 + 0.2 * channel, places=6)
            self.assertFalse(rx["freq"] > 914.9)
            snrs.add(rx["lsnr"])
        self.assertEqual(len(snrs), 3)

    def test_devices_take_their_provision_ids_from_the_report(self):
        ids = ["A" * 19 + c for c in "BCD"]
        with temp_dir() as d:
            path = os.path.join(d, "report.csv")
            with open(path, "w") as f:
                f.write(report_csv(ids))
            r = self.simulate("--report", path, "--retries", "0", "--json")
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertEqual([x["provisionId"] for x in json.loads(r.stdout)["results"]], ids)
            r = self.simulate("--report", path, "--devices", "4")
            self.assertEqual(r.returncode, 1)
            self.assertIn("fewer than --devices 4", r.stderr)

    def test_argument_errors(self):
        r = self.simulate()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--devices N is needed", r.stderr)
        r = self.simulate("--devices", "1", "--region", "AS923")
        self.assertIn("unknown region", r.stderr)
        r = run(["simulate", "provisioning", "--server", "127.0.0.1:9", "--devices", "1",
                 "--timeout-ms", "200"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("no PULL_ACK", r.stderr)


if __name__ == "__main__":
    unittest.main()
