"""/api/openapi.json against the running server: served without credentials, and every
operation it documents exists on the server (answers 401 without credentials, not 404/405)."""

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
                doc = json.loads(body)
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
            finally:
                server.kill()
                server.proc.stderr.close()
                server.proc.stdout.close()


if __name__ == "__main__":
    unittest.main()
