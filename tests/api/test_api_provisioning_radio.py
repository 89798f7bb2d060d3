"""LoRaWAN zero-touch provisioning end to end: `roost serve` with its gateway listener on
loopback UDP, Provision IDs imported through the API, and `roost simulate provisioning`
playing gateways and devices over real UDP. On SQLite and PostgreSQL.

Checked: every accepted device's keys equal the server's (the ADMIN keys route), pool devEUIs
are unique, a fixed devEUI from the report is kept, the configured joinEUI is sent, an unknown
Provision ID is rejected, US915 answers in its RX1 (the simulator checks tmst, data rate and
frequency of every downlink), a flood of garbage datagrams and unknown devices does not stop a
legitimate device, and two instances on one PostgreSQL never hand out one devEUI twice."""

import json
import os
import random
import socket
import subprocess
import threading
import time
import unittest

import roostcli
from roostcli import basic
from roostsite import Site
from test_api_provisioning import new_pid, report

POOL = "70b3d57ed0000000/40"
JOIN_EUI = "70b3d57ed0000abc"


def simulate(port, *args, timeout=120):
    r = subprocess.run([roostcli.ROOST_BIN, "simulate", "provisioning", "--server",
                        "127.0.0.1:%d" % port, "--json", *[str(a) for a in args]],
                       capture_output=True, text=True, timeout=timeout)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        raise AssertionError("simulate printed no JSON: %r %r" % (r.stdout, r.stderr))
    return r.returncode, out


