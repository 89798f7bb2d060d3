"""A Roost site for HTTP tests on either engine: the store, `roost serve` processes on it,
API users, imported credentials, and the API calls the tests share.

    site = Site("sqlite")                 # SQLite in a temporary data directory
    site = Site("postgres", "mytest")     # a fresh database on this process's PostgreSQL
    server = site.serve()                 # a roostserver.Server on 127.0.0.1:<free port>
    user = site.api_user("ADMIN")         # {"login", "password"} via `roost api-user create`
    users = site.api_users()              # {role: user} for every role
    pairs = site.issue_and_import(40, "300000")  # [(id, pac)] of an imported CRA batch
    site.close()                          # servers killed, database and directory removed

PostgreSQL comes from pgfixture.PgServer, started once per test process on first use and
stopped at exit. If it cannot start, the test that needed it fails (nothing is skipped).
The master key lives in the site's data directory for both engines.
"""

import atexit
import contextlib
import http.client
import json
import os
import subprocess
import threading
import time

import pgfixture
import roostcli
from roostcli import api_id, basic  # noqa: F401 (re-exported for the API tests)
from roostserver import Server

KEY = "00112233445566778899AABBCCDDEEFF"
ADMIN_PASSWORD = "correct horse battery"
ROLES = ("ADMIN", "DEVICE_MANAGER", "READER", "FACTORY", "STATION")

_pg = None
_pg_lock = threading.Lock()


def postgres():
    """This process's throwaway PostgreSQL server (started on first use)."""
    global _pg
    with _pg_lock:
        if _pg is None:
            _pg = pgfixture.PgServer()
            atexit.register(_pg.stop)
        return _pg


