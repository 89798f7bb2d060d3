"""/api/openapi.json against the running server: served without credentials, and every
operation it documents exists on the server (answers 401 without credentials, not 404/405).
The document names no key twice in one object (a parser keeps only one of them), and every
paged list documents the `limit`, `after` and `offset` it takes."""

import json
import os
import re
import unittest

from roostcli import temp_dir
from roostserver import Server


class OpenApiTest(unittest.TestCase):
    def test_document_matches_the_server(self):
        with temp_dir() as tmp:
            server = Server(os.path.join(tmp, "data"))
            try:
                status, headers, body = server.request("GET", "/api/openapi.json")
                self.assertEqual(status, 200)
                self.assertTrue(headers["Content-Type"].startswith("application/json"))
                doc = json.loads(body, object_pairs_hook=self.without_repeated_keys)
                self.assertTrue(doc["openapi"].startswith("3."))
                count = 0
                for path, item in doc["paths"].items():
                    concrete = re.sub(r"\{[A-Za-z]+\}", "0123456789abcdef01234567", path)
                    for method, op in item.items():
                        with self.subTest(method=method, path=path):
                            status, _, payload = server.request(method.upper(), concrete)
                            if op["x-access"] != "public":
                                self.assertEqual(status, 401, payload)
                            else:
                                self.assertNotIn(status, (401, 403, 404, 405), payload)
                            count += 1
                self.assertGreater(count, 10)
                lists = 0
                for path, item in doc["paths"].items():
                    for method, op in item.items():
                        names = [p["name"] for p in op.get("parameters", [])]
                        if "after" in names:
                            lists += 1
                            self.assertEqual(method, "get", path)
                            self.assertIn("limit", names, path)
                            self.assertIn("offset", names, path)
                self.assertGreaterEqual(lists, 18)
            finally:
                server.kill()
                server.proc.stderr.close()
                server.proc.stdout.close()

    def without_repeated_keys(self, pairs):
        keys = [k for k, _ in pairs]
        self.assertEqual(sorted(set(keys)), sorted(keys), "a key repeated in one object")
        return dict(pairs)


if __name__ == "__main__":
    unittest.main()
