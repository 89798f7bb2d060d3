"""The SMTP sink of the tests (tests/support/smtp_sink.py) in a child process, and reading what it
received. Standard library only; the sink itself runs on Debian's python3 (python3-aiosmtpd)."""

import email
import email.policy
import os
import subprocess
import time

SINK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "smtp_sink.py")


class SmtpSink:
    """tests/support/smtp_sink.py in a child process (Debian's python3 has aiosmtpd)."""

    def __init__(self, directory):
        self.directory = directory
        self.proc = subprocess.Popen(["/usr/bin/python3", SINK, directory], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise AssertionError("the SMTP sink did not start (python3-aiosmtpd?): %r" % line)
        self.port = int(line.split()[1])

    def message(self, n, timeout=10):
        """The n-th accepted message (1-based) as (envelope recipients, parsed email)."""
        base = os.path.join(self.directory, str(n))
        deadline = time.time() + timeout
        while not os.path.exists(base + ".eml"):
            if time.time() > deadline:
                raise AssertionError("no email #%d arrived" % n)
            time.sleep(0.05)
        with open(base + ".env") as f:
            rcpts = f.read().split("\n")[1:]
        with open(base + ".eml", "rb") as f:
            msg = email.message_from_bytes(f.read(), policy=email.policy.default)
        return [r for r in rcpts if r], msg

    def count(self):
        return len([n for n in os.listdir(self.directory) if n.endswith(".eml")])

    def stop(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.proc.stdout.close()
