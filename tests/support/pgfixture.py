"""A throwaway PostgreSQL server for tests (Debian's postgresql packages).

As a module:
    with PgServer() as pg:
        url = pg.create_database("mytest")   # postgresql://... of a fresh database
        ...
As a command (the CTest fixture of the storage tests uses it):
    pgfixture.py start STATE_DIR   starts a server, writes STATE_DIR/server.json and
                                   STATE_DIR/conninfo (libpq keywords, no dbname)
    pgfixture.py stop STATE_DIR    stops it and deletes its files

initdb and pg_ctl refuse to run as root, so as root they run as the `postgres`
user (runuser); otherwise as the current user. The server listens on a unix
socket in its own directory and on 127.0.0.1:<free port>, trusts local
connections, and runs with fsync off: it is for tests only. When the server
binaries are missing this fails loudly; it never skips.
"""

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

SUPERUSER = "postgres"


def bin_dir():
    """The directory of initdb/pg_ctl (newest installed major version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb);"
                           " install the postgresql package (scripts/deps.sh does)")
    return os.path.dirname(found[-1])


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _run(cmd, what):
    p = subprocess.run(_as_server_user(cmd), capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {p.returncode}): {p.stderr.strip() or p.stdout.strip()}")


class PgServer:
    """Starts on construction (or use start()); stop() removes every file it made."""

    def __init__(self, start=True, options=""):
        """`options`: more server settings, as for `postgres -o` (benchmarks' diagnostics)."""
        self.base = None
        self.port = None
        self.bin = None
        self.options = options
        if start:
            self.start()

    @property
    def socket_dir(self):
        return os.path.join(self.base, "sock")

    @property
    def data_dir(self):
        return os.path.join(self.base, "data")

    def start(self):
        self.bin = bin_dir()
        self.base = tempfile.mkdtemp(prefix="roost-pg-", dir="/tmp")
        os.mkdir(self.socket_dir)
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
            shutil.chown(self.socket_dir, "postgres", "postgres")
        try:
            _run([os.path.join(self.bin, "initdb"), "-D", self.data_dir, "-U", SUPERUSER,
                  "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"], "initdb")
            self.port = free_port()
            opts = (f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                    "-c max_connections=200 " + self.options)
            _run([os.path.join(self.bin, "pg_ctl"), "-D", self.data_dir, "-l",
                  os.path.join(self.base, "server.log"), "-w", "-t", "60", "-o", opts, "start"],
                 "pg_ctl start")
        except Exception:
            self._remove()
            raise
        return self

    def conninfo(self, dbname="postgres"):
        """libpq key=value string over the unix socket."""
        return f"host={self.socket_dir} port={self.port} user={SUPERUSER} dbname={dbname}"

    def url(self, dbname="postgres"):
        """postgresql:// URL over TCP on 127.0.0.1."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def psql(self, sql, dbname="postgres"):
        p = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                            "-d", self.conninfo(dbname), "-c", sql],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError(f"psql failed: {p.stderr.strip()}")
        return p.stdout

    def create_database(self, name):
        """Creates an empty database `name` (letters, digits, '_'); returns its URL."""
        if not name or not all(c.isalnum() or c == "_" for c in name):
            raise ValueError(f"database name {name!r}: use letters, digits and '_'")
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self):
        if self.base and os.path.isdir(self.data_dir) and self.bin:
            subprocess.run(_as_server_user([os.path.join(self.bin, "pg_ctl"), "-D", self.data_dir,
                                            "-m", "immediate", "-w", "stop"]),
                           capture_output=True, timeout=120)
        self._remove()

    def _remove(self):
        if self.base:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None

    def to_json(self):
        return {"base": self.base, "port": self.port, "bin": self.bin,
                "socket_dir": self.socket_dir, "user": SUPERUSER}

    @classmethod
    def from_json(cls, d):
        s = cls(start=False)
        s.base, s.port, s.bin = d["base"], d["port"], d["bin"]
        return s

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _state_file(state_dir):
    return os.path.join(state_dir, "server.json")


def main(argv):
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        print("usage: pgfixture.py start|stop STATE_DIR", file=sys.stderr)
        return 2
    cmd, state_dir = argv[1], argv[2]
    if cmd == "start":
        os.makedirs(state_dir, exist_ok=True)
        if os.path.exists(_state_file(state_dir)):  # a previous run died without stopping
            with open(_state_file(state_dir)) as f:
                PgServer.from_json(json.load(f)).stop()
            os.remove(_state_file(state_dir))
        server = PgServer()
        with open(_state_file(state_dir) + ".tmp", "w") as f:
            json.dump(server.to_json(), f)
        os.replace(_state_file(state_dir) + ".tmp", _state_file(state_dir))
        # The server's libpq keywords without dbname, for tests in other languages.
        with open(os.path.join(state_dir, "conninfo"), "w") as f:
            f.write(server.conninfo().rsplit(" dbname=", 1)[0] + "\n")
        print(server.conninfo())
        return 0
    if os.path.exists(_state_file(state_dir)):
        with open(_state_file(state_dir)) as f:
            PgServer.from_json(json.load(f)).stop()
        os.remove(_state_file(state_dir))
    if os.path.exists(os.path.join(state_dir, "conninfo")):
        os.remove(os.path.join(state_dir, "conninfo"))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except RuntimeError as e:
        print(f"pgfixture: {e}", file=sys.stderr)
        sys.exit(1)
