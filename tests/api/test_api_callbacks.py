"""Callbacks end to end over real HTTP, on SQLite and PostgreSQL: a device type's URL callbacks
receive each new message once (and each later station's report where sendDuplicate asks), on a
real receiver on loopback; a failing endpoint is retried, then its callback dies and one alert
email reaches the real SMTP sink; EMAIL callbacks reach the sink, BATCH_URL callbacks post their
lines together; a CALLBACK-mode device type's downlinkHook answers the downlink of a report with
ack; bad callbacks are refused when saved. On SQLite only (what they check is not storage
behaviour): /metrics counts each delivered callback exactly once, and a site that refuses private
destinations records a callback to loopback as failed, with the refusal as its reason, without
ever reaching it.
"""

import base64
import json
import os
import time
import unittest

from callback_receiver import Receiver
from mailsink import SmtpSink
from roostserver import metric_value
from roostsite import Client, ServedSite

T0 = 1700000000000


class CallbackFlows(ServedSite):
    SERVE_ARGS = ("--callback-dead-after-s", "3", "--callback-timeout-ms", "1000",
                  "--batch-callback-lines", "3", "--batch-callback-interval-ms", "3000")

    @classmethod
    def before_serve(cls):
        cls.receiver = Receiver()
        cls.closers.append(cls.receiver.stop)
        cls.sink = SmtpSink(os.path.join(cls.site.dir, "mail"))
        cls.closers.append(cls.sink.stop)
        return ("--smtp-host", "127.0.0.1", "--smtp-port", str(cls.sink.port), "--smtp-from",
                "roost@test.example")

    @classmethod
    def set_up_site(cls):
        cls.admin = cls.client("ADMIN", name="admin")
        cls.station = cls.site.api_user("STATION", name="station")
        cls.reader = cls.site.api_user("READER", name="reader")
        for sid in ("0A1B", "0A1C", "0A1D"):
            cls.admin.ok("POST", "/api/stations/create", {"id": sid, "name": sid}, expect=201)
        cls.pairs = cls.site.issue_and_import(15, "6C0000")

    def type_with_device(self, name, index, alert_email=""):
        tid = self.admin.ok("POST", "/api/devicetypes/create",
                            {"name": name, "alertEmail": alert_email})["id"]
        dev, pac = self.pairs[index]
        did = self.admin.ok("POST", "/api/devices/create",
                            {"id": dev, "pac": pac, "name": name, "type": tid})["id"]
        return tid, did

    def ingest(self, device, seq, station, time_ms, ack=False, whole=False):
        c = Client(self.server, self.station)
        res = c.ok("POST", "/api/ingest/uplink",
                   {"device": device, "seqNumber": seq, "data": "c0ffee", "time": time_ms,
                    "station": station, "rssi": -115.0, "snr": 9.5, "ack": ack})
        c.close()
        return res if whole else res["result"]

    def deliveries_settled(self, did, count=1, timeout=10):
        """The message's deliveries once none is pending (or the timeout passed)."""
        r = Client(self.server, self.reader)
        deadline = time.time() + timeout
        while True:
            m = r.ok("GET", "/api/devices/%s/messages" % did)["data"][0]
            cbs = m["callbacks"]
            if (len(cbs) >= count and all(c["state"] != "pending" for c in cbs)) \
                    or time.time() > deadline:
                break
            time.sleep(0.05)
        r.close()
        return m

    def test_an_email_callback_sends_each_message_as_an_email(self):
        tid, did = self.type_with_device("mailed", 3)
        self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid, [
            {"channel": "EMAIL", "recipient": "alerts+{device}@example.com",
             "subject": "Frame {seqNumber} from {device}",
             "message": "data={data}\nstation={station}"}])
        mails_before = self.sink.count()
        self.assertEqual(self.ingest(did, 1, "0A1B", T0), "accepted")
        rcpts, msg = self.sink.message(mails_before + 1)
        self.assertEqual(rcpts, ["alerts+%s@example.com" % did])
        self.assertEqual(msg["Subject"], "Frame 1 from %s" % did)
        self.assertEqual(msg["From"], "Roost <roost@test.example>")
        self.assertEqual(msg.get_body(preferencelist=("plain",)).get_content().splitlines(),
                         ["data=c0ffee", "station=0A1B"])
        m = self.deliveries_settled(did)
        self.assertEqual([(c["state"], c["status"]) for c in m["callbacks"]], [("done", 250)],
                         m["callbacks"])
        self.assertEqual(m["callbacks"][0]["email"], "alerts+%s@example.com" % did)
        self.assertNotIn("url", m["callbacks"][0])
        time.sleep(0.5)
        self.assertEqual(self.sink.count(), mails_before + 1, "one email per message")

    def test_a_batch_url_callback_posts_the_lines_of_several_messages_together(self):
        tid, did = self.type_with_device("batched", 4)
        self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid, [
            {"channel": "BATCH_URL", "url": self.receiver.url("/batch/" + tid),
             "linePattern": "{device};{seqNumber};{data}"}])
        for seq in (1, 2, 3):
            self.assertEqual(self.ingest(did, seq, "0A1B", T0 + seq * 60000), "accepted")
        got = self.receiver.wait("/batch/" + tid, 1)
        time.sleep(0.5)  # nothing more arrives: the three lines went in one request
        got = self.receiver.received("/batch/" + tid)
        self.assertEqual(len(got), 1, got)
        method, _, headers, body = got[0]
        self.assertEqual(method, "POST")
        self.assertEqual(headers.get("Content-Type"), "text/plain")
        self.assertEqual(sorted(body.split("\n")),
                         ["%s;%d;c0ffee" % (did, seq) for seq in (1, 2, 3)])
        m = self.deliveries_settled(did)
        self.assertEqual([(c["state"], c["status"]) for c in m["callbacks"]], [("done", 200)])

    def test_a_callback_mode_device_type_gets_its_downlink_from_the_hook(self):
        for index, path, downlink in ((5, "/hook/", "0102030405060708"), (6, "/nodata/", None)):
            tid = self.admin.ok("POST", "/api/devicetypes/create",
                                {"name": "hooked" + path.strip("/"),
                                 "downlinkMode": "CALLBACK"})["id"]
            dev, pac = self.pairs[index]
            did = self.admin.ok("POST", "/api/devices/create",
                                {"id": dev, "pac": pac, "name": "hooked", "type": tid})["id"]
            cid = self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid, [
                {"callbackSubtype": 3,
                 "url": self.receiver.url(path + tid + "?device={device}&ack={ack}")}
            ])["data"][0]["id"]
            self.admin.ok("POST", "/api/devicetypes/%s/callbacks/%s/downlink" % (tid, cid),
                          expect=204)
            answer = self.ingest(did, 1, "0A1B", T0, ack=True, whole=True)
            calls = self.receiver.received(path + tid)
            self.assertEqual(len(calls), 1, "the hook was called while the answer was held")
            self.assertEqual(calls[0][1], "%s%s?device=%s&ack=true" % (path, tid, did))
            m = self.deliveries_settled(did)
            if downlink:
                self.assertEqual(answer, {"result": "accepted", "downlink": {"data": downlink}})
                self.assertEqual(m["downlinkAnswerStatus"],
                                 {"data": downlink, "station": "0A1B", "acknowledged": None})
            else:
                self.assertEqual(answer, {"result": "accepted"})
                self.assertEqual(m["downlinkAnswerStatus"],
                                 {"data": None, "station": None, "acknowledged": None,
                                  "reason": "noData: the downlinkHook callback sent no downlink"})
            # The call was the hook's one delivery for the frame, recorded on the message.
            self.assertEqual([(c["callbackId"], c["state"], c["attempts"], c["status"])
                              for c in m["callbacks"]], [(cid, "done", 1, 200)])
        time.sleep(1.0)
        for path in ("/hook/", "/nodata/"):
            self.assertEqual(len(self.receiver.received(path)), 1, "never called twice")

    def test_a_callbacks_credentials_are_sealed_at_rest_and_sent_in_clear(self):
        tid, did = self.type_with_device("sealed", 12)
        url = self.receiver.url("/sealed/{device}?key=q-secret").replace(
            "http://", "http://u:pw-secret@")
        cid = self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid, [
            {"url": url, "headers": {"X-Api-Key": "h-secret"}}])["data"][0]["id"]
        rows = self.site.sql("SELECT url, headers FROM callbacks WHERE id = '%s'" % cid)
        self.assertEqual(len(rows), 1)
        for column in rows[0]:
            self.assertTrue(column.startswith("sealed:"), column)
            self.assertNotIn("secret", column)
        self.assertEqual(self.ingest(did, 1, "0A1B", T0), "accepted")
        method, path, headers, _ = self.receiver.wait("/sealed/", 1)[0]
        self.assertEqual(path, "/sealed/%s?key=q-secret" % did)
        self.assertEqual(headers.get("X-Api-Key"), "h-secret")
        self.assertEqual(headers.get("Authorization"),
                         "Basic " + base64.b64encode(b"u:pw-secret").decode())
        # Its DEVICE_MANAGERs read it back as written; a READER without the credentials.
        listed = self.admin.ok("GET", "/api/devicetypes/%s/callbacks" % tid)["data"]
        self.assertEqual([(c["url"], c["headers"]) for c in listed],
                         [(url, {"X-Api-Key": "h-secret"})])
        r = Client(self.server, self.reader)
        listed = r.ok("GET", "/api/devicetypes/%s/callbacks" % tid)["data"]
        hidden = self.receiver.url("/***/{device}?key=***").replace("http://", "http://***@")
        self.assertEqual([(c["url"], c["headers"]) for c in listed], [(hidden, {"X-Api-Key": ""})])
        m = self.deliveries_settled(did)
        self.assertEqual([c["url"] for c in m["callbacks"]],
                         [hidden.replace("{device}", "***")])
        self.assertNotIn("secret", json.dumps(r.ok("GET", "/api/devices/%s/messages" % did)))
        r.close()

    def test_each_message_reaches_its_callbacks_once_and_duplicates_where_asked(self):
        tid, did = self.type_with_device("meters", 0)
        base = "/api/devicetypes/%s/callbacks/new" % tid
        self.admin.ok("POST", base, [
            {"url": self.receiver.url("/all/{device}?seq={seqNumber}"),
             "contentType": "application/json",
             "headers": {"X-Station": "{station}"},
             "bodyTemplate": '{"device":"{device}","data":"{data}","time":{time},'
                             '"duplicate":{duplicate}}'},
            {"url": self.receiver.url("/dups"), "httpMethod": "POST",
             "contentType": "application/x-www-form-urlencoded",
             "bodyTemplate": "device={device}&station={station}&duplicate={duplicate}",
             "sendDuplicate": True}])
        for i, station in enumerate(("0A1B", "0A1C", "0A1D")):
            self.assertEqual(self.ingest(did, 1, station, T0 + i * 100),
                             "accepted" if i == 0 else "duplicate")
        firsts = self.receiver.wait("/all/", 1)
        dups = self.receiver.wait("/dups", 3)
        time.sleep(0.5)  # nothing more arrives
        firsts = self.receiver.received("/all/")
        self.assertEqual(len(firsts), 1, firsts)
        method, path, headers, body = firsts[0]
        self.assertEqual((method, path), ("POST", "/all/%s?seq=1" % did))
        self.assertEqual(headers.get("X-Station"), "0A1B")
        self.assertEqual(json.loads(body), {"device": did, "data": "c0ffee",
                                            "time": T0 // 1000, "duplicate": False})
        self.assertEqual(sorted(b for _, _, _, b in dups), sorted([
            "device=%s&station=0A1B&duplicate=false" % did,
            "device=%s&station=0A1C&duplicate=true" % did,
            "device=%s&station=0A1D&duplicate=true" % did]))
        # The message lists its deliveries, done.
        r = Client(self.server, self.reader)
        deadline = time.time() + 10
        while True:
            m = r.ok("GET", "/api/devices/%s/messages" % did)["data"][0]
            states = [c["state"] for c in m["callbacks"]]
            if states == ["done"] * 4 or time.time() > deadline:
                break
            time.sleep(0.05)
        r.close()
        self.assertEqual(states, ["done"] * 4, m["callbacks"])
        self.assertEqual(sorted(c["duplicate"] for c in m["callbacks"]),
                         [False, False, True, True])
        self.assertEqual({c["status"] for c in m["callbacks"]}, {200})
        # Deleting a callback leaves its attempts on the message, without its url.
        dups_id = [c["callbackId"] for c in m["callbacks"] if c["duplicate"]][0]
        self.admin.ok("POST", "/api/devicetypes/%s/callbacks/%s/delete" % (tid, dups_id),
                      expect=204)
        after = Client(self.server, self.reader)
        kept = after.ok("GET", "/api/devices/%s/messages" % did)["data"][0]["callbacks"]
        after.close()
        self.assertEqual([(c["callbackId"], c["state"], c["status"]) for c in kept],
                         [(c["callbackId"], "done", 200) for c in m["callbacks"]])
        self.assertEqual(["url" in c for c in kept],
                         [c["callbackId"] != dups_id for c in kept], kept)

    def test_a_url_callback_saved_without_content_type_or_body_sends_json(self):
        tid, did = self.type_with_device("plain", 11)
        self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid,
                      [{"url": self.receiver.url("/plain/{device}")},
                       # A GET has no body: nothing is added to it.
                       {"url": self.receiver.url("/plainget/{device}"), "httpMethod": "GET"}])
        listed = self.admin.ok("GET", "/api/devicetypes/%s/callbacks" % tid)["data"]
        self.assertEqual(sorted((c["httpMethod"], c["contentType"]) for c in listed),
                         [("GET", ""), ("POST", "application/json")], listed)
        self.assertEqual(self.ingest(did, 1, "0A1B", T0), "accepted")
        method, _, headers, body = self.receiver.wait("/plain/", 1)[0]
        self.assertEqual(method, "POST")
        self.assertEqual(headers.get("Content-Type"), "application/json")
        self.assertEqual(json.loads(body), {"device": did, "data": "c0ffee", "time": T0 // 1000})
        self.assertEqual(self.receiver.wait("/plainget/", 1)[0][3], "")

    def test_a_failing_endpoint_is_retried_then_dies_with_one_alert_email(self):
        tid, did = self.type_with_device("failing", 1, alert_email="ops@example.com")
        cb = self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid,
                           [{"url": self.receiver.url("/fail/{device}")}])["data"][0]["id"]
        mails_before = self.sink.count()
        self.assertEqual(self.ingest(did, 1, "0A1B", T0), "accepted")
        deadline = time.time() + 20
        while time.time() < deadline:
            cbs = self.admin.ok("GET", "/api/devicetypes/%s/callbacks" % tid)["data"]
            if cbs[0]["dead"]:
                break
            time.sleep(0.1)
        self.assertTrue(cbs[0]["dead"], cbs)
        self.assertGreaterEqual(len(self.receiver.received("/fail/")), 2, "retried")
        rcpts, msg = self.sink.message(mails_before + 1)
        self.assertEqual(rcpts, ["ops@example.com"])
        self.assertIn(cb, msg["Subject"])
        self.assertIn("dead", msg.get_body(preferencelist=("plain",)).get_content())
        errors = self.admin.ok("GET", "/api/callbacks/messages/error")["data"]
        mine = [e for e in errors if e["callbackId"] == cb]
        self.assertEqual(len(mine), 1, errors)
        self.assertEqual((mine[0]["state"], mine[0]["status"]), ("dead", 500))
        # Dead: a new message queues nothing for it; one alert only.
        self.assertEqual(self.ingest(did, 2, "0A1B", T0 + 60000), "accepted")
        time.sleep(1.0)
        self.assertEqual(self.sink.count(), mails_before + 1)
        # Enabled again, it lives.
        self.admin.ok("POST", "/api/devicetypes/%s/callbacks/%s/enable?enabled=true" % (tid, cb),
                      expect=204)
        cbs = self.admin.ok("GET", "/api/devicetypes/%s/callbacks" % tid)["data"]
        self.assertFalse(cbs[0]["dead"])

    def test_one_message_an_endpoint_keeps_refusing_is_given_up_alone(self):
        tid, did = self.type_with_device("picky", 10, alert_email="ops@example.com")
        cb = self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid,
                           [{"url": self.receiver.url("/picky/{device}/{seqNumber}")}])
        cb = cb["data"][0]["id"]
        mails_before = self.sink.count()
        self.assertEqual(self.ingest(did, 1, "0A1B", T0), "accepted")
        self.receiver.wait("/picky/%s/1" % did, 1)
        # Message 2 goes once message 1's refusal is recorded: "delivered since the first
        # failure" compares the times the two sends ended, and the receiver may answer the
        # later request first.
        r = Client(self.server, self.reader)
        deadline = time.time() + 20
        while time.time() < deadline:
            cbs = r.ok("GET", "/api/devices/%s/messages" % did)["data"][0]["callbacks"]
            if cbs and cbs[0]["attempts"] >= 1:
                break
            time.sleep(0.05)
        r.close()
        self.assertEqual(self.ingest(did, 2, "0A1B", T0 + 60000), "accepted")
        self.receiver.wait("/picky/%s/2" % did, 1)
        # Message 1 fails past pipeline.callback_dead_after_s (3 s here: message 2 is
        # delivered well within it, after message 1 first failed) and is given up.
        r = Client(self.server, self.reader)
        deadline = time.time() + 20
        while time.time() < deadline:
            first = r.ok("GET", "/api/devices/%s/messages" % did)["data"][-1]
            if first["callbacks"][0]["state"] == "dead":
                break
            time.sleep(0.1)
        r.close()
        self.assertEqual(first["seqNumber"], 1)
        self.assertEqual((first["callbacks"][0]["state"], first["callbacks"][0]["status"]),
                         ("dead", 400), first["callbacks"])
        self.assertGreaterEqual(len(self.receiver.received("/picky/%s/1" % did)), 2, "retried")
        # The callback delivered since: it lives, nobody is alerted, the next message goes.
        cbs = self.admin.ok("GET", "/api/devicetypes/%s/callbacks" % tid)["data"]
        self.assertEqual([(c["id"], c["dead"]) for c in cbs], [(cb, False)])
        self.assertEqual(self.ingest(did, 3, "0A1B", T0 + 120000), "accepted")
        self.assertEqual(len(self.receiver.wait("/picky/%s/3" % did, 1)), 1)
        m = self.deliveries_settled(did)
        self.assertEqual((m["seqNumber"], m["callbacks"][0]["state"]), (3, "done"), m)
        time.sleep(0.5)
        self.assertEqual(self.sink.count(), mails_before)

    def test_a_message_shows_where_each_delivery_went_and_every_attempt(self):
        tid, did = self.type_with_device("flaky", 7)
        secret_url = self.receiver.url("/flaky/{device}").replace("//", "//hook:s3cret@", 1)
        self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid,
                      [{"url": secret_url}, {"url": self.receiver.url("/ok/{device}")}])
        self.assertEqual(self.ingest(did, 1, "0A1B", T0), "accepted")
        self.receiver.wait("/flaky/%s" % did, 2)
        m = self.deliveries_settled(did, count=2)
        # A READER sees the expanded urls without their credentials nor their paths.
        self.assertEqual(sorted(c["url"] for c in m["callbacks"]),
                         ["http://***@127.0.0.1:%d/***/***" % self.receiver.port,
                          "http://127.0.0.1:%d/***/***" % self.receiver.port])
        # An ADMIN sees the url as it was called.
        full = self.admin.ok("GET", "/api/devices/%s/messages" % did)["data"][0]["callbacks"]
        self.assertIn(secret_url.replace("{device}", did), [c["url"] for c in full])
        by_path = {c["url"].split(":%d" % self.receiver.port)[1]: c for c in full}
        flaky, ok = by_path["/flaky/%s" % did], by_path["/ok/%s" % did]
        self.assertEqual((flaky["state"], flaky["attempts"]), ("done", 2), flaky)
        self.assertEqual([h["status"] for h in flaky["history"]], [500, 200], flaky)
        self.assertLess(flaky["history"][0]["time"], flaky["history"][1]["time"])
        self.assertEqual([h["status"] for h in ok["history"]], [200], ok)
        self.assertEqual(ok["url"], self.receiver.url("/ok/%s" % did))

    def test_every_attempt_of_a_delivery_sends_the_radio_values_it_was_queued_with(self):
        # A retry renders the stored message, which more stations may have joined since the
        # first attempt: {snr}, {rssi}, {lat}, {lng} stay the delivery's station's, and
        # {avgSnr} the mean of the stations that had heard the frame when it was queued.
        tid, did = self.type_with_device("radio", 13)
        positions = {"0B01": (43.5, 1.25), "0B02": (44.0, -0.5), "0B03": (45.125, 2.0)}
        for sid, (lat, lng) in positions.items():
            self.admin.ok("POST", "/api/stations/create",
                          {"id": sid, "name": sid, "lat": lat, "lng": lng}, expect=201)
        values = "{station} {snr} {avgSnr} {rssi} {lat} {lng}"
        self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid, [
            {"url": self.receiver.url("/flaky/radio/{device}"), "contentType": "text/plain",
             "bodyTemplate": values},
            {"url": self.receiver.url("/flaky/radio-dup/{device}/{station}"),
             "contentType": "text/plain", "bodyTemplate": values, "sendDuplicate": True}])
        c = Client(self.server, self.station)

        def report(station, delay, rssi, snr):
            return c.ok("POST", "/api/ingest/uplink",
                        {"device": did, "seqNumber": 1, "data": "c0ffee", "time": T0 + delay,
                         "station": station, "rssi": rssi, "snr": snr})["result"]

        self.assertEqual(report("0B01", 0, -110.0, 12.0), "accepted")
        # The first attempts fail (500): the others join before the retries, a second later.
        self.receiver.wait("/flaky/radio/%s" % did, 1)
        self.assertEqual(report("0B02", 300, -100.0, 6.0), "duplicate")
        self.assertEqual(report("0B03", 500, -120.0, 3.0), "duplicate")
        c.close()
        expected = {
            "/flaky/radio/%s" % did: "0B01 12.00 12.00 -110.00 43.500000 1.250000",
            "/flaky/radio-dup/%s/0B01" % did: "0B01 12.00 12.00 -110.00 43.500000 1.250000",
            "/flaky/radio-dup/%s/0B02" % did: "0B02 6.00 9.00 -100.00 44.000000 -0.500000",
            "/flaky/radio-dup/%s/0B03" % did: "0B03 3.00 7.00 -120.00 45.125000 2.000000",
        }
        for path, body in expected.items():
            got = self.receiver.wait(path, 2)
            self.assertEqual([b for _, p, _, b in got if p == path], [body, body], path)

    def test_a_callbacks_own_payload_config_gives_its_custom_data(self):
        tid, did = self.type_with_device("custom", 14)
        self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid, [
            {"url": self.receiver.url("/custom/{device}?t={customData#temp}"),
             "contentType": "application/json",
             "payloadConfig": "temp::int:16:little-endian flag::bool:7 name::char:1",
             "bodyTemplate": '{"temp":{customData#temp},"flag":{customData#flag},'
                             '"name":"{customData#name}","none":"{customData#name}"}'}])
        self.assertEqual(self.ingest(did, 1, "0A1B", T0), "accepted")  # data c0ffee
        got = self.receiver.wait("/custom/%s" % did, 1)
        self.assertEqual(len(got), 1, got)
        _, path, _, body = got[0]
        # c0 ff little-endian is -64; the flag is bit 7 of the next byte (ee); `name` would
        # start past the 3 bytes of data, so it is empty.
        self.assertEqual(path, "/custom/%s?t=-64" % did)
        self.assertEqual(json.loads(body), {"temp": -64, "flag": True, "name": "", "none": ""})

    def test_a_new_owner_never_sees_where_the_old_owners_callbacks_sent(self):
        tid, did = self.type_with_device("moving", 9)
        secret_url = self.receiver.url("/moving/{device}?token=t0k3n").replace(
            "//", "//hook:s3cret@", 1)
        # And one whose attempts fail: their answers' text names the host and port reached.
        dead_end = "http://127.0.0.1:9/dead-end/{device}"
        made = self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid,
                             [{"url": secret_url}, {"url": dead_end}])["data"]
        failing = made[1]["id"]
        self.assertEqual(self.ingest(did, 1, "0A1B", T0 + 300000), "accepted")
        deadline = time.time() + 20
        while True:
            m = self.admin.ok("GET", "/api/devices/%s/messages" % did)["data"][0]
            by_id = {c["callbackId"]: c for c in m["callbacks"]}
            if (len(by_id) == 2 and by_id[failing]["attempts"] >= 1
                    and by_id[made[0]["id"]]["state"] == "done") or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(by_id[made[0]["id"]]["state"], "done", m["callbacks"])
        self.assertIn("url", by_id[made[0]["id"]])
        self.assertIn("127.0.0.1", by_id[failing]["info"], by_id[failing])
        # The device moves to another group, with its messages.
        group = self.admin.ok("POST", "/api/groups/create", {"name": "new owner"})["id"]
        owner = self.client("ADMIN", group=group, name="new owner admin")
        new_type = owner.ok("POST", "/api/devicetypes/create", {"name": "theirs"})["id"]
        pac = self.admin.ok("GET", "/api/devices/%s" % did)["pac"]
        self.admin.ok("POST", "/api/devices/edit",
                      {"id": did, "deviceTypeId": new_type, "pac": pac})
        listed = owner.ok("GET", "/api/devices/%s/messages" % did)["data"]
        self.assertEqual(len(listed), 1, listed)
        cbs = listed[0]["callbacks"]
        self.assertEqual(len(cbs), 2, cbs)
        for c in cbs:
            self.assertNotIn("url", c)
            self.assertNotIn("email", c)
            # Nor which of the old owner's callbacks it was.
            self.assertIsNone(c["callbackId"], c)
        done = [c for c in cbs if c["state"] == "done"]
        self.assertEqual(len(done), 1, cbs)
        # The failing one keeps its times and statuses, not what its answers said.
        fails = [c for c in cbs if c["state"] != "done"][0]
        self.assertGreaterEqual(fails["attempts"], 1, cbs)
        self.assertEqual(fails["info"], "", cbs)
        self.assertTrue(fails["history"], cbs)
        for attempt in fails["history"]:
            self.assertEqual(attempt["info"], "", cbs)
            self.assertGreater(attempt["status"], 0, cbs)
        text = json.dumps(listed)
        for secret in ("s3cret", "t0k3n", "/moving/", "dead-end", "127.0.0.1", made[0]["id"],
                       failing):
            self.assertNotIn(secret, text)
        # The old owner's root admin, who sees both groups, still sees it.
        mine = self.admin.ok("GET", "/api/devices/%s/messages" % did)["data"][0]["callbacks"]
        mine = {c["callbackId"]: c for c in mine}
        self.assertEqual(mine[made[0]["id"]]["url"], secret_url.replace("{device}", did))
        self.assertIn("127.0.0.1", mine[failing]["info"])

    def test_the_failed_deliveries_list_pages_without_loss_or_repeat(self):
        tid, did = self.type_with_device("paged", 8)
        cb = self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid,
                           [{"url": self.receiver.url("/fail/paged/{seqNumber}?d={data}&r={rssi}")}]
                           )["data"][0]["id"]
        for seq in range(1, 4):
            self.assertEqual(self.ingest(did, seq, "0A1B", T0 + 200000 + seq * 1000), "accepted")
        deadline = time.time() + 20
        while time.time() < deadline:
            every = self.admin.ok("GET", "/api/callbacks/messages/error")["data"]
            mine = [e for e in every if e["callbackId"] == cb]
            if len(mine) == 3:
                break
            time.sleep(0.1)
        self.assertEqual(len(mine), 3, every)
        # Each url has its own message's values, which only the stored message holds.
        for e in mine:
            self.assertEqual(e["url"], self.receiver.url(
                "/fail/paged/%d?d=c0ffee&r=-115.00" % e["seqNumber"]), e)
        page = self.admin.ok("GET", "/api/callbacks/messages/error?limit=1")
        paged = []
        for _ in range(50):
            self.assertLessEqual(len(page["data"]), 1)
            paged += page["data"]
            if "next" not in page["paging"]:
                break
            page = self.admin.ok("GET", page["paging"]["next"])
        self.assertEqual(len(page["data"]), 1, "the last page has no next, and is not empty")
        key = lambda e: (e["callbackId"], e["messageTime"], e["seqNumber"], e["duplicate"])
        self.assertEqual(sorted(key(e) for e in paged if e["callbackId"] == cb),
                         sorted(key(e) for e in mine))
        self.assertEqual(len(set(key(e) for e in paged)), len(paged), "no entry twice")
        status, _, err = self.admin.call("GET", "/api/callbacks/messages/error?after=soon")
        self.assertEqual(status, 400, err)
        self.assertIn("after", err["message"])
        # The Sigfox API v1's filters, on the first failure's time.
        failures = sorted(e["firstFailure"] for e in mine)

        def mine_with(query):
            got = self.admin.ok("GET", "/api/callbacks/messages/error?limit=1000&" + query)
            return sorted(e["firstFailure"] for e in got["data"] if e["callbackId"] == cb)

        self.assertEqual(mine_with("since=%d" % failures[0]), failures)
        self.assertEqual(mine_with("since=%d" % (failures[-1] + 1)), [])
        self.assertEqual(mine_with("since=%d" % failures[1]),
                         [f for f in failures if f >= failures[1]])
        self.assertEqual(mine_with("before=%d" % failures[-1]),
                         [f for f in failures if f < failures[-1]])
        self.assertEqual(mine_with("before=%d" % failures[0]), [])
        # Paged with since: the last page that has any has no next.
        page = self.admin.ok("GET", "/api/callbacks/messages/error?limit=1&since=%d" % failures[0])
        seen = []
        for _ in range(50):
            seen += [e["firstFailure"] for e in page["data"]]
            if "next" not in page["paging"]:
                break
            page = self.admin.ok("GET", page["paging"]["next"])
        self.assertTrue(all(f >= failures[0] for f in seen), seen)
        self.assertEqual(len(page["data"]), 1, "the last page has no next, and is not empty")
        # groupId: a subgroup holds none of the root group's types; an unknown group is 404.
        sub = self.admin.ok("POST", "/api/groups/create", {"name": "errors-sub"})["id"]
        self.assertEqual(mine_with("groupId=" + sub), [])
        status, _, err = self.admin.call("GET", "/api/callbacks/messages/error?groupId=%024x" % 7)
        self.assertEqual(status, 404, err)
        status, _, err = self.admin.call("GET", "/api/callbacks/messages/error?since=soon")
        self.assertEqual(status, 400, err)
        self.assertIn("since", err["message"])
        # hexId and deviceTypeId filter in the query: every entry is of them, pages stay full.
        for query in ("hexId=" + did, "deviceTypeId=" + tid,
                      "hexId=%s&deviceTypeId=%s" % (did, tid)):
            got = self.admin.ok("GET", "/api/callbacks/messages/error?limit=1000&" + query)["data"]
            self.assertEqual(sorted(key(e) for e in got), sorted(key(e) for e in mine), query)
            page = self.admin.ok("GET", "/api/callbacks/messages/error?limit=1&" + query)
            seen = []
            for _ in range(50):
                self.assertEqual(len(page["data"]), 1, (query, page))
                seen += page["data"]
                if "next" not in page["paging"]:
                    break
                page = self.admin.ok("GET", page["paging"]["next"])
            self.assertEqual(sorted(key(e) for e in seen), sorted(key(e) for e in mine), query)
        other = "%X" % (int(did, 16) + 1)
        self.assertEqual(mine_with("hexId=" + other), [])
        status, _, err = self.admin.call("GET", "/api/callbacks/messages/error?hexId=zz")
        self.assertEqual(status, 400, err)
        self.assertIn("hexId", err["message"])
        status, _, err = self.admin.call("GET",
                                         "/api/callbacks/messages/error?deviceTypeId=%024x" % 7)
        self.assertEqual(status, 404, err)

    def test_bad_callbacks_are_refused_when_saved_and_nothing_is_stored(self):
        tid, _ = self.type_with_device("strict", 2)
        path = "/api/devicetypes/%s/callbacks/new" % tid
        for case in (
                ([{"url": "http://x.example/{nope}"}], "unknown variable"),
                ([{"url": "ftp://x.example/"}], "url"),
                ([{"url": "http://x.example/", "httpMethod": "DELETE"}], "httpMethod"),
                ([{"url": "http://x.example/", "httpMethod": "GET", "bodyTemplate": "x"}],
                 "bodyTemplate"),
                ([{"url": "http://x.example/"}, {"url": "http://x.example/{bad}"}], "data[1]"),
                ([{"channel": "EMAIL", "recipient": "a@example.com", "subject": "{nope}",
                   "message": "m"}], "subject: position 1: unknown variable"),
                ([{"channel": "BATCH_URL", "url": "http://x.example/{device}",
                   "linePattern": "{data}"}], "has no variables"),
                ([], "data"),
                ({"data": "x"}, "data"),
                # Each delivery decodes every field on the event loop: bounded as a type's.
                ([{"url": "http://x.example/", "payloadConfig": "a:0:bool:0 " * 400}],
                 "data[0].payloadConfig: is too long (at most 4000 characters)"),
                ([{"url": "http://x.example/"}, {"url": "http://x.example/", "foo": 1}],
                 "data[1].foo: unknown field", "data[1].foo"),
                # sendSni is true or false (either is taken; SNI is always sent over https://).
                ([{"url": "https://x.example/", "sendSni": "no"}],
                 "data[0].sendSni", "data[0].sendSni"),
                ([{"url": "http://x.example:99999/"}],
                 "data[0]: url: the port must be a number 1..65535", "data[0].url"),
                ([{"channel": "EMAIL", "recipient": "a@b.c\r\nBcc: x@y.z", "subject": "s",
                   "message": "m"}], "'a@b.c\\x0D\\x0ABcc: x@y.z' must be local@domain")):
            body, fragment, *field = case
            status, _, err = self.admin.call("POST", path, body)
            self.assertEqual(status, 400, (body, err))
            self.assertIn(fragment, err["message"], body)
            if field:  # errors[].field is the member's whole path
                self.assertEqual([e.get("field") for e in err["errors"]], field, err)
        self.assertEqual(self.admin.ok("GET", "/api/devicetypes/%s/callbacks" % tid)["data"], [])

    def test_a_device_type_has_at_most_100_callbacks(self):
        # Every message queues a delivery per callback in the one ingest transaction.
        tid = self.admin.ok("POST", "/api/devicetypes/create", {"name": "crowded"})["id"]
        path = "/api/devicetypes/%s/callbacks/new" % tid
        one = {"url": "http://x.example/", "enabled": False}
        self.admin.ok("POST", path, [one] * 98)
        status, _, err = self.admin.call("POST", path, [one] * 3)
        self.assertEqual(status, 400, err)
        self.assertIn("a device type has at most 100 callbacks (it has 98)", err["message"])
        listed = self.admin.ok("GET", "/api/devicetypes/%s/callbacks" % tid)["data"]
        self.assertEqual(len(listed), 98)  # none of the refused request
        self.admin.ok("POST", path, [one] * 2)
        status, _, err = self.admin.call("POST", path, [one])
        self.assertEqual(status, 400, err)
        # Another type has its own 100.
        other = self.admin.ok("POST", "/api/devicetypes/create", {"name": "roomy"})["id"]
        self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % other, [one])


