"""LoRaWAN zero-touch provisioning end to end: `roost serve` with its gateway listener on
loopback UDP, Provision IDs imported through the API, and `roost simulate provisioning`
playing gateways and devices over real UDP. On SQLite and PostgreSQL.

Checked: every accepted device's keys equal the server's (the ADMIN keys route), pool devEUIs
are unique, a fixed devEUI from the report is kept, the configured joinEUI is sent, an unknown
Provision ID, a disabled one and a wrong verify code are rejected, US915 answers in its RX1 (the simulator checks tmst, data rate and
frequency of every downlink), a flood of garbage datagrams and unknown devices does not stop a
legitimate device, two instances on one PostgreSQL never hand out one devEUI twice, a device
whose server restarts between its Hello and its Auth retries and succeeds, and ordinary LoRaWAN
traffic is relayed to and from an upstream network server (the multiplexer)."""

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
from roostserver import metric_value
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
            headers = dict(basic(self.admin["login"], self.admin["password"]))
            status, head, payload = server.request(
                "GET", "/api/provisioning/devices/%s/keys" % d["devEui"], headers=headers)
            keys = json.loads(payload)
            self.assertEqual(status, 200, keys)
            # Keys in clear: no cache may keep them.
            self.assertEqual(head.get("Cache-Control"), "no-store", head)
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

    def test_a_wrong_verify_code_is_rejected(self):
        rows = [(new_pid(), "S-impostor", None)]
        path = self.import_report(self.server, rows)
        # The device sends the imported ID's hash, but its verify code proves another ID.
        code, out = simulate(self.server.gwmp_port, "--devices", 1, "--report", path,
                             "--impostors")
        self.assertNotEqual(code, 0)
        self.assertEqual(out["results"][0]["outcome"], "rejected", out)
        # The ID is still pending, and the real device then provisions.
        status, page = self.api(self.server, "GET", "/api/provisioning/ids?state=pending")
        self.assertIn(rows[0][0], {x["provisionId"] for x in page["data"]})
        code, out = simulate(self.server.gwmp_port, "--devices", 1, "--report", path)
        self.assertEqual(code, 0, out)

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


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Relay:
    """A UDP relay between simulated gateways and a server that can hold the gateways'
    datagrams: the test restarts the server between a device's Hello and its Auth."""

    def __init__(self, server_port):
        self.server_port = server_port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.upstream = {}  # gateway address -> its socket towards the server
        self.hold = threading.Event()
        self.held = []
        self.answered = threading.Event()  # a PULL_RESP went to a gateway
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._from_gateways, daemon=True)]
        self.threads[0].start()

    def _from_gateways(self):
        while not self.stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            with self.lock:
                if addr not in self.upstream:
                    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    up.bind(("127.0.0.1", 0))
                    up.settimeout(0.1)
                    self.upstream[addr] = up
                    t = threading.Thread(target=self._from_server, args=(up, addr), daemon=True)
                    t.start()
                    self.threads.append(t)
                if self.hold.is_set():
                    self.held.append((data, addr))
                    continue
                self.upstream[addr].sendto(data, ("127.0.0.1", self.server_port))

    def _from_server(self, up, addr):
        while not self.stop.is_set():
            try:
                data, _ = up.recvfrom(65535)
            except socket.timeout:
                continue
            if len(data) >= 4 and data[3] == 3 and not self.answered.is_set():
                # The first PULL_RESP (a Hello response): hold what follows, once.
                with self.lock:
                    self.hold.set()
                self.answered.set()
            self.sock.sendto(data, addr)

    def release(self):
        with self.lock:
            self.hold.clear()
            for data, addr in self.held:
                self.upstream[addr].sendto(data, ("127.0.0.1", self.server_port))
            self.held = []

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=2)
        self.sock.close()
        for up in self.upstream.values():
            up.close()


