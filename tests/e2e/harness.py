"""The end-to-end harness: a fresh database per test module on the cluster
that the ctest fixture started, the real duban executable on a free port,
and a small HTTP client. Nothing is mocked."""

import gzip
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import uuid
import zlib

SOURCE_DIR = os.environ.get("DUBAN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
DUBAN_BIN = os.environ.get("DUBAN_BIN", "duban")
CLUSTER = os.environ.get("DUBAN_TEST_CLUSTER")
PG_SCRIPT = os.path.join(SOURCE_DIR, "scripts", "pg")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cluster_url(cluster=None):
    out = subprocess.run([PG_SCRIPT, "url", cluster or CLUSTER], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def psql(url, sql, *args):
    """Runs one SQL statement with psql and returns its rows as lists of strings."""
    cmd = ["psql", url, "-XAtq", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


class Database:
    """A database of its own on the shared test cluster, dropped afterwards."""

    def __init__(self, cluster=None):
        base = cluster_url(cluster)
        self.name = "t_" + uuid.uuid4().hex[:12]
        self.admin_url = base
        psql(base, f"CREATE DATABASE {self.name}")
        self.url = base.rsplit("/", 1)[0] + "/" + self.name

    def query(self, sql):
        return psql(self.url, sql)

    def drop(self):
        psql(self.admin_url, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


RESPONSE_LOG = os.environ.get("DUBAN_RESPONSE_LOG")


def decoded(response):
    """The body without its content coding (gzip or deflate)."""
    coding = response.header("content-encoding")
    if coding == "gzip":
        return gzip.decompress(response.body)
    if coding == "deflate":
        return zlib.decompress(response.body)
    return response.body


def record(method, path, headers, body, response):
    """Appends the exchange to $DUBAN_RESPONSE_LOG (JSON lines), which the
    contract check validates against openapi.yaml after the tests."""
    if not RESPONSE_LOG:
        return
    if re.search(r"[?&]fields=", path) or (response.status == 201 and not response.body):
        return  # sparse (fields=) or minimal (Prefer) answers: a subset of the schema, or no body
    entry = {"method": method, "path": path.split("?", 1)[0], "status": response.status,
             "content_type": response.header("content-type"),
             "request_content_type": headers.get("Content-Type"),
             "body": decoded(response).decode("utf-8", errors="replace")}
    os.makedirs(os.path.dirname(RESPONSE_LOG) or ".", exist_ok=True)
    with open(RESPONSE_LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")


# The suites assert what duban answers, not how fast: on a loaded machine a
# connection or a statement can wait seconds for a CPU, so their servers and
# commands get deadlines no scheduler delay reaches. The fault tests, which
# are about the deadlines, start their servers with the real defaults.
PATIENT = {"DUBAN_STATEMENT_TIMEOUT_MS": "30000", "DUBAN_REQUEST_TIMEOUT_MS": "60000"}


def duban_command(url, *args, check=True):
    """Runs a duban command against the database at url; returns its stdout."""
    env = dict(os.environ, DUBAN_DATABASE_URL=url, **PATIENT)
    out = subprocess.run([DUBAN_BIN, *args], env=env, capture_output=True, text=True, timeout=60)
    if check and out.returncode != 0:
        raise RuntimeError(f"duban {' '.join(args)} failed: {out.stderr}")
    return out.stdout


class Server:
    """The real duban, started on a free port against url. Requests carry
    `token` as a bearer token unless they set Authorization themselves."""

    token = None

    def __init__(self, url, **env):
        self.url = url
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="duban-", suffix=".log", delete=False)
        full_env = dict(os.environ)
        # DUBAN_TIMEZONE: days counted as the tests count them (fixtures.day)
        full_env.update({"DUBAN_DATABASE_URL": url, "DUBAN_LISTEN": f"127.0.0.1:{self.port}",
                         "DUBAN_LOG_LEVEL": "info", "DUBAN_TIMEZONE": "UTC"})
        full_env.update({k: str(v) for k, v in env.items()})
        self.proc = subprocess.Popen([DUBAN_BIN, "serve"], env=full_env, stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("duban exited at start:\n" + self.read_log())
            try:
                if self.request("GET", "/healthz").status == 200:
                    return
            except OSError:
                time.sleep(0.05)
        self.proc.kill()
        self.proc.wait()
        raise RuntimeError("duban did not start:\n" + self.read_log())

    def read_log(self):
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def request(self, method, path, body=None, headers=None, json_body=None, timeout=30):
        headers = dict(headers or {})
        if self.token and not any(k.lower() == "authorization" for k in headers):
            headers["Authorization"] = "Bearer " + self.token
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            try:
                conn.request(method, path, body=body, headers=headers)
            except (BrokenPipeError, ConnectionResetError):
                pass   # answered (413) and closed before taking the whole body: read that answer
            r = conn.getresponse()
            response = Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()
        record(method, path, headers, body, response)
        return response

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class ServerTest(unittest.TestCase):
    """A test case with its own database and server for the whole class."""

    server_env = {}

    @classmethod
    def setUpClass(cls):
        cls.db = Database()
        cls.server = Server(cls.db.url, **{**PATIENT, **cls.server_env})
        cls.server.token = cls.make_token("admin")

    @classmethod
    def make_token(cls, role, unit_id=None, name=None):
        """A new token of this role (reporters bound to unit_id), from the command line."""
        args = ["token", "create", "--role", role, "--name", name or f"{role}-{uuid.uuid4().hex[:8]}"]
        if unit_id is not None:
            args += ["--unit", str(unit_id)]
        return duban_command(cls.db.url, *args).strip()

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        cls.db.drop()
        if rc != 0:
            raise AssertionError(f"duban exited with {rc}:\n" + cls.server.read_log()[-3000:])

    def request(self, method, path, **kw):
        return self.server.request(method, path, **kw)

    def assertProblem(self, r, status, detail_contains=None):
        """Asserts r is an RFC 9457 problem with this status."""
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.header("content-type").startswith("application/problem+json"), r.headers)
        p = r.json()
        self.assertEqual(p["status"], status)
        for key in ("type", "title", "detail", "instance"):
            self.assertIn(key, p)
        if detail_contains:
            self.assertIn(detail_contains, p["detail"])
        return p

    def assertSubset(self, expected, actual, path="$"):
        """Every key of expected is in actual with an equal (or matching subset) value."""
        if isinstance(expected, dict):
            self.assertIsInstance(actual, dict, path)
            for k, v in expected.items():
                self.assertIn(k, actual, f"{path}.{k} missing in {actual}")
                self.assertSubset(v, actual[k], f"{path}.{k}")
        elif isinstance(expected, list):
            self.assertIsInstance(actual, list, path)
            self.assertEqual(len(expected), len(actual), f"{path}: {actual}")
            for i, (e, a) in enumerate(zip(expected, actual)):
                self.assertSubset(e, a, f"{path}[{i}]")
        else:
            self.assertEqual(expected, actual, path)


def wait_for(what, predicate, timeout=60, step=0.1):
    """Polls until predicate() is true and returns its value; fails with
    `what` if it never is. The timeout bounds a hang, not the speed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


def main():
    unittest.main(verbosity=2)