def run_ok(args, timeout=300):
    r = roostcli.run(args, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError("roost %s failed: %s" % (" ".join(map(str, args)), r.stderr))
    return r


class Site:
    def __init__(self, engine, dbname=None):
        if engine not in ("sqlite", "postgres"):
            raise ValueError(engine)
        self.engine = engine
        self.tmp = roostcli.temp_dir()
        self.dir = self.tmp.name
        self.data_dir = os.path.join(self.dir, "data")
        self.url = None
        if engine == "postgres":
            self.pg = postgres()
            self.dbname = dbname or "roost_%d_%d" % (os.getpid(), int(time.time() * 1000))
            self.url = self.pg.create_database(self.dbname)
        self.servers = []

    # --- processes -----------------------------------------------------------

    def serve(self, *extra, env=None):
        args = list(extra)
        if self.url:
            args += ["--database", self.url]
        # Tests report frames at fixed past times: retention would purge them, unless a test
        # asks for it.
        server = Server(self.data_dir, *args, env={"ROOST_ADMIN_PASSWORD": ADMIN_PASSWORD,
                                                   "ROOST_PIPELINE_RETENTION_DAYS": "0",
                                                   **(env or {})})
        self.servers.append(server)
        return server

    def store_args(self):
        """Arguments naming this site's store for `roost api-user|credentials`."""
        if self.url:
            return ["--database", self.url]
        return ["--data-dir", self.data_dir]

    def api_user(self, role, group=None, name=None):
        args = ["api-user", "create", "--name", name or role.lower(), "--role", role,
                *self.store_args()]
        if group:
            args += ["--group", group]
        return json.loads(run_ok(args).stdout)

    def api_users(self, roles=ROLES):
        """One API user per role in the root group: {role: {"login", "password"}}."""
        return {role: self.api_user(role) for role in roles}

    def import_credentials(self, id_key, id_pac):
        args = ["credentials", "import", "--enc-key", KEY, "--id-key", id_key, "--id-pac", id_pac,
                *self.store_args()]
        if self.url:
            args += ["--master-key-file", os.path.join(self.data_dir, "master.key")]
        return json.loads(run_ok(args).stdout)

    def issue_and_import(self, count, first_id, name="batch"):
        """Issues a CRA batch (`roost cra issue`), imports it; returns [(id, pac)]."""
        out = os.path.join(self.dir, name)
        run_ok(["cra", "issue", "--count", count, "--first-id", first_id, "--enc-key", KEY,
                "--out-dir", out])
        summary = self.import_credentials(os.path.join(out, "id_key_encrypted.bin"),
                                          os.path.join(out, "id_pac.txt"))
        if summary["imported"] != count:
            raise AssertionError("imported %r, expected %d" % (summary, count))
        return read_id_pac(os.path.join(out, "id_pac.txt"))

    # --- direct SQL (set-up that the API cannot do yet, and checks) ------------

    def sql(self, statement):
        """Runs SQL on the site's database; returns the rows as lists of strings."""
        if self.url:
            out = subprocess.run(
                [os.path.join(self.pg.bin, "psql"), "-X", "-q", "-A", "-t", "-F", "|", "-v",
                 "ON_ERROR_STOP=1", "-d", self.pg.conninfo(self.dbname), "-c", statement],
                capture_output=True, text=True, timeout=60)
        else:
            out = subprocess.run(
                ["sqlite3", "-batch", "-bail", "-cmd", ".timeout 10000",
                 os.path.join(self.data_dir, "roost.db"), statement],
                capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise AssertionError("SQL failed: %s: %s" % (statement, out.stderr))
        return [line.split("|") for line in out.stdout.splitlines() if line]

    @contextlib.contextmanager
    def writes_held(self):
        """Until the block ends, another connection holds what ingest must write: SQLite's
        write lock (BEGIN IMMEDIATE; the server waits up to 10 s for it), or on PostgreSQL an
        EXCLUSIVE lock on `messages`, which its inserts wait for."""
        if self.url:
            args = [os.path.join(self.pg.bin, "psql"), "-X", "-q", "-A", "-t", "-v",
                    "ON_ERROR_STOP=1", "-d", self.pg.conninfo(self.dbname)]
            begin = "BEGIN; LOCK TABLE messages IN EXCLUSIVE MODE; SELECT 'held';\n"
        else:
            args = ["sqlite3", "-batch", "-bail", "-cmd", ".timeout 10000",
                    os.path.join(self.data_dir, "roost.db")]
            begin = "BEGIN IMMEDIATE; SELECT 'held';\n"
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            proc.stdin.write(begin)
            proc.stdin.flush()
            line = proc.stdout.readline()
            if line.strip() != "held":
                raise AssertionError("could not take the lock: %r %s"
                                     % (line, proc.stderr.read()))
            yield
        finally:
            try:
                proc.stdin.write("COMMIT;\n")
                proc.stdin.close()
            except OSError:
                pass
            proc.wait(timeout=30)
            proc.stdout.close()
            proc.stderr.close()

    def close(self):
        for s in self.servers:
            s.kill()
            s.proc.stdout.close()
            s.proc.stderr.close()
        self.servers = []
        if self.url:
            try:
                self.pg.psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.dbname)
            except RuntimeError:
                pass
        self.tmp.cleanup()


class ServedSite:
    """The class-level set-up most API tests share, as a mixin beside unittest.TestCase: a Site
    of the class's ENGINE, before_serve() for what must exist before the server (a callback
    receiver, an SMTP sink), one `roost serve` with SERVE_ARGS and before_serve()'s arguments,
    then set_up_site() for what the class's tests use. Clients made with client() and
    everything added to cls.closers are closed with the site, and a failed set-up closes what
    it made."""

    ENGINE = None
    SERVE_ARGS = ()

    @classmethod
    def setUpClass(cls):
        cls.site = Site(cls.ENGINE)
        cls._clients = []
        cls.closers = []
        try:
            extra = cls.before_serve()
            cls.server = cls.site.serve(*cls.SERVE_ARGS, *extra)
            cls.set_up_site()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def before_serve(cls):
        """Made before the server starts; returns more `roost serve` arguments. Whatever it
        makes that must be closed goes in cls.closers (functions called at tear-down)."""
        return ()

    @classmethod
    def set_up_site(cls):
        """What the class's tests share, made once through the API."""

    @classmethod
    def set_up_tenant(cls, issue, prefix, registered=None):
        """A pipeline site's usual cast: groups "tenant" and "other" under the root (cls.tenant,
        cls.other), the root's ADMIN (cls.admin_user) and the tenant's DEVICE_MANAGER, READER
        and STATION users (cls.manager, cls.reader, cls.station_user), the tenant's device type
        "meters" with a custom format (cls.type), `issue` credentials issued from `prefix`
        (cls.pairs) and the devices registered from those at the indexes `registered` (all by
        default; cls.devices). Returns a Client of the root ADMIN."""
        cls.admin_user = cls.site.api_user("ADMIN", name="root admin")
        admin = Client(cls.server, cls.admin_user)
        cls._clients.append(admin)
        cls.tenant = admin.ok("POST", "/api/groups/create", {"name": "tenant"})["id"]
        cls.other = admin.ok("POST", "/api/groups/create", {"name": "other"})["id"]
        cls.manager = cls.site.api_user("DEVICE_MANAGER", group=cls.tenant)
        cls.reader = cls.site.api_user("READER", group=cls.tenant)
        cls.station_user = cls.site.api_user("STATION", group=cls.tenant)
        manager = Client(cls.server, cls.manager)
        cls.type = manager.ok("POST", "/api/devicetypes/create",
                              {"name": "meters", "payloadType": "Custom",
                               "payloadConfig": "temp::int:16:little-endian hum::uint:8"})["id"]
        cls.pairs = cls.site.issue_and_import(issue, prefix)
        picked = [cls.pairs[i] for i in (registered if registered is not None
                                         else range(issue))]
        cls.devices = [manager.ok("POST", "/api/devices/create",
                                  {"id": d, "pac": p, "name": "m%d" % i, "type": cls.type})["id"]
                       for i, (d, p) in enumerate(picked)]
        manager.close()
        return admin

    @classmethod
    def client(cls, role, group=None, name=None):
        """A Client of a new API user with `role` (in `group`, default the root group)."""
        c = Client(cls.server, cls.site.api_user(role, group=group, name=name))
        cls._clients.append(c)
        return c

    @classmethod
    def tearDownClass(cls):
        for c in getattr(cls, "_clients", []):
            c.close()
        for close in reversed(getattr(cls, "closers", [])):
            close()
        cls.site.close()


def read_id_pac(path):
    pairs = []
    with open(path) as f:
        for line in f:
            if ";" in line:
                dev, pac = line.strip().split(";")
                pairs.append((dev, pac))
    return pairs


class RoleCalls:
    """Requests as one of a test class's API users, for a unittest.TestCase with `server` (a
    Server) and `users` ({role: {"login", "password"}}); role None sends no credentials."""

    def call(self, role, method, path, body=None, raw=None, content_type="application/json",
             headers=None):
        """(status, headers, parsed JSON body or None); `body` is sent as JSON, `raw` as is."""
        h = dict(headers or {})
        if role is not None:
            u = self.users[role]
            h.update(basic(u["login"], u["password"]))
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            h.setdefault("Content-Type", content_type)
        status, head, payload = self.server.request(method, path, body=data, headers=h)
        return status, head, (json.loads(payload) if payload else None)

    def ok(self, role, method, path, body=None, expect=200, **kw):
        """The parsed answer, once asserted to have status `expect`."""
        status, _, parsed = self.call(role, method, path, body, **kw)
        self.assertEqual(status, expect, "%s %s: %r" % (method, path, parsed))
        return parsed


class Client:
    """One keep-alive HTTP connection to a server, authenticated as an API user."""

    def __init__(self, server, user=None, timeout=30):
        self.server = server
        self.auth = basic(user["login"], user["password"]) if user else {}
        self.timeout = timeout
        self.conn = None

    def call(self, method, path, body=None, raw=None, headers=None):
        """(status, headers, parsed JSON body or None)."""
        h = {**self.auth, **(headers or {})}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.server.host, self.server.port,
                                                       timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=h)
                resp = self.conn.getresponse()
                payload = resp.read()
                break
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise
        if resp.getheader("Connection", "").lower() == "close":
            self.close()
        parsed = json.loads(payload) if payload else None
        return resp.status, dict(resp.getheaders()), parsed

    def ok(self, method, path, body=None, expect=200):
        status, _, parsed = self.call(method, path, body)
        if status != expect:
            raise AssertionError("%s %s: %d, expected %d: %r" % (method, path, status, expect,
                                                                  parsed))
        return parsed

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    # --- shared flows ----------------------------------------------------------

    def new_type(self, name):
        return self.ok("POST", "/api/devicetypes/create", {"name": name})["id"]

    def bulk_create(self, type_id, pairs, prefix="dev-"):
        started = self.ok("POST", "/api/devicetypes/%s/devices/bulk/create/async" % type_id,
                          {"prefix": prefix, "ids": [{"id": d, "pac": p} for d, p in pairs]},
                          expect=202)
        return started["jobId"]

    def wait_job(self, job, timeout=120, interval=0.05):
        deadline = time.time() + timeout
        while True:
            st = self.ok("GET", "/api/jobs/" + job)
            if st["jobDone"]:
                return st
            if time.time() > deadline:
                raise AssertionError("job %s not done after %d s: %r" % (job, timeout, st))
            time.sleep(interval)

    def list_all(self, path, limit=1000):
        """Every item of a paged list, following paging.next."""
        items = []
        url = "%s%slimit=%d" % (path, "&" if "?" in path else "?", limit)
        while url:
            page = self.ok("GET", url)
            items += page["data"]
            url = page["paging"].get("next")
            if url and url.startswith("http"):
                url = "/" + url.split("/", 3)[3]
        return items
