"""POST /api/codec/decode and POST /api/codec/downlink/check: the device-type editor's live
validation ("try it"). Pure computation with the codec library, no stored data: one engine
(SQLite) is enough. Each kind of bad input gets a 400 naming the field, and the server stays up."""

import json
import unittest

from roostsite import Client, Site


class CodecTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.site = Site("sqlite")
        try:
            cls.server = cls.site.serve()
            cls.users = cls.site.api_users()
            cls.reader = Client(cls.server, cls.users["READER"])
        except BaseException:
            cls.site.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.reader.close()
        cls.site.close()

    def decode(self, body, expect=200):
        status, _, res = self.reader.call("POST", "/api/codec/decode", body)
        self.assertEqual(status, expect, res)
        return res

    def refused(self, path, body, field, *fragments, raw=None):
        status, _, res = self.reader.call("POST", path, body, raw=raw)
        self.assertEqual(status, 400, res)
        self.assertEqual([e.get("field") for e in res["errors"]], [field], res)
        for fragment in fragments:
            self.assertIn(fragment, res["message"])
        return res

    def test_custom_format_decodes_as_the_message_api_shows_it(self):
        res = self.decode({"payloadType": "Custom",
                           "payloadConfig": "temp::uint:16 battery::uint:8 on::bool:7",
                           "data": "00E64F80"})
        self.assertEqual(res, {"decoded": {"temp": 230, "battery": 79, "on": True},
                               "undecoded": []})
        # A field past the end of the data is left out and named, as for a message.
        res = self.decode({"payloadType": "Custom", "payloadConfig": "a::uint:8 b::uint:32",
                           "data": "01"})
        self.assertEqual(res, {"decoded": {"a": 1}, "undecoded": ["b"]})
        # Signed, float, char and the Sigfox integer code of Custom (3).
        res = self.decode({"payloadType": 3,
                           "payloadConfig": "t::int:16:little-endian f::float:32 s::char:2",
                           "data": "feff3dcccccd4142"})
        self.assertEqual(res["decoded"], {"t": -2, "f": 0.1, "s": "AB"})

    def test_string_and_none(self):
        self.assertEqual(self.decode({"payloadType": "String", "data": "48692100"}),
                         {"decoded": "Hi!\ufffd", "undecoded": []})
        self.assertEqual(self.decode({"payloadType": "None", "data": "0102"}),
                         {"decoded": None, "undecoded": []})
        self.assertEqual(self.decode({"payloadType": "String", "data": ""}),
                         {"decoded": "", "undecoded": []})
        # 64 bytes are accepted (more than a Sigfox uplink's 12).
        self.decode({"payloadType": "String", "data": "41" * 64})

    def test_decode_bad_inputs(self):
        path = "/api/codec/decode"
        self.refused(path, {"payloadType": "Custom", "payloadConfig": "a::uint:12", "data": "00"},
                     "payloadConfig", "position 9", "8, 16, 24 or 32")
        self.refused(path, {"payloadType": "Custom", "payloadConfig": "a::uint:8 a::uint:8",
                            "data": "00"}, "payloadConfig", "position")
        self.refused(path, {"payloadType": "Custom", "data": "00"}, "payloadConfig", "required")
        self.refused(path, {"payloadType": "Custom", "payloadConfig": "x" * 4001, "data": "00"},
                     "payloadConfig")
        self.refused(path, {"payloadType": "Custom", "payloadConfig": 12, "data": "00"},
                     "payloadConfig")
        self.refused(path, {"payloadType": "String", "data": "0g"}, "data", "position")
        self.refused(path, {"payloadType": "String", "data": "123"}, "data")
        self.refused(path, {"payloadType": "String", "data": "41" * 65}, "data")
        self.refused(path, {"payloadType": "String", "data": 12}, "data")
        self.refused(path, {"payloadType": "String"}, "data", "required")
        self.refused(path, {"data": "00"}, "payloadType", "required")
        self.refused(path, {"payloadType": "Bogus", "data": "00"}, "payloadType")
        self.refused(path, {"payloadType": "Geolocation", "data": "00"}, "payloadType")
        self.refused(path, {"payloadType": "String", "data": "00", "extra": 1}, "extra")
        status, _, res = self.reader.call("POST", path, raw="{\"payloadType\": ")
        self.assertEqual(status, 400, res)
        self.assertIn("malformed JSON", res["message"])
        status, _, res = self.reader.call("POST", path, body=["not", "an", "object"])
        self.assertEqual(status, 400, res)

    def test_downlink_check(self):
        status, _, res = self.reader.call("POST", "/api/codec/downlink/check",
                                          {"downlinkDataString": "{time}0000{rssi}"})
        self.assertEqual(status, 200, res)
        self.assertEqual(res["valid"], True)
        self.assertEqual(res["example"], "55dd7bde0000ffa3")  # 1440578526, -93 dBm
        self.assertEqual(res["sample"], {"time": 1440578526, "rssi": -93, "tapId": "1234"})
        status, _, res = self.reader.call("POST", "/api/codec/downlink/check",
                                          {"downlinkDataString": "{tapId}DEADBEEFcafe"})
        self.assertEqual(status, 200, res)
        self.assertEqual(res["example"], "1234deadbeefcafe")

    def test_downlink_check_bad_inputs(self):
        path = "/api/codec/downlink/check"
        self.refused(path, {"downlinkDataString": "{temp}000000000000"}, "downlinkDataString",
                     "position 1", "unknown variable")
        self.refused(path, {"downlinkDataString": "0011"}, "downlinkDataString",
                     "expands to 4 hex digits")
        self.refused(path, {"downlinkDataString": ""}, "downlinkDataString")
        self.refused(path, {"downlinkDataString": None}, "downlinkDataString")
        self.refused(path, {}, "downlinkDataString", "required")
        self.refused(path, {"downlinkDataString": "00" * 8, "mode": "DIRECT"}, "mode")

    def test_body_limit_and_roles(self):
        status, _, _ = self.reader.call("POST", "/api/codec/decode",
                                        raw=json.dumps({"payloadType": "String",
                                                        "data": "00" * 20000}))
        self.assertEqual(status, 413)
        for role in ("ADMIN", "DEVICE_MANAGER", "READER"):
            client = Client(self.server, self.users[role])
            self.assertEqual(client.call("POST", "/api/codec/decode",
                                         {"payloadType": "None", "data": ""})[0], 200)
            client.close()
        for role in ("FACTORY", "STATION"):
            client = Client(self.server, self.users[role])
            self.assertEqual(client.call("POST", "/api/codec/decode",
                                         {"payloadType": "None", "data": ""})[0], 403)
            client.close()
        anonymous = Client(self.server)
        self.assertEqual(anonymous.call("POST", "/api/codec/decode",
                                        {"payloadType": "None", "data": ""})[0], 401)
        anonymous.close()
        # Still up after all of the above.
        self.assertEqual(self.decode({"payloadType": "None", "data": ""})["decoded"], None)


if __name__ == "__main__":
    unittest.main()
