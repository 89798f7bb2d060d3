"""A running `roost serve` on an ephemeral loopback port, for the CLI, API and bench scripts."""

import http.client
import json
import os
import queue
import signal
import subprocess
import threading

import roostcli


class Server:
    """A running `roost serve`; its stderr lines are collected as they come."""

    def __init__(self, data_dir, *extra, env=None):
        self.proc = subprocess.Popen(
            [roostcli.ROOST_BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir,
             "--threads", "2", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **(env or {})})
        self.lines = queue.Queue()
        self.log = []
        threading.Thread(target=self._pump, daemon=True).start()
        # Start-up lines (master key, bootstrap) come before "listening", which
        # carries the bound address and means the server is serving.
        entry = None
        for _ in range(10):
            line = self.next_line(20)
            if line is None:
                self.proc.kill()
                raise AssertionError("roost serve stopped before listening: " + "".join(self.log))
            entry = json.loads(line)
            if entry.get("msg") == "listening":
                break
        else:
            self.proc.kill()
            raise AssertionError("no 'listening' log line: " + "".join(self.log))
        self.host, port = entry["address"].rsplit(":", 1)
        self.port = int(port)
        # The gateways' UDP port (provisioning), None when the listener is off.
        gwmp = entry.get("gwmp", "off")
        self.gwmp_port = None if gwmp == "off" else int(gwmp.rsplit(":", 1)[1])

    def _pump(self):
        for line in self.proc.stderr:
            self.lines.put(line)
        self.lines.put(None)

    def next_line(self, timeout):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if line is not None:
            self.log.append(line)
        return line

    def drain_log(self, timeout=0.5):
        while self.next_line(timeout) is not None:
            pass
        return self.log

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def stop(self, sig=signal.SIGTERM, timeout=10):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def metric_value(text, line_prefix):
    for line in text.splitlines():
        if line.startswith(line_prefix + " "):
            return float(line.rsplit(" ", 1)[1])
    return None
