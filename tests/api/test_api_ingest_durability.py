"""Ingest keeps what it acknowledged, and several instances decide each frame once.

- kill -9 of `roost serve` while stations ingest: after a restart, every report that was
  answered 2xx "accepted" is stored, nothing is stored that was not sent, and the device type's
  URL callback has received every stored message at least once and nothing else, including the
  deliveries the killed server had reserved but not sent (they come due when their lease ends;
  the test sets a 5 s lease) (SQLite and PostgreSQL);
- an instance started with --send-callbacks false stores and queues each callback but sends
  none; an instance with the default sends each once (on PostgreSQL while the first runs, on
  SQLite after it stopped) (SQLite and PostgreSQL);
- three `roost serve` on one PostgreSQL, each receiving one station's report of the same frame
  at once: one message, heard by the three stations, for every frame; its URL callback called
  once, and a sendDuplicate callback once per station.
"""

import re
import signal
import threading
import time
import unittest

from callback_receiver import Receiver
from roostsite import Client, Site

T0 = 1700000000000
STATIONS = ("0A1B", "0A1C", "0A1D")


def setup_site(site, server, devices, callback_url=None, callbacks=()):
    """An admin and a STATION user, three stations and `devices` registered devices; with
    `callback_url`, their type has a URL callback to it, and `callbacks` besides."""
    admin_user = site.api_user("ADMIN", name="admin")
    station_user = site.api_user("STATION", name="station")
    admin = Client(server, admin_user)
    tid = admin.ok("POST", "/api/devicetypes/create", {"name": "meters"})["id"]
    for sid in STATIONS:
        admin.ok("POST", "/api/stations/create", {"id": sid, "name": sid}, expect=201)
    pairs = site.issue_and_import(devices, "5B0000")
    job = admin.bulk_create(tid, pairs)
    admin.wait_job(job, timeout=60)
    ids = [d["id"] for d in admin.list_all("/api/devicetypes/%s/devices" % tid)]
    callbacks = ([{"url": callback_url}] if callback_url else []) + list(callbacks)
    if callbacks:
        admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid, callbacks)
    admin.close()
    return station_user, ids


def report(device, seq, station="0A1B", time_ms=None):
    return {"device": device, "seqNumber": seq % 4096, "data": "%04x" % (seq % 65536),
            "time": time_ms if time_ms is not None else T0 + seq * 1000, "station": station,
            "rssi": -120.0, "snr": 10.0}


class KillDuringIngestFlows:
    ENGINE = None

    def test_every_acknowledged_report_survives_kill_9(self):
        site = Site(self.ENGINE)
        receiver = Receiver()
        # The shortest lease the callback timeout allows (2 x (1.5 s + 1 s)).
        lease = ("--callback-lease-s", "5", "--callback-timeout-ms", "1500")
        try:
            server = site.serve(*lease)
            user, devices = setup_site(site, server, 8,
                                       receiver.url("/cb/{device}?seq={seqNumber}"))
            acked = set()     # (device, seq) answered "accepted"
            sent = set()      # (device, seq) ever sent
            lock = threading.Lock()
            stop = threading.Event()

            def station(device):
                c = Client(server, user, timeout=10)
                seq = 0
                while not stop.is_set():
                    seq += 1
                    with lock:
                        sent.add((device, seq))
                    try:
                        status, _, res = c.call("POST", "/api/ingest/uplink", report(device, seq))
                    except OSError:
                        return  # the server is gone
                    if status == 200 and res == {"result": "accepted"}:
                        with lock:
                            acked.add((device, seq))
            threads = [threading.Thread(target=station, args=(d,)) for d in devices]
            for t in threads:
                t.start()
            deadline = time.time() + 30
            while time.time() < deadline:
                with lock:
                    if len(acked) >= 400:
                        break
                time.sleep(0.05)
            server.kill()
            self.assertEqual(server.proc.returncode, -signal.SIGKILL)
            stop.set()
            for t in threads:
                t.join()
            self.assertGreaterEqual(len(acked), 400, "the load did not get going")

            server = site.serve(*lease)
            c = Client(server, user)
            stored = set()
            for device in devices:
                admin_view = site.sql("SELECT seq_number FROM messages WHERE device_id = %d"
                                      % int(device, 16))
                stored |= {(device, int(row[0])) for row in admin_view}
            c.close()
            sent_mod = {(d, s % 4096) for d, s in sent}
            acked_mod = {(d, s % 4096) for d, s in acked}
            self.assertEqual(acked_mod - stored, set(), "acknowledged reports lost by kill -9")
            self.assertEqual(stored - sent_mod, set(), "messages that were never sent")

            # Every stored message's callback arrives at least once: those sent before the
            # kill, those left due, and those the killed server held leased (after 5 s).
            def arrived():
                got = set()
                for _, path, _, _ in receiver.received("/cb/"):
                    m = re.match(r"/cb/([0-9A-F]+)\?seq=(\d+)$", path)
                    self.assertIsNotNone(m, path)
                    got.add((m.group(1), int(m.group(2))))
                return got
            deadline = time.time() + 60
            while stored - arrived() and time.time() < deadline:
                time.sleep(0.1)
            self.assertEqual(stored - arrived(), set(), "stored messages whose callback never came")
            self.assertEqual(arrived() - stored, set(), "callbacks of messages never stored")
            # The restarted server goes on where the devices left off.
            c = Client(server, user)
            last = max(s for d, s in sent if d == devices[0])
            self.assertEqual(c.ok("POST", "/api/ingest/uplink",
                                  report(devices[0], last + 1))["result"], "accepted")
            c.close()
            self.assertEqual(server.stop(), 0)
        finally:
            receiver.stop()
            site.close()


    def test_an_ingest_only_instance_leaves_its_callbacks_to_another(self):
        """pipeline.send_callbacks false: the instance stores and queues, sends nothing; an
        instance with the default sends each queued callback once (on PostgreSQL while the
        first still runs; on SQLite, one process per data directory, after it stopped)."""
        site = Site(self.ENGINE)
        receiver = Receiver()
        try:
            ingest_only = site.serve("--send-callbacks", "false")
            user, devices = setup_site(site, ingest_only, 3,
                                       receiver.url("/cb/{device}?seq={seqNumber}"))
            c = Client(ingest_only, user)
            sent = {(d, seq) for d in devices for seq in range(1, 11)}
            for d, seq in sorted(sent):
                self.assertEqual(c.ok("POST", "/api/ingest/uplink", report(d, seq))["result"],
                                 "accepted")
            c.close()
            time.sleep(1.0)  # five times the dispatcher's idle poll
            self.assertEqual(receiver.received("/cb/"), [], "an ingest-only instance sent")
            (queued,), = site.sql("SELECT count(*) FROM deliveries WHERE state = 0")
            self.assertEqual(int(queued), len(sent))
            if self.ENGINE == "sqlite":
                self.assertEqual(ingest_only.stop(), 0)
            sender = site.serve()
            receiver.wait("/cb/", len(sent), timeout=30)
            time.sleep(0.5)  # room for a second, wrong send of any of them
            got = receiver.received("/cb/")
            paths = sorted(path for _, path, _, _ in got)
            self.assertEqual(paths, sorted("/cb/%s?seq=%d" % ds for ds in sent))
            (done,), = site.sql("SELECT count(*) FROM deliveries WHERE state = 1")
            self.assertEqual(int(done), len(sent))
            self.assertEqual(sender.stop(), 0)
            if self.ENGINE == "postgres":
                self.assertEqual(ingest_only.stop(), 0)
        finally:
            receiver.stop()
            site.close()


