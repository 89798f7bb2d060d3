"""POST /api/credentials/import over real HTTP: the CRA files of the factory, uploaded as
multipart/form-data, become sealed KEYs and initial PACs that registration then accepts."""

import json
import os
import unittest
import uuid

from roostcli import VECTORS, basic
from roostsite import Site

SAMPLE = os.path.join(VECTORS, "cra-sample")
KEY = "00112233445566778899AABBCCDDEEFF"


def auth(user):
    return basic(user["login"], user["password"])


def multipart(fields):
    """fields: [(name, bytes, filename or None)] -> (content type, body)."""
    boundary = "roost-" + uuid.uuid4().hex
    body = b""
    for name, data, filename in fields:
        disposition = 'form-data; name="%s"' % name
        if filename:
            disposition += '; filename="%s"' % filename
        body += b"--" + boundary.encode() + b"\r\n"
        body += b"Content-Disposition: " + disposition.encode() + b"\r\n"
        if filename:
            body += b"Content-Type: application/octet-stream\r\n"
        body += b"\r\n" + data + b"\r\n"
    body += b"--" + boundary.encode() + b"--\r\n"
    return "multipart/form-data; boundary=" + boundary, body


def read(path):
    with open(path, "rb") as f:
        return f.read()


class ApiCredentialsImportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.site = Site("sqlite")
        cls.data_dir = cls.site.data_dir
        cls.server = cls.site.serve()
        cls.users = cls.site.api_users(("ADMIN", "FACTORY", "DEVICE_MANAGER", "READER"))
        with open(os.path.join(SAMPLE, "expected.json")) as f:
            cls.expected = json.load(f)["devices"]
        cls.id_key = read(os.path.join(SAMPLE, "id_key_encrypted.bin"))
        cls.id_pac = read(os.path.join(SAMPLE, "id_pac.txt"))

    @classmethod
    def tearDownClass(cls):
        cls.site.close()

    def upload(self, role, fields, content_type=None):
        ctype, body = multipart(fields)
        headers = {"Content-Type": content_type or ctype}
        if role:
            headers.update(auth(self.users[role]))
        status, _, payload = self.server.request("POST", "/api/credentials/import", body=body,
                                                 headers=headers)
        return status, json.loads(payload) if payload else None

    def sample_fields(self, key=KEY, id_key=None, id_pac=None):
        return [("encryptionKey", key.encode(), None),
                ("idKey", self.id_key if id_key is None else id_key, "id_key_encrypted.bin"),
                ("idPac", self.id_pac if id_pac is None else id_pac, "id_pac.txt")]

    def db_bytes(self):
        data = b""
        for name in os.listdir(self.data_dir):
            if name.startswith("roost.db"):
                data += read(os.path.join(self.data_dir, name))
        return data

    def test_1_refusals_store_nothing(self):
        # Wrong role: 403 before the body is looked at.
        for role in ("DEVICE_MANAGER", "READER"):
            status, body = self.upload(role, self.sample_fields())
            self.assertEqual(status, 403, body)
        status, _ = self.upload(None, self.sample_fields())
        self.assertEqual(status, 401)
        cases = [
            # (fields, expected field, fragment of the message)
            (self.sample_fields(key="12"), "encryptionKey", "32 hex digits"),
            (self.sample_fields(key="ZZ" * 16), "encryptionKey", "not a hex digit"),
            (self.sample_fields(id_key=self.id_key[:-3]), "idKey", "offset 0x60"),
            (self.sample_fields(id_pac=b"0041A2F0;6FEE95A9E3756E43\n0041A2F1 zz\n"), "idPac",
             "line 2"),
            (self.sample_fields(id_pac=b"0041A2F0;6FEE95A9E3756E43\n0041A2F9;6FEE95A9E3756E43\n"),
             "idPac", "0041A2F9"),
            (self.sample_fields()[:2], "idPac", "is required"),
            (self.sample_fields()[1:], "encryptionKey", "is required"),
            (self.sample_fields() + [("idpac", b"x", None)], "idpac", "unknown form field"),
            (self.sample_fields() + [("mode", b"xts", None)], "mode", "ecb or cbc"),
            (self.sample_fields() + [("idKey", b"x", "again.bin")], "idKey", "more than once"),
        ]
        for fields, field, fragment in cases:
            with self.subTest(field=field, fragment=fragment):
                status, body = self.upload("FACTORY", fields)
                self.assertEqual(status, 400, body)
                self.assertIn(fragment, body["message"])
                self.assertEqual(body["errors"][0]["field"], field, body)
                self.assertNotIn(KEY, json.dumps(body))
        # Not multipart at all, and a multipart body that does not parse.
        status, body = self.upload("FACTORY", self.sample_fields(), content_type="application/json")
        self.assertEqual(status, 400, body)
        self.assertIn("Content-Type", body["message"])
        status, body = self.server.request(
            "POST", "/api/credentials/import", body=b"--x\r\nbroken",
            headers={"Content-Type": "multipart/form-data; boundary=x",
                     **auth(self.users["FACTORY"])})[0:3:2]
        self.assertEqual(status, 400)
        self.assertIn("offset", json.loads(body)["message"])
        # A wrong encryption key decrypts to IDs that are not in the ID/PAC file.
        status, body = self.upload("FACTORY", self.sample_fields(key="FF" * 16))
        self.assertEqual(status, 400, body)
        self.assertIn("not in the ID/KEY file", body["message"])
        # Nothing was stored: registration with the sample PAC is refused.
        type_id = self.new_type()
        status, body = self.register(type_id, "0041A2F0", "6FEE95A9E3756E43")
        self.assertEqual(status, 400, body)
        self.assertIn("no credentials imported", body["message"])

    def new_type(self):
        status, _, payload = self.server.request(
            "POST", "/api/devicetypes/create", body=json.dumps({"name": uuid.uuid4().hex}),
            headers={"Content-Type": "application/json", **auth(self.users["ADMIN"])})
        self.assertEqual(status, 200, payload)
        return json.loads(payload)["id"]

    def register(self, type_id, dev, pac):
        status, _, payload = self.server.request(
            "POST", "/api/devices/create",
            body=json.dumps({"id": dev, "pac": pac, "name": "d-" + dev, "type": type_id}),
            headers={"Content-Type": "application/json", **auth(self.users["FACTORY"])})
        return status, json.loads(payload)

    def test_2_import_register_reimport(self):
        status, body = self.upload("FACTORY", self.sample_fields())
        self.assertEqual(status, 200, body)
        self.assertEqual(body, {"imported": 4, "unchanged": 0, "skipped": 0, "refusedCount": 0,
                                "refused": []})
        # Idempotent, and ADMIN may import too.
        status, body = self.upload("ADMIN", self.sample_fields())
        self.assertEqual(status, 200, body)
        self.assertEqual(body["unchanged"], 4)
        self.assertEqual(body["imported"], 0)
        # The imported initial PAC registers the device; the PAC then changes.
        type_id = self.new_type()
        dev = self.expected[0]
        status, body = self.register(type_id, dev["id"], dev["pac"])
        self.assertEqual(status, 200, body)
        self.assertEqual(int(body["id"], 16), int(dev["id"], 16))
        self.assertNotIn("pac", body)  # FACTORY does not see the new PAC
        status, again = self.register(type_id, dev["id"], dev["pac"])
        self.assertEqual(status, 409, again)
        # The KEYs are sealed at rest and never in the log or a response.
        db = self.db_bytes()
        log = "".join(self.server.log)
        for d in self.expected:
            self.assertNotIn(bytes.fromhex(d["key"]), db)
            self.assertNotIn(d["key"].encode(), db)
            self.assertNotIn(d["key"].lower(), log.lower())
            self.assertNotIn(d["key"].lower(), json.dumps(body).lower())
        self.assertNotIn(KEY.lower(), log.lower())


if __name__ == "__main__":
    unittest.main()