class CallbacksSqliteTest(CallbackFlows, unittest.TestCase):
    ENGINE = "sqlite"


class CallbacksPostgresTest(CallbackFlows, unittest.TestCase):
    ENGINE = "postgres"


def deliveries_counted(server, outcome):
    """roost_callback_deliveries_total{outcome} of the server's /metrics."""
    status, _, body = server.request("GET", "/metrics")
    if status != 200:
        raise AssertionError("/metrics answered %d" % status)
    value = metric_value(body.decode(),
                         'roost_callback_deliveries_total{outcome="%s"}' % outcome)
    if value is None:
        raise AssertionError("roost_callback_deliveries_total{outcome=%s} is not in /metrics"
                             % outcome)
    return value


class OneCallbackSite(ServedSite):
    """A SQLite site served with SERVE_ARGS, a station, and one device whose type has one URL
    callback to a receiver on loopback (and a spare device ID and PAC, `spare`)."""

    ENGINE = "sqlite"

    @classmethod
    def before_serve(cls):
        cls.receiver = Receiver()
        cls.closers.append(cls.receiver.stop)
        return ("--callback-timeout-ms", "1000")

    @classmethod
    def set_up_site(cls):
        cls.admin = cls.client("ADMIN", name="admin")
        cls.station = cls.site.api_user("STATION", name="station")
        cls.admin.ok("POST", "/api/stations/create", {"id": "0A1B", "name": "0A1B"}, expect=201)
        (dev, pac), cls.spare = cls.site.issue_and_import(2, "6D0000")
        cls.tid = cls.admin.ok("POST", "/api/devicetypes/create", {"name": "watched"})["id"]
        cls.did = cls.admin.ok("POST", "/api/devices/create",
                               {"id": dev, "pac": pac, "name": "watched", "type": cls.tid})["id"]
        cls.cb = cls.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % cls.tid,
                              [{"url": cls.receiver.url("/cb/{device}?seq={seqNumber}")}]
                              )["data"][0]["id"]

    def ingest(self, seq):
        c = Client(self.server, self.station)
        res = c.ok("POST", "/api/ingest/uplink",
                   {"device": self.did, "seqNumber": seq, "data": "c0ffee",
                    "time": T0 + seq * 60000, "station": "0A1B", "rssi": -115.0, "snr": 9.5})
        c.close()
        return res["result"]


