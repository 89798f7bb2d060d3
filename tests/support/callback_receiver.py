"""A callback receiver for tests: an HTTP server on loopback that records every request."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Receiver:
    """An HTTP server on loopback recording every request; paths under /fail answer 500, under
    /flaky 500 the first time each path is asked and 200 after, under /picky/ 400 for a path
    ending in /1 (one message refused, the others taken), under /hook/ a downlink for the query's
    device, under /nodata/ noData for it, under /late/ that downlink after LATE_S seconds, under
    /malformed/ a downlink answer too short to be one (200), under /slow/ 200 after LATE_S
    seconds. `arrivals` holds (time.time(), path) of each request as it came in."""

    LATE_S = 2.5

    def __init__(self):
        self.requests = []
        self.arrivals = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one(self):
                arrived = time.time()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                with outer.lock:
                    first = all(r[1] != self.path for r in outer.requests)
                    outer.requests.append((self.command, self.path, dict(self.headers), body))
                    outer.arrivals.append((arrived, self.path))
                status = 200
                if self.path.startswith("/fail") or (self.path.startswith("/flaky") and first):
                    status = 500
                elif self.path.startswith("/picky/") and self.path.endswith("/1"):
                    status = 400
                answer = b"ok"
                device = parse_qs(urlsplit(self.path).query).get("device", [""])[0]
                if self.path.startswith(("/late/", "/slow/")):
                    time.sleep(outer.LATE_S)
                if self.path.startswith(("/hook/", "/late/")):
                    answer = json.dumps({device: {"downlinkData": "0102030405060708"}}).encode()
                elif self.path.startswith("/malformed/"):
                    answer = json.dumps({device: {"downlinkData": "0102"}}).encode()
                elif self.path.startswith("/nodata/"):
                    answer = json.dumps({device: {"noData": True}}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the caller gave up waiting (/late/, /slow/)

            do_GET = do_POST = do_PUT = handle_one

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def received(self, prefix):
        with self.lock:
            return [r for r in self.requests if r[1].startswith(prefix)]

    def wait(self, prefix, count, timeout=20):
        deadline = time.time() + timeout
        while len(self.received(prefix)) < count and time.time() < deadline:
            time.sleep(0.05)
        return self.received(prefix)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