class RadioFlows:
    ENGINE = None

    @classmethod
    def setUpClass(cls):
        cls.site = Site(cls.ENGINE)
        try:
            cls.server = cls.site.serve("--dev-eui-pool", POOL, "--join-eui", JOIN_EUI)
            cls.admin = cls.site.api_user("ADMIN", name="provisioning admin")
        except BaseException:
            cls.site.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.site.close()

    def api(self, server, method, path, text=None):
        headers = dict(basic(self.admin["login"], self.admin["password"]))
        if text is not None:
            headers["Content-Type"] = "text/csv"
        status, _, payload = server.request(method, path, body=text, headers=headers)
        return status, json.loads(payload) if payload else None

    def import_report(self, server, rows):
        status, body = self.api(server, "POST", "/api/provisioning/ids/import", report(rows))
        self.assertEqual(status, 200, body)
        path = os.path.join(self.site.dir, "report-%d.csv" % random.randrange(1 << 30))
        with open(path, "w") as f:
            f.write(report(rows))
        return path

    def assert_keys_match(self, server, results):
        for d in results:
            status, keys = self.api(server, "GET",
                                    "/api/provisioning/devices/%s/keys" % d["devEui"])
            self.assertEqual(status, 200, keys)
            self.assertEqual(keys, {"devEUI": d["devEui"], "joinEUI": d["joinEui"],
                                    "appKey": d["appKey"], "nwkKey": d["nwkKey"]})

    def test_devices_get_keys_the_server_knows(self):
        fixed = "00aabbfffe010203"  # a fixed devEUI made from a MAC (00:aa:bb:01:02:03)
        rows = [(new_pid(), "S-%d" % i, fixed if i == 0 else None) for i in range(4)]
        path = self.import_report(self.server, rows)
        code, out = simulate(self.server.gwmp_port, "--devices", 4, "--gateways", 3,
                             "--report", path, "--show-keys")
        self.assertEqual(code, 0, out)
        self.assertEqual(out["accepted"], 4, out)
        by_pid = {d["provisionId"]: d for d in out["results"]}
        self.assertEqual(by_pid[rows[0][0]]["devEui"], fixed)
        euis = [d["devEui"] for d in out["results"]]
        self.assertEqual(len(set(euis)), 4, euis)
        for d in out["results"]:
            self.assertEqual(d["joinEui"], JOIN_EUI)
            if d["devEui"] != fixed:
                self.assertTrue(d["devEui"].startswith("70b3d57ed0"), d)
        self.assert_keys_match(self.server, out["results"])
        # The IDs are provisioned now, and the devices listed without keys.
        status, page = self.api(self.server, "GET", "/api/provisioning/ids?state=provisioned")
        self.assertEqual(status, 200)
        self.assertLessEqual({r[0] for r in rows}, {x["provisionId"] for x in page["data"]})
        status, dev = self.api(self.server, "GET", "/api/provisioning/devices/" + fixed)
        self.assertEqual(status, 200, dev)
        self.assertNotIn("appKey", json.dumps(dev))
        # Provisioning again (a re-flashed device) gives new keys and keeps the fixed devEUI.
        code, again = simulate(self.server.gwmp_port, "--devices", 1, "--report",
                               self.import_only(rows[:1]), "--show-keys")
        self.assertEqual(code, 0, again)
        self.assertEqual(again["results"][0]["devEui"], fixed)
        self.assertNotEqual(again["results"][0]["appKey"], by_pid[rows[0][0]]["appKey"])
        self.assert_keys_match(self.server, again["results"])

    def import_only(self, rows):
        """A report file for rows already imported."""
        path = os.path.join(self.site.dir, "again-%d.csv" % random.randrange(1 << 30))
        with open(path, "w") as f:
            f.write(report(rows))
        return path

    def test_an_unknown_provision_id_is_rejected(self):
        code, out = simulate(self.server.gwmp_port, "--devices", 2)
        self.assertNotEqual(code, 0)
        self.assertEqual(out["rejected"], 2, out)
        self.assertEqual(out["accepted"], 0, out)

    def test_a_disabled_provision_id_is_rejected(self):
        rows = [(new_pid(), "S-off", None)]
        path = self.import_report(self.server, rows)
        status, body = self.api(self.server, "POST",
                                "/api/provisioning/ids/%s/disable" % rows[0][0])
        self.assertEqual(status, 200, body)
        code, out = simulate(self.server.gwmp_port, "--devices", 1, "--report", path)
        self.assertNotEqual(code, 0)
        self.assertEqual(out["results"][0]["outcome"], "rejected", out)

    def test_garbage_and_unknown_devices_do_not_stop_a_real_device(self):
        rows = [(new_pid(), "S-real", None)]
        path = self.import_report(self.server, rows)
        stop = threading.Event()

        def garbage():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rng = random.Random(7)
            while not stop.is_set():
                size = rng.choice((0, 1, 4, 12, 100, 1400))
                head = bytes([2, rng.randrange(256), rng.randrange(256), rng.randrange(6)])
                s.sendto((head + rng.randbytes(size))[:size or 1],
                         ("127.0.0.1", self.server.gwmp_port))
                time.sleep(0.0005)
            s.close()

        flood = [threading.Thread(target=garbage) for _ in range(2)]
        for t in flood:
            t.start()
        strangers = subprocess.Popen(
            [roostcli.ROOST_BIN, "simulate", "provisioning", "--server",
             "127.0.0.1:%d" % self.server.gwmp_port, "--devices", "40", "--retries", "0",
             "--timeout-ms", "3000"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            code, out = simulate(self.server.gwmp_port, "--devices", 1, "--report", path,
                                 "--show-keys", "--retries", "5")
        finally:
            stop.set()
            for t in flood:
                t.join()
            strangers.wait(timeout=120)
        self.assertEqual(code, 0, out)
        self.assert_keys_match(self.server, out["results"])
        # The garbage was counted, and the server still answers HTTP.
        status, _, metrics = self.server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        dropped = [line for line in metrics.decode().splitlines()
                   if line.startswith("roost_gwmp_dropped_total{")]
        self.assertTrue(any(not line.endswith(" 0") for line in dropped), dropped)


class SqliteRadio(RadioFlows, unittest.TestCase):
    ENGINE = "sqlite"


class PostgresRadio(RadioFlows, unittest.TestCase):
    ENGINE = "postgres"

    def test_two_instances_never_hand_out_one_dev_eui_twice(self):
        second = self.site.serve("--dev-eui-pool", POOL, "--join-eui", JOIN_EUI)
        rows = [(new_pid(), "S-two-%d" % i, None) for i in range(16)]
        self.import_report(self.server, rows)
        halves = (rows[:8], rows[8:])
        outs = [None, None]

        def run(i, server):
            outs[i] = simulate(server.gwmp_port, "--devices", 8, "--report",
                               self.import_only(halves[i]), "--show-keys")

        threads = [threading.Thread(target=run, args=(i, s))
                   for i, s in enumerate((self.server, second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        results = []
        for code, out in outs:
            self.assertEqual(code, 0, out)
            results += out["results"]
        euis = [d["devEui"] for d in results]
        self.assertEqual(len(euis), 16)
        self.assertEqual(len(set(euis)), 16, euis)
        self.assert_keys_match(second, results)


class Us915Radio(unittest.TestCase):
    """The simulator checks every downlink's RX1 (tmst + 5 s, SF7BW500, 923.3 + 0.6 x ch)."""

    def test_us915_devices_are_answered_in_their_rx1(self):
        site = Site("sqlite")
        try:
            server = site.serve("--region", "US915", "--dev-eui-pool", POOL)
            admin = site.api_user("ADMIN")
            rows = [(new_pid(), "S-us-%d" % i, None) for i in range(3)]
            headers = dict(basic(admin["login"], admin["password"]))
            headers["Content-Type"] = "text/csv"
            status, _, body = server.request("POST", "/api/provisioning/ids/import",
                                             body=report(rows), headers=headers)
            self.assertEqual(status, 200, body)
            path = os.path.join(site.dir, "us.csv")
            with open(path, "w") as f:
                f.write(report(rows))
            code, out = simulate(server.gwmp_port, "--devices", 3, "--gateways", 2,
                                 "--region", "US915", "--report", path)
            self.assertEqual(code, 0, out)
            self.assertEqual(out["accepted"], 3, out)
            # The simulator would count a downlink outside US915's RX1 here.
            self.assertEqual(out["rx1ChecksFailed"], 0, out)
            # EU868 gateways talking to a US915 server get downlinks outside their RX1.
            code, wrong = simulate(server.gwmp_port, "--devices", 1, "--region", "EU868",
                                   "--report", path)
            self.assertNotEqual(code, 0, wrong)
        finally:
            site.close()


if __name__ == "__main__":
    unittest.main()
