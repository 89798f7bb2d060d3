#!/usr/bin/env python3
"""CRA decrypt throughput: `roost cra decrypt` against `openssl enc -d -aes-128-ecb` on the same file.

Usage: bench/run_cra_decrypt_bench.py [BUILD_DIR]      (default: build, the release build)
       ROOST_BENCH_SMOKE=1 ...                         (4 MB file, one run: checks it works)

Makes a file of random 16-byte blocks (any such file is a valid ECB ID/KEY file), then times, with
the input in the page cache and every output file removed before each run:
  openssl enc -d -aes-128-ecb -nopad -K KEY -in F -out O        (the baseline)
  roost cra decrypt KEY F O --format raw                         (same bytes out as openssl)
  roost cra decrypt KEY F O                                      (AESd dump: 4.1x the bytes out)
  roost cra decrypt KEY F O --format pairs                       (ID;KEY lines)
and prints the median wall time of each, MB/s of input, and the throughput ratio to openssl: the
median over runs of (openssl's time / roost's time in the same round), so that the machine's drift
(page-cache writeback after writing hundreds of MB) hits both sides of each ratio alike. The outputs are
checked to agree (raw == openssl's bytes), so a fast wrong answer cannot pass.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

KEY = "00112233445566778899AABBCCDDEEFF"


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build")
    roost = os.path.join(build, "roost")
    smoke = os.environ.get("ROOST_BENCH_SMOKE") == "1"
    size_mb = 4 if smoke else 100
    runs = 1 if smoke else 11
    subprocess.run(["ninja", "-C", build, "roost"], check=True, stdout=subprocess.DEVNULL)

    work = tempfile.mkdtemp(prefix="roost-cra-bench-", dir=os.environ.get("TMPDIR", "/tmp"))
    try:
        src = os.path.join(work, "id_key_encrypted.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(size_mb * 1024 * 1024))
        out = os.path.join(work, "out")

        commands = {
            "openssl enc -d -aes-128-ecb": ["openssl", "enc", "-d", "-aes-128-ecb", "-nopad", "-K", KEY,
                                            "-in", src, "-out", out],
            "roost cra decrypt --format raw": [roost, "cra", "decrypt", KEY, src, out, "--format", "raw"],
            "roost cra decrypt (AESd dump)": [roost, "cra", "decrypt", KEY, src, out],
            "roost cra decrypt --format pairs": [roost, "cra", "decrypt", KEY, src, out, "--format", "pairs"],
        }
        times = {name: [] for name in commands}
        outputs = {}
        for _ in range(runs):
            for name, cmd in commands.items():  # interleaved, so drift hits all alike
                if os.path.exists(out):
                    os.remove(out)
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
                times[name].append(time.perf_counter() - t0)
                if name not in outputs:
                    with open(out, "rb") as f:
                        outputs[name] = f.read() if "dump" not in name and "pairs" not in name else b""
        if outputs["roost cra decrypt --format raw"] != outputs["openssl enc -d -aes-128-ecb"]:
            print("FAIL: roost --format raw output differs from openssl enc -d", file=sys.stderr)
            return 1

        base_name = "openssl enc -d -aes-128-ecb"
        ratios = {name: statistics.median(b / t for b, t in zip(times[base_name], times[name]))
                  for name in commands}
        print(f"machine: {os.cpu_count()} cores; file: {size_mb} MB; {runs} rounds")
        print(f"{'command':36} {'median s':>9} {'MB/s':>8} {'vs openssl':>10}")
        for name in commands:
            med = statistics.median(times[name])
            print(f"{name:36} {med:9.3f} {size_mb / med:8.0f} {ratios[name]:10.2f}")
        if smoke:
            print("(smoke mode: 4 MB and one round check that it works; start-up dominates, so these "
                  "ratios say nothing about throughput)")
        print(f"RESULT cra-decrypt: throughput vs openssl enc: raw "
              f"{ratios['roost cra decrypt --format raw']:.2f}, AESd dump "
              f"{ratios['roost cra decrypt (AESd dump)']:.2f}, pairs "
              f"{ratios['roost cra decrypt --format pairs']:.2f} (target >= 0.50)")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