class RestartRadio(unittest.TestCase):
    def test_a_device_whose_server_restarted_mid_exchange_retries_and_succeeds(self):
        site = Site("sqlite")
        relay = None
        try:
            port = free_udp_port()
            server = site.serve("--dev-eui-pool", POOL, "--gwmp-listen", "127.0.0.1:%d" % port)
            admin = site.api_user("ADMIN")
            rows = [(new_pid(), "S-restart", None)]
            headers = dict(basic(admin["login"], admin["password"]))
            headers["Content-Type"] = "text/csv"
            status, _, body = server.request("POST", "/api/provisioning/ids/import",
                                             body=report(rows), headers=headers)
            self.assertEqual(status, 200, body)
            path = os.path.join(site.dir, "restart.csv")
            with open(path, "w") as f:
                f.write(report(rows))
            relay = Relay(port)
            sim = subprocess.Popen(
                [roostcli.ROOST_BIN, "simulate", "provisioning", "--server",
                 "127.0.0.1:%d" % relay.port, "--devices", "1", "--report", path, "--json",
                 "--timeout-ms", "2500", "--retries", "6"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            # The Hello response went out: the device's Auth is held while the server is
            # killed and started again (its session is gone with it).
            self.assertTrue(relay.answered.wait(30), "no Hello response")
            server.kill()
            server = site.serve("--dev-eui-pool", POOL, "--gwmp-listen", "127.0.0.1:%d" % port)
            relay.release()
            out, err = sim.communicate(timeout=120)
            self.assertEqual(sim.returncode, 0, (out, err))
            result = json.loads(out)["results"][0]
            self.assertTrue(result["accepted"], result)
            self.assertGreaterEqual(result["attempts"], 2, result)
            status, _, body = server.request(
                "GET", "/api/provisioning/devices/%s" % result["devEui"],
                headers=dict(basic(admin["login"], admin["password"])))
            self.assertEqual(status, 200, body)
        finally:
            if relay:
                relay.close()
            site.close()


class MultiplexerRadio(unittest.TestCase):
    """Ordinary LoRaWAN traffic passes through roost serve to an upstream network server."""

    def test_a_data_uplink_and_its_downlink_are_relayed(self):
        upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        upstream.bind(("127.0.0.1", 0))
        upstream.settimeout(10)
        site = Site("sqlite")
        gw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        gw.settimeout(10)
        try:
            server = site.serve("--lns-upstream", "127.0.0.1:%d" % upstream.getsockname()[1])
            target = ("127.0.0.1", server.gwmp_port)
            eui = bytes.fromhex("aa555a0000000101")
            gw.sendto(bytes([2, 0x12, 0x34, 2]) + eui, target)  # PULL_DATA
            self.assertEqual(gw.recvfrom(100)[0], bytes([2, 0x12, 0x34, 4]))  # PULL_ACK
            # The upstream sees the gateway's PULL_DATA too (so it can answer it).
            data, up_addr = upstream.recvfrom(65535)
            self.assertEqual(data[3], 2)
            self.assertEqual(data[4:12], eui)
            upstream.sendto(data[:3] + bytes([4]), up_addr)  # its PULL_ACK ends at Roost
            rxpk = {"tmst": 3512348611, "chan": 2, "rfch": 0, "freq": 866.349812, "stat": 1,
                    "modu": "LORA", "datr": "SF7BW125", "codr": "4/6", "rssi": -35, "lsnr": 5.1,
                    "size": 12, "data": "QAEAAAGAAQABAgME"}  # MHDR 0x40: unconfirmed data up
            body = json.dumps({"rxpk": [rxpk]}).encode()
            gw.sendto(bytes([2, 0x00, 0x07, 0]) + eui + body, target)  # PUSH_DATA
            self.assertEqual(gw.recvfrom(100)[0], bytes([2, 0x00, 0x07, 1]))  # PUSH_ACK
            data, addr = upstream.recvfrom(65535)
            self.assertEqual(addr, up_addr)  # one socket per gateway
            self.assertEqual(data[:4], bytes([2, 0x00, 0x07, 0]))
            self.assertEqual(data[4:12], eui)
            forwarded = json.loads(data[12:])
            self.assertEqual(forwarded["rxpk"], [rxpk])
            upstream.sendto(bytes([2, 0x00, 0x07, 1]), addr)
            # The upstream's downlink reaches the gateway; its TX_ACK goes back upstream.
            txpk = {"imme": False, "tmst": 3513348611, "freq": 866.349812, "rfch": 0,
                    "powe": 14, "modu": "LORA", "datr": "SF7BW125", "codr": "4/5",
                    "ipol": True, "size": 4, "data": "YAECAw=="}
            upstream.sendto(bytes([2, 0x56, 0x78, 3]) + json.dumps({"txpk": txpk}).encode(), addr)
            data, _ = gw.recvfrom(65535)
            self.assertEqual(data[:4], bytes([2, 0x56, 0x78, 3]))
            self.assertEqual(json.loads(data[4:])["txpk"], txpk)
            gw.sendto(bytes([2, 0x56, 0x78, 5]) + eui, target)
            data, _ = upstream.recvfrom(65535)
            self.assertEqual(data[:4], bytes([2, 0x56, 0x78, 5]))
            self.assertEqual(data[4:12], eui)
        finally:
            gw.close()
            upstream.close()
            site.close()


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


class ProvisioningLimitsRadio(unittest.TestCase):
    """The provisioning settings reach the service and the listener of `roost serve`."""

    def setUp(self):
        self.site = Site("sqlite")
        self.admin = None

    def tearDown(self):
        self.site.close()

    def serve_with_ids(self, count, *args):
        server = self.site.serve("--dev-eui-pool", POOL, *args)
        if self.admin is None:
            self.admin = self.site.api_user("ADMIN")
        rows = [(new_pid(), "S-limit-%d" % i, None) for i in range(count)]
        headers = dict(basic(self.admin["login"], self.admin["password"]))
        headers["Content-Type"] = "text/csv"
        status, _, body = server.request("POST", "/api/provisioning/ids/import",
                                         body=report(rows), headers=headers)
        self.assertEqual(status, 200, body)
        path = os.path.join(self.site.dir, "limits-%d.csv" % random.randrange(1 << 30))
        with open(path, "w") as f:
            f.write(report(rows))
        return server, path

    def test_a_hello_rate_of_one_per_second_drops_the_others(self):
        # A bucket of one Hello refilled once a second: of three Hellos sent together, the
        # first is answered and the other two are dropped (no retries, so they stay dropped).
        server, path = self.serve_with_ids(3, "--hellos-per-second", "1", "--hello-burst", "1")
        code, out = simulate(server.gwmp_port, "--devices", 3, "--report", path,
                             "--concurrency", 3, "--retries", 0, "--timeout-ms", 2000)
        self.assertNotEqual(code, 0, out)
        self.assertEqual(out["accepted"], 1, out)
        self.assertEqual(out["timedOut"], 2, out)
        status, _, metrics = server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        dropped = metric_value(metrics.decode(),
                               'roost_provisioning_dropped_total{reason="rate_limited"}')
        self.assertEqual(dropped, 2, metrics)

    def test_the_dedup_window_delays_each_half_of_the_exchange(self):
        # Hello and Auth each wait the window for other gateways' copies before the service
        # sees them: an exchange takes at least twice the window (200 ms each by default).
        server, path = self.serve_with_ids(1, "--gwmp-dedup-window-ms", "1000")
        code, out = simulate(server.gwmp_port, "--devices", 1, "--report", path)
        self.assertEqual(code, 0, out)
        self.assertGreaterEqual(out["results"][0]["exchangeMs"], 2000, out)


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