class CallbackMetricsSqliteTest(OneCallbackSite, unittest.TestCase):
    def test_delivered_counter_rises_by_exactly_the_deliveries_made(self):
        delivered = deliveries_counted(self.server, "delivered")
        failed = deliveries_counted(self.server, "failed")
        for seq in (1, 2, 3):
            self.assertEqual(self.ingest(seq), "accepted")
        self.assertEqual(len(self.receiver.wait("/cb/", 3)), 3)
        deadline = time.time() + 10
        while deliveries_counted(self.server, "delivered") < delivered + 3 \
                and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # nothing more is counted
        self.assertEqual(len(self.receiver.received("/cb/")), 3)
        self.assertEqual(deliveries_counted(self.server, "delivered"), delivered + 3)
        self.assertEqual(deliveries_counted(self.server, "failed"), failed)


class CallbackRefusePrivateSqliteTest(OneCallbackSite, unittest.TestCase):
    SERVE_ARGS = ("--callback-refuse-private", "true")

    def test_a_callback_to_loopback_is_recorded_as_refused_and_never_sent(self):
        failed = deliveries_counted(self.server, "failed")
        self.assertEqual(self.ingest(1), "accepted")
        deadline = time.time() + 10
        while True:
            messages = self.admin.ok("GET", "/api/devices/%s/messages" % self.did)["data"]
            cbs = messages[0]["callbacks"] if messages else []
            if (cbs and cbs[0]["status"] is not None) or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(len(cbs), 1, cbs)
        self.assertEqual(cbs[0]["status"], 605, cbs)
        self.assertIn("destination address not allowed", cbs[0]["info"])
        self.assertIsNotNone(cbs[0]["firstFailure"])
        errors = self.admin.ok("GET", "/api/callbacks/messages/error")["data"]
        mine = [e for e in errors if e["callbackId"] == self.cb]
        self.assertTrue(mine, errors)
        self.assertEqual(mine[0]["status"], 605)
        self.assertGreater(deliveries_counted(self.server, "failed"), failed)
        self.assertEqual(self.receiver.received("/cb/"), [])

    def test_a_downlink_hook_to_loopback_is_refused_and_the_frame_gets_no_downlink(self):
        tid = self.admin.ok("POST", "/api/devicetypes/create",
                            {"name": "hooked-private", "downlinkMode": "CALLBACK"})["id"]
        dev, pac = self.spare
        did = self.admin.ok("POST", "/api/devices/create",
                            {"id": dev, "pac": pac, "name": "hooked", "type": tid})["id"]
        cid = self.admin.ok("POST", "/api/devicetypes/%s/callbacks/new" % tid, [
            {"callbackSubtype": 3, "url": self.receiver.url("/hook/private?device={device}")}
        ])["data"][0]["id"]
        self.admin.ok("POST", "/api/devicetypes/%s/callbacks/%s/downlink" % (tid, cid),
                      expect=204)
        c = Client(self.server, self.station)
        answer = c.ok("POST", "/api/ingest/uplink",
                      {"device": did, "seqNumber": 1, "data": "c0ffee", "time": T0,
                       "station": "0A1B", "rssi": -115.0, "snr": 9.5, "ack": True})
        c.close()
        self.assertEqual(answer, {"result": "accepted"})
        m = self.admin.ok("GET", "/api/devices/%s/messages" % did)["data"][0]
        status = m["downlinkAnswerStatus"]
        self.assertEqual((status["data"], status["station"]), (None, None), status)
        # The kind of failure; the sender's text (naming the address) stays with the delivery.
        self.assertEqual(status.get("reason"), "the downlinkHook callback could not be called: "
                                               "its destination is not allowed (605)", status)
        hook = m["callbacks"][0]
        self.assertIn("destination address not allowed", hook["info"], hook)
        time.sleep(0.5)
        self.assertEqual(self.receiver.received("/hook/"), [])


if __name__ == "__main__":
    unittest.main()
