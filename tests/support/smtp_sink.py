#!/usr/bin/python3
"""A real SMTP server for tests (aiosmtpd): stores every message it accepts.

Usage: smtp_sink.py DIR   — listens on 127.0.0.1, a free port, prints "PORT <n>" on stdout once
ready, writes each message as DIR/<n>.eml (envelope in DIR/<n>.env: MAIL FROM, then RCPT TOs),
runs until stdin closes or it is killed. Run with Debian's /usr/bin/python3 (python3-aiosmtpd).
"""

import os
import socket
import sys
import threading

from aiosmtpd.controller import Controller


class Store:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        base = os.path.join(self.directory, str(n))
        with open(base + ".env.tmp", "w") as f:
            f.write(envelope.mail_from + "\n" + "\n".join(envelope.rcpt_tos) + "\n")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".env.tmp", base + ".env")
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 Message accepted"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    directory = sys.argv[1]
    os.makedirs(directory, exist_ok=True)
    port = free_port()
    controller = Controller(Store(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"PORT {port}", flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin or exits
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
