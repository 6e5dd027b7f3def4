"""/readyz follows the database: 503 while it is stopped, 200 again once it
is back, with the same duban process throughout. Uses a cluster of its own,
since it stops it."""

import os
import subprocess
import tempfile
import time
import unittest

from harness import PG_SCRIPT, Server, main, psql


def cpu_seconds(pid):
    """The user and system CPU time process pid has used, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Readiness(unittest.TestCase):
    def setUp(self):
        self.cluster = tempfile.mkdtemp(prefix="duban-ready-")
        self.url = self.pg("start", "--ephemeral")
        self.server = Server(self.url, DUBAN_STATEMENT_TIMEOUT_MS=1000)

    def tearDown(self):
        self.server.stop()
        self.pg("stop")

    def pg(self, command, *args):
        return subprocess.run([PG_SCRIPT, command, self.cluster, *args], check=True,
                              capture_output=True, text=True).stdout.strip()

    def wait_for(self, status, seconds=15):
        deadline = time.time() + seconds
        while time.time() < deadline:
            r = self.server.request("GET", "/readyz", timeout=5)
            if r.status == status:
                return r
            time.sleep(0.2)
        self.fail(f"/readyz never answered {status}")

    def test_readyz_follows_the_database(self):
        self.assertEqual(self.server.request("GET", "/readyz").status, 200)
        self.pg("stop")
        r = self.wait_for(503)
        self.assertTrue(r.header("content-type").startswith("application/problem+json"))
        self.assertIsNotNone(r.header("retry-after"))
        self.assertEqual(self.server.request("GET", "/healthz").status, 200)
        # Waiting for the database costs next to nothing: the token listener
        # retries once a second. A listener that spun (a reconnect loop
        # with no pause) burnt a whole core here.
        busy = cpu_seconds(self.server.proc.pid)
        time.sleep(5)
        self.assertLess(cpu_seconds(self.server.proc.pid) - busy, 0.5, "duban keeps busy while the database is down")
        self.url = self.pg("start", "--ephemeral")
        self.wait_for(200)
        self.assertIsNone(self.server.proc.poll(), "duban must keep running")

    def test_readyz_reports_pending_migrations(self):
        psql(self.url, "DELETE FROM schema_migrations WHERE name = '0002_security.sql'")
        r = self.wait_for(503)
        self.assertIn("migrations", r.json()["detail"])


if __name__ == "__main__":
    main()
