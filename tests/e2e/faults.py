"""Fault injection for the reliability tests (test_faults.py): a private
PostgreSQL cluster that a test may stop, restart, freeze and thaw, and a raw
HTTP client over sockets for hostile input. Python standard library only.

The cluster is NOT the shared test cluster of ctest: it is created with
scripts/pg in a temporary folder, and destroyed afterwards."""

import glob
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import uuid

import harness

# the newest installed server binaries, as scripts/pg chooses them
PG_BIN = max(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), default="/usr/bin")
IS_ROOT = os.geteuid() == 0


def as_owner(cmd):
    """PostgreSQL refuses to run as root: under root its tools run as postgres."""
    return ["runuser", "-u", "postgres", "--", *cmd] if IS_ROOT else cmd


class Cluster:
    """A private PostgreSQL 15 cluster on loopback (scripts/pg), stoppable,
    restartable on the same port, and freezable with SIGSTOP."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="duban-faults-")
        self.home = None
        self.frozen = []
        # scripts/pg picks a random port in 20000-49999 and checks only that nothing
        # listens there; a client socket of this machine may still hold it (even in
        # TIME_WAIT), and PostgreSQL fails with "could not bind IPv4 address:
        # Address already in use": try again, on another random port
        for attempt in range(10):
            out = subprocess.run([harness.PG_SCRIPT, "start", self.dir, "--ephemeral"],
                                 capture_output=True, text=True, timeout=120)
            if os.path.exists(os.path.join(self.dir, "home")):
                with open(os.path.join(self.dir, "home")) as f:
                    self.home = f.read().strip()
            if out.returncode == 0:
                break
            time.sleep(0.5)
        else:
            log = self.log_tail(1500)
            self.destroy()
            raise RuntimeError(f"scripts/pg start failed: {out.stdout}{out.stderr}\n{log}")
        self.url = out.stdout.strip()
        with open(os.path.join(self.dir, "port")) as f:
            self.port = int(f.read().strip())
        self.data = os.path.join(self.home, "data")
        # --ephemeral sets synchronous_commit=off, which lets an immediate
        # stop lose commits that were already acknowledged: the tests check
        # that every acknowledged write survives, so commits must reach the
        # WAL (fsync stays off: only an OS crash could lose them then).
        harness.psql(self.url, "ALTER SYSTEM SET synchronous_commit = on")
        harness.psql(self.url, "SELECT pg_reload_conf()")

    def new_database(self):
        """A fresh database on this cluster; returns its URL."""
        name = "f_" + uuid.uuid4().hex[:12]
        harness.psql(self.url, f"CREATE DATABASE {name}")
        return self.url.rsplit("/", 1)[0] + "/" + name

    def pg_ctl(self, *args, timeout=90):
        return subprocess.run(as_owner([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, *args]),
                              capture_output=True, text=True, timeout=timeout)

    def postmaster_pid(self):
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    def running(self):
        return self.pg_ctl("status").returncode == 0

    def stop(self, mode="immediate"):
        """pg_ctl stop -m mode, waiting until the postmaster is gone."""
        self.thaw()
        r = self.pg_ctl("-m", mode, "-w", "-t", "60", "stop")
        if r.returncode != 0 and self.running():
            raise RuntimeError(f"pg_ctl stop failed: {r.stderr}")

    def start(self, wait=True):
        """Starts the cluster again on the same port (scripts/pg would pick a new one)."""
        opts = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1"
        args = ["-l", os.path.join(self.home, "server.log"), "-o", opts]
        if wait:
            r = self.pg_ctl(*args, "-w", "-t", "60", "start")
            if r.returncode != 0:
                raise RuntimeError(f"pg_ctl start failed: {r.stdout}{r.stderr}")
        else:
            # pg_ctl returns at once with -W; readiness is probed by the caller
            r = self.pg_ctl(*args, "-W", "start")
            if r.returncode != 0:
                raise RuntimeError(f"pg_ctl start failed: {r.stdout}{r.stderr}")

    def accepting(self, timeout=0.5):
        """True when a new session is accepted right now: a v3 startup packet
        is answered with an Authentication message (trust: AuthenticationOk),
        not an error such as 'the database system is starting up'."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
                params = b"user\0duban\0database\0duban\0\0"
                s.sendall(struct.pack("!II", 8 + len(params), 196608) + params)
                head = s.recv(9)
                ok = len(head) >= 9 and head[:1] == b"R" and struct.unpack("!I", head[5:9])[0] == 0
                if ok:
                    s.sendall(b"X\0\0\0\4")
                return ok
        except OSError:
            return False

    def wait_accepting(self, timeout=60, step=0.01):
        """Polls until the cluster accepts sessions; returns that moment (time.monotonic())."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.accepting():
                return time.monotonic()
            time.sleep(step)
        raise RuntimeError("PostgreSQL did not accept connections in time")

    def processes(self):
        """The postmaster and its children (backends and auxiliary processes)."""
        pm = self.postmaster_pid()
        if not pm:
            return []
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pm)], capture_output=True, text=True)
        return [pm] + [int(p) for p in out.stdout.split()]

    def freeze(self):
        """SIGSTOP the postmaster first (so that it forks nothing more), then
        every child. Returns the pids stopped."""
        pm = self.postmaster_pid()
        os.kill(pm, signal.SIGSTOP)
        self.frozen = [pm]
        for pid in self.processes()[1:]:
            try:
                os.kill(pid, signal.SIGSTOP)
                self.frozen.append(pid)
            except ProcessLookupError:
                pass
        return list(self.frozen)

    def thaw(self):
        for pid in reversed(self.frozen):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.frozen = []

    def ensure_up(self):
        """After a test, whatever it did: thawed, running, accepting."""
        self.thaw()
        if not self.running():
            self.start()
        self.wait_accepting()

    def log_tail(self, n=4000):
        if not self.home:
            return ""
        try:
            with open(os.path.join(self.home, "server.log"), errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def destroy(self):
        self.thaw()
        subprocess.run([harness.PG_SCRIPT, "stop", self.dir], capture_output=True, timeout=120)
        if self.home:
            shutil.rmtree(self.home, ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)


# -- raw HTTP ---------------------------------------------------------------

class RawResponse:
    """What came back on a raw connection: a parsed response, or how it ended."""

    def __init__(self, outcome, status=None, headers=None, body=b"", elapsed=0.0, raw=b""):
        self.outcome = outcome          # "response", "closed" (EOF, no response), "reset", "timeout", "truncated"
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.elapsed = elapsed
        self.raw = raw

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return f"<{self.outcome} {self.status} {self.headers.get('content-type')} {self.body[:200]!r}>"


def _parse_head(data):
    """(status, headers, rest) once data holds a whole response head, else None."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = data[:end].split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    return status, headers, data[end + 4:]


