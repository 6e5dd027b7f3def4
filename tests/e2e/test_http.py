"""The HTTP skeleton: routing problems, body rules, request ids, start-up
validation of the configuration."""

import os
import subprocess

from harness import DUBAN_BIN, ServerTest, main


class Routing(ServerTest):
    def test_unknown_path_is_a_404_problem(self):
        self.assertProblem(self.request("GET", "/no/such/thing"), 404)

    def test_wrong_method_is_a_405_problem_with_allow(self):
        r = self.request("DELETE", "/healthz")
        self.assertProblem(r, 405)
        self.assertEqual(r.header("allow"), "GET, HEAD")

    def test_health_and_readiness(self):
        r = self.request("GET", "/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"status": "ok"})
        r = self.request("GET", "/readyz")
        self.assertEqual(r.status, 200, r)

    def test_head_answers_like_get_without_body(self):
        r = self.request("HEAD", "/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")

    def test_metrics_are_prometheus_text(self):
        r = self.request("GET", "/metrics")
        self.assertEqual(r.status, 200)
        self.assertIn(b"duban_requests_total ", r.body)


class RequestIds(ServerTest):
    def test_given_request_id_is_echoed(self):
        r = self.request("GET", "/healthz", headers={"x-request-id": "abc-123.Z_9"})
        self.assertEqual(r.header("x-request-id"), "abc-123.Z_9")

    def test_missing_or_unsafe_request_id_is_replaced(self):
        for given in (None, "bad id with spaces", "x" * 65):
            headers = {"X-Request-Id": given} if given else {}
            r = self.request("GET", "/healthz", headers=headers)
            rid = r.header("x-request-id")
            self.assertRegex(rid, r"^[0-9a-f]{32}$")
            self.assertNotEqual(rid, given)

    def test_access_log_names_the_request(self):
        self.request("GET", "/healthz", headers={"X-Request-Id": "logged-request-1"})
        self.assertIn("request_id=logged-request-1", self.server.read_log())

    def test_nosniff_on_every_response(self):
        for path in ("/healthz", "/nope"):
            self.assertEqual(self.request("GET", path).header("x-content-type-options"), "nosniff")


class Configuration(ServerTest):
    def run_duban(self, *args, **env):
        full = dict(os.environ, **env)
        return subprocess.run([DUBAN_BIN, *args], env=full, capture_output=True, text=True, timeout=30)

    def test_bad_values_are_refused_naming_each(self):
        p = self.run_duban("serve", DUBAN_DB_POOL_SIZE="lots", DUBAN_LISTEN="nowhere",
                           DUBAN_LOG_LEVEL="loud", DUBAN_DATABASE_URL=self.db.url)
        self.assertEqual(p.returncode, 2)
        for name in ("DUBAN_DB_POOL_SIZE", "DUBAN_LISTEN", "DUBAN_LOG_LEVEL"):
            self.assertIn(name, p.stderr)

    def test_out_of_range_value_is_refused(self):
        p = self.run_duban("serve", DUBAN_MAX_BODY_BYTES="0", DUBAN_DATABASE_URL=self.db.url)
        self.assertEqual(p.returncode, 2)
        self.assertIn("DUBAN_MAX_BODY_BYTES", p.stderr)

    def test_version_and_help(self):
        self.assertRegex(self.run_duban("--version").stdout, r"^duban \d+\.\d+\.\d+")
        self.assertIn("DUBAN_DATABASE_URL", self.run_duban("--help").stdout)

    def test_unknown_command_is_a_usage_error(self):
        self.assertEqual(self.run_duban("frobnicate").returncode, 2)

    def test_migrate_status_lists_applied(self):
        p = self.run_duban("migrate", "--status", DUBAN_DATABASE_URL=self.db.url)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"applied\s+0001_schema\.sql")


if __name__ == "__main__":
    main()