class KillDuringIngestSqliteTest(KillDuringIngestFlows, unittest.TestCase):
    ENGINE = "sqlite"


class KillDuringIngestPostgresTest(KillDuringIngestFlows, unittest.TestCase):
    ENGINE = "postgres"


class SharedIngestTest(unittest.TestCase):
    def test_three_instances_make_one_message_per_frame(self):
        site = Site("postgres")
        receiver = Receiver()
        try:
            servers = [site.serve() for _ in range(3)]
            user, devices = setup_site(site, servers[0], 4, callbacks=[
                {"url": receiver.url("/once/{device}?seq={seqNumber}")},
                {"url": receiver.url("/each/{device}?seq={seqNumber}&station={station}"),
                 "sendDuplicate": True}])
            frames = 15
            results = []
            lock = threading.Lock()
            # One keep-alive connection per (instance, device): authenticated once, before the
            # frames (three instances checking twelve passwords at once would answer some 503,
            # which a station retries, but this test is about the frames).
            clients = {}
            for i, server in enumerate(servers):
                for d in devices:
                    c = Client(server, user)
                    for _ in range(50):
                        status, _, _ = c.call("GET", "/api/stations")
                        if status != 503:
                            break
                        time.sleep(0.1)
                    self.assertEqual(status, 403)  # authenticated; STATION lists nothing
                    clients[(i, d)] = c
            for seq in range(1, frames + 1):
                barrier = threading.Barrier(3 * len(devices))

                def send(i, device, seq=seq):
                    barrier.wait()
                    res = clients[(i, device)].ok(
                        "POST", "/api/ingest/uplink",
                        report(device, seq, STATIONS[i], T0 + seq * 1000))
                    with lock:
                        results.append(res["result"])
                threads = [threading.Thread(target=send, args=(i, d))
                           for d in devices for i in range(3)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            for c in clients.values():
                c.close()
            n = frames * len(devices)
            self.assertEqual(results.count("accepted"), n, results)
            self.assertEqual(results.count("duplicate"), 2 * n, results)
            rows = site.sql("SELECT device_id, seq_number, nb_frames FROM messages")
            self.assertEqual(len(rows), n)
            self.assertEqual({int(r[2]) for r in rows}, {3})
            c = Client(servers[1], site.api_user("READER", name="reader"))
            msgs = c.list_all("/api/devices/%s/messages" % devices[0])
            c.close()
            self.assertEqual(len(msgs), frames)
            for m in msgs:
                self.assertEqual(sorted(r["tap"] for r in m["rinfos"]), list(STATIONS))
            # Whichever instance took a report, each delivery went out from one of them, once.
            once = receiver.wait("/once/", n, timeout=30)
            each = receiver.wait("/each/", 3 * n, timeout=30)
            time.sleep(1.0)
            once, each = receiver.received("/once/"), receiver.received("/each/")
            self.assertEqual(sorted(p for _, p, _, _ in once),
                             sorted("/once/%s?seq=%d" % (d, s)
                                    for d in devices for s in range(1, frames + 1)))
            self.assertEqual(sorted(p for _, p, _, _ in each),
                             sorted("/each/%s?seq=%d&station=%s" % (d, s, st) for d in devices
                                    for s in range(1, frames + 1) for st in STATIONS))
        finally:
            receiver.stop()
            site.close()


if __name__ == "__main__":
    unittest.main()