def _chunked_done(body):
    """The decoded body when body holds a whole chunked encoding, else None."""
    out, pos = b"", 0
    while True:
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            return None
        try:
            size = int(body[pos:eol].split(b";")[0], 16)
        except ValueError:
            return out
        pos = eol + 2
        if size == 0:
            return out if body.find(b"\r\n", pos) >= 0 else None
        if len(body) < pos + size + 2:
            return None
        out += body[pos:pos + size]
        pos += size + 2


def raw_exchange(port, payload, timeout=10.0, head_request=False, connect_timeout=5.0):
    """Sends payload (bytes, or a list or generator of bytes sent one after
    another, so that a huge body need not be held in memory) on a new
    connection and reads one response (1xx skipped) or the end of the
    connection, within timeout seconds in all."""
    started = time.monotonic()
    deadline = started + timeout
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=connect_timeout)
    except OSError as e:
        return RawResponse("refused", elapsed=time.monotonic() - started, raw=str(e).encode())
    data = b""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            for piece in [payload] if isinstance(payload, bytes) else payload:
                s.settimeout(max(0.01, deadline - time.monotonic()))
                s.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass       # the server may answer and close before taking all of it
        except socket.timeout:
            pass       # it stopped reading: still look for an answer
        while True:
            parsed = _parse_head(data)
            if parsed:
                status, headers, rest = parsed
                if 100 <= status < 200:
                    data = rest
                    continue
                if head_request or status in (204, 304):
                    return RawResponse("response", status, headers, b"", time.monotonic() - started, data)
                if "content-length" in headers and headers["content-length"].isdigit():
                    if len(rest) >= int(headers["content-length"]):
                        return RawResponse("response", status, headers, rest[:int(headers["content-length"])],
                                           time.monotonic() - started, data)
                elif "chunked" in headers.get("transfer-encoding", "").lower():
                    body = _chunked_done(rest)
                    if body is not None:
                        return RawResponse("response", status, headers, body, time.monotonic() - started, data)
            left = deadline - time.monotonic()
            if left <= 0:
                return RawResponse("timeout", elapsed=time.monotonic() - started, raw=data)
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return RawResponse("timeout", elapsed=time.monotonic() - started, raw=data)
            except ConnectionResetError:
                return RawResponse("reset" if not data else "truncated", elapsed=time.monotonic() - started,
                                   raw=data)
            if not chunk:
                parsed = _parse_head(data)
                if parsed and "content-length" not in parsed[1] and "transfer-encoding" not in parsed[1]:
                    # HTTP/1.0 style: the body ends with the connection
                    return RawResponse("response", parsed[0], parsed[1], parsed[2], time.monotonic() - started, data)
                return RawResponse("closed" if not data else "truncated", elapsed=time.monotonic() - started,
                                   raw=data)
            data += chunk
    finally:
        s.close()
