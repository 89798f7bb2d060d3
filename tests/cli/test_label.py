"""roost label: every label written must decode with zbarimg to exactly its content.

zbarimg cannot read SVG here (ImageMagick's SVG coder and rsvg-convert are not installed), so
SVG output is rasterised by the small rasteriser below. It understands exactly what roost writes
(viewBox, <g transform="translate(x y) scale(s)">, <path d="Mx yhNv1h-Nz ...">) and fails loudly on
anything else, so a change in the SVG structure cannot go unnoticed.
"""

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import unittest
import xml.etree.ElementTree as ET
import zlib

import roostcli

SVG_NS = "{http://www.w3.org/2000/svg}"
ZBARIMG = shutil.which("zbarimg")


def zbar_decode(path):
    """Every symbol zbarimg finds in the image, one string per symbol."""
    proc = subprocess.run([ZBARIMG, "--raw", "-q", "--nodbus", path], capture_output=True)
    if proc.returncode not in (0, 4):  # 4: no symbol found
        raise AssertionError(f"zbarimg failed on {path}: {proc.stderr!r}")
    out = proc.stdout.decode("utf-8")
    return [line for line in out.split("\n") if line != ""]


def parse_transform(text):
    """(a, e, f) of the affine x' = a*x + e, y' = a*y + f for 'translate(x y) scale(s)'."""
    a, e, f = 1.0, 0.0, 0.0
    for name, args in re.findall(r"(\w+)\(([^)]*)\)", text or ""):
        nums = [float(v) for v in re.split(r"[ ,]+", args.strip())]
        if name == "translate":
            e, f = e + a * nums[0], f + a * (nums[1] if len(nums) > 1 else 0.0)
        elif name == "scale" and len(nums) == 1:
            a *= nums[0]
        else:
            raise AssertionError(f"unexpected transform {name}({args})")
    return a, e, f


def path_rects(d):
    """The rectangles (x, y, w, h) of a path made of 'Mx yhNv1h-Nz' pieces."""
    tokens = re.findall(r"[MmHhVvZz]|-?\d+(?:\.\d+)?", d)
    rects, i = [], 0
    while i < len(tokens):
        if tokens[i] != "M":
            raise AssertionError(f"unexpected path token {tokens[i]!r}")
        x, y = float(tokens[i + 1]), float(tokens[i + 2])
        if tokens[i + 3] != "h" or tokens[i + 5] != "v" or tokens[i + 7] != "h" or tokens[i + 9] != "z":
            raise AssertionError(f"unexpected path piece {tokens[i:i + 10]}")
        w, h, back = float(tokens[i + 4]), float(tokens[i + 6]), float(tokens[i + 8])
        if back != -w or w <= 0 or h <= 0:
            raise AssertionError(f"not a rectangle: {tokens[i:i + 10]}")
        rects.append((x, y, w, h))
        i += 10
    return rects


def draw(elem, t, img, width, height, px_per_unit):
    """Fills the dark path rectangles under `elem` (affine `t` = (a, e, f)) into `img`."""
    a, e, f = t
    if elem.tag == SVG_NS + "g":
        ga, ge, gf = parse_transform(elem.get("transform"))
        t = (a * ga, a * ge + e, a * gf + f)
    elif elem.tag == SVG_NS + "path":
        if elem.get("fill") not in ("#000", "#000000", "black"):
            raise AssertionError(f"path with fill {elem.get('fill')}")
        for x, y, w, h in path_rects(elem.get("d")):
            x0, y0 = (a * x + e) * px_per_unit, (a * y + f) * px_per_unit
            x1, y1 = (a * (x + w) + e) * px_per_unit, (a * (y + h) + f) * px_per_unit
            start, end = max(0, int(x0 + 0.5)), min(width, int(x1 + 0.5))
            for py in range(max(0, int(y0 + 0.5)), min(height, int(y1 + 0.5))):
                img[py * width + start:py * width + end] = b"\x00" * (end - start)
    for child in elem:
        draw(child, t, img, width, height, px_per_unit)


