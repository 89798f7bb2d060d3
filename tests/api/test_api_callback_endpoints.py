"""Callbacks against endpoints that misbehave, end to end over real HTTP and TCP on loopback, on
SQLite and PostgreSQL: an endpoint that accepts connections and never answers, a port nobody
listens on and an endpoint slower than the callback timeout never delay the deliveries of a
healthy one, each of their attempts is recorded as failed, and /metrics counts the deliveries
waiting in the database; a downlinkHook that answers after
its deadline, or answers something that is not a downlink, gives the frame no downlink, with the
reason on the message, and the station's held answer is not kept waiting for it; SERVICE STATUS
and ACKNOWLEDGE callbacks receive the values of their service reports.
"""

import socket
import threading
import time
import unittest

from callback_receiver import Receiver
from roostserver import metric_value
from roostsite import Client, ServedSite

T0 = 1700000000000
# --callback-timeout-ms below: long enough that a healthy delivery, even from a sanitizer build on
# a busy machine, arrives well within it; the receivers' LATE_S is longer still.
TIMEOUT_S = 2.0


class Hang:
    """A TCP server on loopback that accepts every connection, reads what comes, and never
    answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.conns = []
        self.stopped = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.conns.append(conn)  # held open, never written to

    def stop(self):
        self.stopped = True
        self.sock.close()
        for c in self.conns:
            c.close()


def closed_port():
    """A loopback port nobody listens on: connections to it are refused."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class EndpointFlows(ServedSite):
    SERVE_ARGS = ("--callback-timeout-ms", str(int(TIMEOUT_S * 1000)))

    @classmethod
    def before_serve(cls):
        Receiver.LATE_S = TIMEOUT_S + 1.0
        cls.receiver = Receiver()  # the healthy endpoint and the service callbacks
        cls.closers.append(cls.receiver.stop)
        cls.hooks = Receiver()  # late and malformed downlinkHooks, retried meanwhile
        cls.closers.append(cls.hooks.stop)
        cls.slow = Receiver()  # another port: another destination
        cls.closers.append(cls.slow.stop)
        cls.hang = Hang()
        cls.closers.append(cls.hang.stop)
        return ()

    @classmethod
    def set_up_site(cls):
        cls.admin = cls.client("ADMIN", name="admin")
        cls.station = cls.site.api_user("STATION", name="station")
        cls.reader = cls.site.api_user("READER", name="reader")
        cls.admin.ok("POST", "/api/stations/create", {"id": "0A1B", "name": "0A1B"}, expect=201)
        cls.pairs = cls.site.issue_and_import(6, "6D0000")

    def type_with_device(self, name, index, **fields):
        tid = self.admin.ok("POST", "/api/devicetypes/create", dict(name=name, **fields))["id"]
        dev, pac = self.pairs[index]
        did = self.admin.ok("POST", "/api/devices/create",
                            {"id": dev, "pac": pac, "name": name, "type": tid})["id"]
        return tid, did

    def report(self, client, device, seq, ack=False):
        return client.ok("POST", "/api/ingest/uplink",
                         {"device": device, "seqNumber": seq, "data": "c0ffee",
                          "time": T0 + seq * 60000, "station": "0A1B", "rssi": -115.0,
                          "snr": 9.5, "ack": ack})

    def messages(self, device):
        """The device's messages as a DEVICE_MANAGER sees them (urls unmasked)."""
        return self.admin.ok("GET", "/api/devices/%s/messages" % device)["data"]

    def test_dead_and_slow_endpoints_never_delay_a_healthy_one(self):
        dead_tid, dead = self.type_with_device("dead", 0)
        ok_tid, ok = self.type_with_device("healthy", 1)
        self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % dead_tid, [
            {"url": "http://127.0.0.1:%d/hang/{device}" % self.hang.port},
            {"url": "http://127.0.0.1:%d/refused/{device}" % closed_port()},
            {"url": self.slow.url("/slow/{device}?seq={seqNumber}")}])
        self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % ok_tid,
                      [{"url": self.receiver.url("/ok/{device}?seq={seqNumber}")}])
        c = Client(self.server, self.station)
        answered = {}
        count = 20
        for seq in range(1, count + 1):
            self.assertEqual(self.report(c, dead, seq)["result"], "accepted")
            self.assertEqual(self.report(c, ok, seq)["result"], "accepted")
            answered[seq] = time.time()
            time.sleep(0.02)
        c.close()
        got = self.receiver.wait("/ok/%s" % ok, count, timeout=10)
        self.assertEqual(sorted(int(p.split("seq=")[1]) for _, p, _, _ in got),
                         list(range(1, count + 1)))
        with self.receiver.lock:
            arrivals = {int(p.split("seq=")[1]): t for t, p in self.receiver.arrivals
                        if p.startswith("/ok/%s" % ok)}
        lags = sorted(arrivals[seq] - answered[seq] for seq in answered)
        # Behind a hanging send, a delivery would wait at least the callback timeout.
        self.assertLess(lags[-1], TIMEOUT_S * 0.75, lags)
        # Meanwhile each bad endpoint was tried, and its attempts are recorded as failed.
        self.assertGreaterEqual(self.hang.accepted, 1)
        self.assertGreaterEqual(len(self.slow.wait("/slow/%s" % dead, 1)), 1)
        deadline = time.time() + 10
        while True:
            first = [m for m in self.messages(dead) if m["seqNumber"] == 1][0]
            tried = [cb for cb in first["callbacks"] if cb["attempts"] >= 1]
            if len(tried) == 3 or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(len(tried), 3, first["callbacks"])
        by_path = {cb["url"].split("/")[3]: cb for cb in tried}
        self.assertEqual(sorted(by_path), ["hang", "refused", "slow"], tried)
        for path, cb in by_path.items():
            self.assertEqual(cb["state"], "pending", cb)  # retried later, not given up yet
            self.assertGreaterEqual(cb["status"], 600, cb)  # no HTTP answer within the timeout
            self.assertTrue(cb["history"][0]["info"], cb)
        self.assertNotEqual(by_path["refused"]["history"][0]["info"],
                            by_path["hang"]["history"][0]["info"])
        # The healthy type's messages are all delivered, once each.
        time.sleep(0.3)
        self.assertEqual(len(self.receiver.received("/ok/%s" % ok)), count)
        # The failed ones wait in the database for their next attempt, and /metrics says so
        # (measured every 5 s): 3 callbacks × 20 messages, none delivered.
        deadline = time.time() + 15
        while True:
            status, _, body = self.server.request("GET", "/metrics")
            self.assertEqual(status, 200)
            stored = {state: metric_value(body.decode(),
                                          'roost_callback_deliveries_stored{state="%s"}' % state)
                      for state in ("due", "leased", "later", "parked")}
            # The gauges are measured every 5 s: a measurement taken while the reports were
            # still arriving shows fewer, so wait for one taken after them all.
            waiting = sum(v or 0 for v in stored.values())
            settled = (stored["later"] or 0) >= 1 and waiting >= 3 * count
            if settled or time.time() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(stored["parked"], 0, stored)
        self.assertGreaterEqual(stored["later"], 1, stored)
        # (Other tests of this server may have a retrying downlinkHook delivery too.)
        self.assertGreaterEqual(sum(stored.values()), 3 * count, stored)

    def test_a_late_or_malformed_downlink_hook_answer_is_no_downlink_with_the_reason(self):
        cases = ((2, "/late/", "no answer from the downlinkHook callback within 800 ms"),
                 (3, "/malformed/", "malformed answer: "))
        for index, path, reason in cases:
            tid, did = self.type_with_device("hooked" + path.strip("/"), index,
                                             downlinkMode="CALLBACK")
            cid = self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid, [
                {"callbackSubtype": 3, "url": self.hooks.url(path + tid + "?device={device}")}
            ])["data"][0]["id"]
            self.admin.ok("POST", "/api/devicetypes/%s/callbacks/%s/downlink" % (tid, cid),
                          expect=204)
            c = Client(self.server, self.station)
            start = time.time()
            answer = self.report(c, did, 1, ack=True)
            held = time.time() - start
            c.close()
            self.assertEqual(answer, {"result": "accepted"}, path)
            # Held for the other stations (1 s), not until a late hook answers.
            self.assertLess(held, Receiver.LATE_S, path)
            # Called while the answer was held (and perhaps retried since, as any callback).
            self.assertGreaterEqual(len(self.hooks.received(path + tid)), 1, path)
            status = self.messages(did)[0]["downlinkAnswerStatus"]
            self.assertEqual((status["data"], status["station"]), (None, None), status)
            self.assertTrue(status.get("reason", "").startswith(reason), status)
            self.assertNotIn("0102", status["reason"], "the answer is never quoted")

    def test_an_unreachable_downlink_hook_is_no_downlink_with_the_kind_of_failure_only(self):
        # The reason is stored on the message, which a later owner of the device reads: it
        # names the kind of failure, not the host the hook's sender tried.
        tid, did = self.type_with_device("hooked-unreachable", 5, downlinkMode="CALLBACK")
        cid = self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid, [
            {"callbackSubtype": 3, "url": "http://127.0.0.1:9/unreachable?device={device}"}
        ])["data"][0]["id"]
        self.admin.ok("POST", "/api/devicetypes/%s/callbacks/%s/downlink" % (tid, cid),
                      expect=204)
        c = Client(self.server, self.station)
        self.assertEqual(self.report(c, did, 1, ack=True), {"result": "accepted"})
        c.close()
        status = self.messages(did)[0]["downlinkAnswerStatus"]
        self.assertEqual((status["data"], status["station"]), (None, None), status)
        self.assertEqual(status.get("reason"), "the downlinkHook callback could not be called: "
                                               "no connection could be made (601)", status)

    def test_service_callbacks_receive_their_reports_values(self):
        tid, did = self.type_with_device("serviced", 4)
        self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid, [
            {"callbackType": "SERVICE", "callbackSubtype": "STATUS",
             "url": self.receiver.url("/status/{device}"), "contentType": "text/plain",
             "bodyTemplate": "{device} {time} {station} {temp} {batt}"},
            {"callbackType": "SERVICE", "callbackSubtype": "ACKNOWLEDGE",
             "url": self.receiver.url("/acked/{device}?seq={seqNumber}&ack={downlinkAck}")}])
        c = Client(self.server, self.station)
        self.assertEqual(self.report(c, did, 7)["result"], "accepted")
        status = {"device": did, "type": "STATUS", "time": T0 + 500000, "station": "0A1B",
                  "temp": 21.5, "batt": 3.25}
        self.assertEqual(c.ok("POST", "/api/ingest/service", status), {"result": "accepted"})
        ack = {"device": did, "type": "ACKNOWLEDGE", "time": T0 + 7 * 60000 + 20000,
               "station": "0A1B", "seqNumber": 7, "downlinkAck": False}
        self.assertEqual(c.ok("POST", "/api/ingest/service", ack), {"result": "accepted"})
        c.close()
        statuses = self.receiver.wait("/status/%s" % did, 1)
        self.assertEqual([b for _, _, _, b in statuses],
                         ["%s %d 0A1B 21.50 3.25" % (did, (T0 + 500000) // 1000)])
        acks = self.receiver.wait("/acked/%s" % did, 1)
        self.assertEqual([p for _, p, _, _ in acks], ["/acked/%s?seq=7&ack=false" % did])
        time.sleep(0.3)  # once each
        self.assertEqual(len(self.receiver.received("/status/")), 1)
        self.assertEqual(len(self.receiver.received("/acked/")), 1)


class CallbackEndpointsSqliteTest(EndpointFlows, unittest.TestCase):
    ENGINE = "sqlite"


class CallbackEndpointsPostgresTest(EndpointFlows, unittest.TestCase):
    ENGINE = "postgres"


if __name__ == "__main__":
    unittest.main()
