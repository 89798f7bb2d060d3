"""Shared helpers for the CLI tests: where the roost binary is, running it, temp dirs,
and the small pieces every API test needs."""

import base64
import os
import subprocess
import tempfile

ROOST_BIN = os.environ.get("ROOST_BIN", "roost")
# Tests run many `roost serve` at once: each takes a free loopback UDP port for the
# gateways' protocol instead of the default 0.0.0.0:1700 (a flag still overrides it).
os.environ.setdefault("ROOST_PROVISIONING_GWMP_LISTEN", "127.0.0.1:0")
VECTORS = os.environ.get("ROOST_VECTORS", "")


def run(args, input=None, text=True, env=None, cwd=None, timeout=120):
    """Runs `roost ARGS...`; returns the CompletedProcess (stdout/stderr captured)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run([ROOST_BIN, *[str(a) for a in args]], input=input, text=text,
                          capture_output=True, env=full_env, cwd=cwd, timeout=timeout)


def temp_dir():
    """A temporary directory, removed when the returned object is cleaned up."""
    return tempfile.TemporaryDirectory(prefix="roost-test-")


def basic(login, password):
    """The Authorization header of HTTP Basic for an API user."""
    token = base64.b64encode(("%s:%s" % (login, password)).encode()).decode()
    return {"Authorization": "Basic " + token}


def api_id(device_id):
    """A device ID as the API renders it: uppercase hex without leading zeros."""
    return "%X" % int(device_id, 16)