def write_pgm(path, img, width, height):
    with open(path, "wb") as out:
        out.write(b"P5\n%d %d\n255\n" % (width, height) + bytes(img))


def rasterise_svg(svg_path, pgm_path, px_per_unit):
    """Draws the dark paths of a roost SVG into a binary PGM; returns the parsed XML root."""
    root = ET.parse(svg_path).getroot()
    if root.tag != SVG_NS + "svg":
        raise AssertionError(f"root element is {root.tag}")
    vb = [float(v) for v in root.get("viewBox").split()]
    width, height = int(vb[2] * px_per_unit + 0.5), int(vb[3] * px_per_unit + 0.5)
    img = bytearray(b"\xff" * (width * height))
    draw(root, (1.0, 0.0, 0.0), img, width, height, px_per_unit)
    write_pgm(pgm_path, img, width, height)
    return root


def sheet_labels(root):
    """Each label <g> of a sheet with its box (x, y, w, h) in page units, from its white <rect>."""
    out = []
    for g in root.findall(SVG_NS + "g"):
        a, e, f = parse_transform(g.get("transform"))
        rect = g.find(SVG_NS + "rect")
        w, h = float(rect.get("width")) * a, float(rect.get("height")) * a
        out.append((g, (e, f, w, h)))
    return out


def rasterise_label(g, box, pgm_path, px_per_unit):
    """Draws one label of a sheet on its own, cut out along its box (as a scanner sees it)."""
    x, y, w, h = box
    width, height = int(w * px_per_unit + 0.5), int(h * px_per_unit + 0.5)
    img = bytearray(b"\xff" * (width * height))
    draw(g, (1.0, -x, -y), img, width, height, px_per_unit)
    write_pgm(pgm_path, img, width, height)


def png_info(data):
    """(width, height, bit depth, colour type) from a PNG's IHDR; checks the signature and CRCs."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise AssertionError("not a PNG signature")
    pos, chunks = 8, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        if zlib.crc32(kind + body) != crc:
            raise AssertionError(f"bad CRC in chunk {kind}")
        chunks.append((kind, body))
        pos += 12 + length
    if chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        raise AssertionError("PNG must start with IHDR and end with IEND")
    return struct.unpack(">IIBB", chunks[0][1][:10])


def long_payload(pid, brand, model, sn):
    return json.dumps({"PROVID": pid, "BRAND": brand, "MODEL": model, "SN": sn},
                      separators=(",", ":"), ensure_ascii=False)


def pid_for(i):
    """A valid, distinct Provision ID per index: i in Base32 digits, zero-padded with A."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    digits = ""
    while True:
        digits = alphabet[i % 32] + digits
        i //= 32
        if i == 0:
            break
    return "TEST" + digits.rjust(16, "A")


def report_csv(pids, manufacturer="ACME Sensors", model="M-1234"):
    lines = ["MatchX Device Provisioning,,,,,,", f"manufacturerName,{manufacturer},,,,,",
             "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI,provisionIdHash"]
    for i, pid in enumerate(pids):
        digest = hashlib.sha256((pid + ".MatchX").encode()).hexdigest()
        lines.append(f"{pid},{model},S{i:06d},N,,0000000000000000,{digest}")
    return "\n".join(lines) + "\n"


