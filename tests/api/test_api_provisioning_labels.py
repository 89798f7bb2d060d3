"""POST /api/provisioning/labels over real HTTP, on SQLite and PostgreSQL: a Provision ID report
CSV answered with the printable label sheet `roost label --report` writes, every label decoding
with zbarimg to its Provision ID; bad CSVs, too many rows and the roles refused."""

import os
import re
import shutil
import sys
import unittest
import xml.etree.ElementTree as ET

import roostcli
from roostcli import basic
from roostsite import ServedSite

# The SVG rasteriser and zbarimg wrapper of the `roost label` tests: the same checks for the same
# sheet.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from test_label import (SVG_NS, ZBARIMG, pid_for, rasterise_label, report_csv as report_of,  # noqa: E402
                        sheet_labels, zbar_decode)

LABELS = "/api/provisioning/labels"


def report_csv(count):
    """The report of `count` distinct Provision IDs, as the `roost label` tests make it."""
    return report_of([pid_for(i) for i in range(count)], manufacturer="ACME", model="M-1")


class LabelFlows(ServedSite):
    @classmethod
    def set_up_site(cls):
        cls.users = {role: cls.site.api_user(role)
                     for role in ("ADMIN", "DEVICE_MANAGER", "READER", "FACTORY", "STATION")}
        # Under the site's own temporary directory, removed with it.
        cls.dir = os.path.join(cls.site.dir, "labels")
        os.makedirs(cls.dir)

    def post(self, role, text, query="", content_type="text/csv"):
        headers = {}
        if role is not None:
            headers.update(basic(self.users[role]["login"], self.users[role]["password"]))
        if content_type:
            headers["Content-Type"] = content_type
        body = text.encode() if isinstance(text, str) else text
        return self.server.request("POST", LABELS + query, body=body, headers=headers)

    def cli_report(self, count):
        """A report made as the factory makes it: `roost pid request`, then `roost pid report`."""
        request = os.path.join(self.dir, f"request-{count}.csv")
        report = os.path.join(self.dir, f"report-{count}.csv")
        for args in (["pid", "request", "--manufacturer", "ACME", "--model", "M-1", "--serials",
                      f"S000000..S{count - 1:06d}", "-o", request],
                     ["pid", "report", request, "-o", report]):
            proc = roostcli.run(args)
            self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(report, encoding="utf-8") as f:
            return f.read()

    def decode_pages(self, svg_text, name):
        """Every label of the answered sheet decoded on its own, in page order."""
        root = ET.fromstring(svg_text)
        pages = root.findall(SVG_NS + "svg") or [root]
        decoded = []
        for p, page in enumerate(pages):
            self.assertEqual(page.get("viewBox"), "0 0 210 297")
            for i, (g, box) in enumerate(sheet_labels(page)):
                pgm = os.path.join(self.dir, f"{name}.{p}.{i}.pgm")
                rasterise_label(g, box, pgm, 8)
                got = zbar_decode(pgm)
                self.assertEqual(len(got), 1, (name, p, i, got))
                decoded.append(got[0])
        return decoded

    def assert_no_script(self, svg_text):
        lowered = svg_text.lower()
        self.assertNotIn("<script", lowered)
        self.assertNotIn("javascript:", lowered)
        self.assertIsNone(re.search(r"\son[a-z]+\s*=", lowered))
        self.assertNotIn("<foreignobject", lowered)

    @unittest.skipIf(ZBARIMG is None, "zbarimg (zbar-tools) is not installed")
    def test_sheet_decodes_to_the_reports_provision_ids(self):
        report = self.cli_report(5)
        pids = [line.split(",")[0] for line in report.strip().split("\n")[3:]]
        self.assertEqual(len(pids), 5)
        for role in ("ADMIN", "DEVICE_MANAGER", "READER", "FACTORY"):
            status, head, body = self.post(role, report, "?format=svg" if role == "READER" else "")
            self.assertEqual(status, 200, (role, body[:300]))
            self.assertTrue(head["Content-Type"].startswith("image/svg+xml"), head)
            self.assertEqual(head["Content-Disposition"], 'inline; filename="labels.svg"')
        text = body.decode("utf-8")
        self.assert_no_script(text)
        root = ET.fromstring(text)
        self.assertEqual((root.get("width"), root.get("height")), ("210mm", "297mm"))
        self.assertEqual(self.decode_pages(text, "small"), pids)
        # The same sheet as `roost label --report` writes.
        report_path = os.path.join(self.dir, "same.csv")
        sheet_path = os.path.join(self.dir, "same.svg")
        with open(report_path, "w", encoding="utf-8") as f:
            f.write(report)
        proc = roostcli.run(["label", "--report", report_path, "-o", sheet_path])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(sheet_path, encoding="utf-8") as f:
            self.assertEqual(f.read(), text)

    @unittest.skipIf(ZBARIMG is None, "zbarimg (zbar-tools) is not installed")
    def test_several_pages_in_one_document(self):
        status, _, body = self.post("FACTORY", report_csv(70))
        self.assertEqual(status, 200, body[:300])
        text = body.decode("utf-8")
        self.assert_no_script(text)
        root = ET.fromstring(text)
        pages = root.findall(SVG_NS + "svg")
        self.assertGreater(len(pages), 1)
        self.assertEqual(root.get("viewBox"), "0 0 210 %d" % (297 * len(pages)))
        for i, page in enumerate(pages):
            self.assertEqual(float(page.get("y")), 297.0 * i)
        self.assertEqual(self.decode_pages(text, "multi"), [pid_for(i) for i in range(70)])

    def test_bad_csv_names_the_line(self):
        bad = report_csv(3).replace(pid_for(1), "NOTAPROVISIONID")
        status, _, body = self.post("ADMIN", bad)
        self.assertEqual(status, 400, body)
        self.assertIn(b'"line":5', body.replace(b" ", b""))

    def test_request_file_and_empty_report_are_refused(self):
        self.cli_report(2)
        with open(os.path.join(self.dir, "request-2.csv"), encoding="utf-8") as f:
            request = f.read()
        status, _, body = self.post("ADMIN", request)
        self.assertEqual(status, 400, body)
        self.assertIn(b"no Provision ID", body)
        self.assertIn(b'"line":4', body.replace(b" ", b""))
        empty = "\n".join(report_csv(1).split("\n")[:3]) + "\n"  # the header lines only
        status, _, body = self.post("ADMIN", empty)
        self.assertEqual(status, 400, body)
        self.assertIn(b"no devices", body)

    def test_too_many_rows(self):
        status, _, body = self.post("ADMIN", report_csv(1001))
        self.assertEqual(status, 400, body)
        self.assertIn(b"1000", body)
        self.assertIn(b"1001", body)
        status, _, body = self.post("ADMIN", report_csv(1000))
        self.assertEqual(status, 200, body[:300])

    def test_body_too_large(self):
        status, _, _ = self.post("ADMIN", "x" * (600 * 1024))
        self.assertEqual(status, 413)
        self.assertEqual(self.post("ADMIN", report_csv(1))[0], 200)  # still up

    def test_bad_format_and_content_type(self):
        status, _, body = self.post("ADMIN", report_csv(1), "?format=png")
        self.assertEqual(status, 400, body)
        self.assertIn(b"format", body)
        status, _, body = self.post("ADMIN", report_csv(1), content_type="application/json")
        self.assertEqual(status, 400, body)
        self.assertIn(b"Content-Type", body)

    def test_credentials_and_roles(self):
        status, _, _ = self.post(None, report_csv(1))
        self.assertEqual(status, 401)
        status, _, body = self.post("STATION", report_csv(1))
        self.assertEqual(status, 403, body)


class LabelsSqliteTest(LabelFlows, unittest.TestCase):
    ENGINE = "sqlite"


class LabelsPostgresTest(LabelFlows, unittest.TestCase):
    ENGINE = "postgres"


if __name__ == "__main__":
    unittest.main()