@unittest.skipIf(ZBARIMG is None, "zbarimg (zbar-tools) is not installed")
class LabelTest(unittest.TestCase):
    def setUp(self):
        self._tmp = roostcli.temp_dir()
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def roost_ok(self, *args):
        proc = roostcli.run(["label", *args])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc

    def roost_fails(self, *args, mentions=None):
        proc = roostcli.run(["label", *args])
        self.assertNotEqual(proc.returncode, 0, f"roost label {args} should fail")
        lines = proc.stderr.strip().split("\n")
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertTrue(lines[0].startswith("roost: ") or lines[0].startswith("--"), lines[0])
        if mentions:
            self.assertIn(mentions, lines[0])
        return lines[0]

    def decode_svg(self, svg, px_per_unit):
        pgm = svg + ".pgm"
        root = rasterise_svg(svg, pgm, px_per_unit)
        return zbar_decode(pgm), root

    def decode_sheet(self, pages):
        """Decodes every label of every page on its own; checks the page size and that labels
        lie on the page without overlapping. Returns the decoded texts in page order."""
        decoded = []
        for page in pages:
            root = ET.parse(page).getroot()
            self.assertEqual((root.get("width"), root.get("height")), ("210mm", "297mm"))
            self.assertEqual(root.get("viewBox"), "0 0 210 297")
            labels = sheet_labels(root)
            self.assertGreater(len(labels), 0, page)
            boxes = [box for _, box in labels]
            for x, y, w, h in boxes:
                self.assertTrue(x >= 0 and y >= 0 and x + w <= 210 and y + h <= 297, page)
            for i, (x, y, w, h) in enumerate(boxes):
                for x2, y2, w2, h2 in boxes[i + 1:]:
                    self.assertTrue(x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y,
                                    f"labels overlap on {page}")
            for i, (g, box) in enumerate(labels):
                pgm = f"{page}.{i}.pgm"
                rasterise_label(g, box, pgm, 8)
                got = zbar_decode(pgm)
                self.assertEqual(len(got), 1, f"label {i} of {page}")
                decoded += got
        return decoded

    def svg_texts(self, root):
        return [t.text for t in root.iter(SVG_NS + "text")]

    # --- single labels ---------------------------------------------------------------------

    def test_minimal_svg_decodes_to_the_canonical_pid(self):
        out = self.path("min.svg")
        self.roost_ok("--pid", "provisionidooooooooo", "-o", out)
        decoded, root = self.decode_svg(out, 6)
        self.assertEqual(decoded, ["PROVISIONIDOOOOOOOOO"])
        self.assertEqual(self.svg_texts(root), ["PROVISIONIDOOOOOOOOO"])
        # 20 bytes at level M fit version 2: 25 modules + 2 * 4 quiet zone.
        self.assertEqual(root.get("viewBox").split()[2], "33")
        self.assertEqual(root.get("width"), "16.5mm")

    def test_minimal_png_decodes_and_has_the_right_size(self):
        out = self.path("min.png")
        self.roost_ok("--pid", "TESTPIDOOOOOOOOOOOOO", "--scale", "3", "-o", out)
        self.assertEqual(zbar_decode(out), ["TESTPIDOOOOOOOOOOOOO"])
        with open(out, "rb") as f:
            width, height, depth, colour = png_info(f.read())
        self.assertEqual((width, height), (33 * 3, 33 * 3))
        self.assertEqual((depth, colour), (1, 0))

    def test_long_label_decodes_to_exact_json(self):
        pid = "PROVISIONIDOOOOOOOOO"
        want = long_payload(pid, "MatchX", "MX1234", "S123456")
        for fmt in ("svg", "png"):
            out = self.path("long." + fmt)
            self.roost_ok("--pid", pid.lower(), "--brand", "MatchX", "--model", "MX1234", "--sn",
                          "S123456", "--format", fmt, "-o", out)
            if fmt == "svg":
                decoded, root = self.decode_svg(out, 6)
                self.assertEqual(self.svg_texts(root), [pid, "MatchX MX1234", "SN: S123456"])
            else:
                decoded = zbar_decode(out)
            self.assertEqual(decoded, [want], fmt)

    def test_odd_characters_are_escaped_and_survive(self):
        brand, model, sn = 'Müller & "Söhne" <x>', "M\\1'2", "Ω-42 {}"
        pid = "ABCDEFGHIJKLMNOPQRS2"
        want = long_payload(pid, brand, model, sn)
        svg = self.path("odd.svg")
        png = self.path("odd.png")
        self.roost_ok("--pid", pid, "--brand", brand, "--model", model, "--sn", sn, "-o", svg)
        self.roost_ok("--pid", pid, "--brand", brand, "--model", model, "--sn", sn, "-o", png)
        decoded, root = self.decode_svg(svg, 6)
        self.assertEqual(decoded, [want])
        self.assertEqual(zbar_decode(png), [want])
        self.assertEqual(json.loads(decoded[0]),
                         {"PROVID": pid, "BRAND": brand, "MODEL": model, "SN": sn})
        self.assertEqual(self.svg_texts(root), [pid, f"{brand} {model}", f"SN: {sn}"])
        with open(svg, encoding="utf-8") as f:
            raw = f.read()
        self.assertIn("&lt;x&gt;", raw)
        self.assertIn("&amp;", raw)
        self.assertNotIn("<x>", raw)

    def test_long_flag_without_fields_has_empty_strings(self):
        out = self.path("empty.png")
        self.roost_ok("--pid", "PROVISIONIDOOOOOOOOO", "--long", "-o", out)
        self.assertEqual(zbar_decode(out), [long_payload("PROVISIONIDOOOOOOOOO", "", "", "")])

    def test_every_error_correction_level_decodes(self):
        sizes = {}
        for ec in ("L", "m", "Q", "H"):
            out = self.path(f"ec-{ec}.png")
            self.roost_ok("--pid", "PROVISIONIDOOOOOOOOO", "--ec", ec, "--scale", "4", "-o", out)
            self.assertEqual(zbar_decode(out), ["PROVISIONIDOOOOOOOOO"], ec)
            with open(out, "rb") as f:
                sizes[ec.upper()] = png_info(f.read())[0]
        # 20 bytes: version 1 holds 17 bytes at L, so every level needs version 2 or more and
        # the higher levels never need a smaller code.
        self.assertLessEqual(sizes["L"], sizes["M"])
        self.assertLessEqual(sizes["M"], sizes["Q"])
        self.assertLessEqual(sizes["Q"], sizes["H"])
        self.assertGreater(sizes["H"], sizes["L"])

    def test_png_to_stdout(self):
        proc = roostcli.run(["label", "--pid", "PROVISIONIDOOOOOOOOO", "--format", "png", "-o",
                             "-"], text=False)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = self.path("stdout.png")
        with open(out, "wb") as f:
            f.write(proc.stdout)
        self.assertEqual(zbar_decode(out), ["PROVISIONIDOOOOOOOOO"])

    def test_bad_input_fails_with_one_line_and_writes_nothing(self):
        out = self.path("bad.svg")
        cases = [
            (["--pid", "PROVISIONIDOOOOOOOO"], "expected 20 characters, got 19"),
            (["--pid", "PROVISIONIDOOOOOOOOOO"], "expected 20 characters, got 21"),
            (["--pid", "PROVISIONID0OOOOOOOO"], "position 12"),  # 0 is not Base32
            (["--pid", "PROVISIONID1OOOOOOOO"], "Base32"),
            (["--pid", "PROVISIONID8OOOOOOOO"], "Base32"),
            (["--pid", "PROVISIONIDOOOOOOOOO", "--ec", "X"], "expected L, M, Q or H"),
            (["--pid", "PROVISIONIDOOOOOOOOO", "--format", "gif"], "expected svg or png"),
            (["--pid", "PROVISIONIDOOOOOOOOO", "--brand", "a\nb"], "control character"),
            (["--pid", "PROVISIONIDOOOOOOOOO", "--sn", "S" * 3000, "--ec", "H"], "too long"),
            (["--pid", "PROVISIONIDOOOOOOOOO", "--format", "png", "--scale", "0"], "scale"),
            (["--brand", "x"], "give --pid PID or --report"),
        ]
        for args, mention in cases:
            with self.subTest(args=args[:4]):
                self.roost_fails(*args, "-o", out, mentions=mention)
                self.assertFalse(os.path.exists(out))
        self.roost_fails("--pid", "PROVISIONIDOOOOOOOOO", mentions="-o FILE is required")

    def test_help_describes_the_payload(self):
        proc = roostcli.run(["label", "--help"])
        self.assertEqual(proc.returncode, 0)
        self.assertIn('{"PROVID":"...","BRAND":"...","MODEL":"...","SN":"..."}', proc.stdout)
        self.assertIn("--report", proc.stdout)
        self.assertIn("no text", proc.stdout)

    # --- reports -----------------------------------------------------------------------------

    def write_report(self, pids, **kw):
        path = self.path("report.csv")
        with open(path, "w") as f:
            f.write(report_csv(pids, **kw))
        return path

    def test_sheet_of_several_pages_holds_every_pid(self):
        pids = [pid_for(i) for i in range(45)]
        report = self.write_report(pids)
        sheet = self.path("sheet.svg")
        proc = self.roost_ok("--report", report, "-o", sheet)
        pages = proc.stdout.split()
        self.assertGreater(len(pages), 1)
        self.assertEqual(pages, [self.path(f"sheet-{i}.svg") for i in range(1, len(pages) + 1)])
        self.assertFalse(os.path.exists(sheet))
        self.assertEqual(self.decode_sheet(pages), pids)

    def test_long_sheet_with_brand_on_one_page(self):
        pids = [pid_for(1000 + i) for i in range(6)]
        report = self.write_report(pids, model="MX-9")
        sheet = self.path("one.svg")
        proc = self.roost_ok("--report", report, "--brand", "MatchX", "--columns", "3", "-o",
                             sheet)
        self.assertEqual(proc.stdout.split(), [sheet])
        decoded = self.decode_sheet([sheet])
        want = [long_payload(p, "MatchX", "MX-9", f"S{i:06d}") for i, p in enumerate(pids)]
        self.assertEqual(decoded, want)

    def test_long_sheet_brand_defaults_to_manufacturer(self):
        pids = [pid_for(7), pid_for(8)]
        report = self.write_report(pids, manufacturer="ACME Sensors")
        sheet = self.path("mf.svg")
        self.roost_ok("--report", report, "--long", "-o", sheet)
        decoded = self.decode_sheet([sheet])
        want = [long_payload(p, "ACME Sensors", "M-1234", f"S{i:06d}") for i, p in enumerate(pids)]
        self.assertEqual(decoded, want)

    def test_one_png_per_device(self):
        pids = [pid_for(200 + i) for i in range(5)]
        report = self.write_report(pids)
        out_dir = self.path("labels")
        os.mkdir(out_dir)
        proc = self.roost_ok("--report", report, "--out-dir", out_dir, "--format", "png")
        self.assertEqual(proc.stdout.split(), [os.path.join(out_dir, p + ".png") for p in pids])
        for pid in pids:
            self.assertEqual(zbar_decode(os.path.join(out_dir, pid + ".png")), [pid])

    def test_bad_reports_are_rejected(self):
        pids = [pid_for(i) for i in range(3)]
        text = report_csv(pids).replace(pids[1] + ",", pids[1][:-1] + "1,", 1)
        report = self.path("bad.csv")
        with open(report, "w") as f:
            f.write(text)
        sheet = self.path("bad-sheet.svg")
        self.roost_fails("--report", report, "-o", sheet, mentions="line 5")
        self.assertFalse(os.path.exists(sheet))
        good = self.write_report(pids)
        self.roost_fails("--report", good, "--sn", "x", "-o", sheet, mentions="--sn")
        self.roost_fails("--report", good, "-o", sheet, "--format", "png", mentions="SVG only")
        self.roost_fails("--report", good, mentions="either -o")
        self.roost_fails("--report", self.path("missing.csv"), "-o", sheet,
                         mentions="missing.csv")
        self.assertFalse(os.path.exists(sheet))


if __name__ == "__main__":
    unittest.main()
