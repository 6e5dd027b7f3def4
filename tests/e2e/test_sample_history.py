"""The seed plan's sample history (seed/sample-history.sql): loaded the way
scripts/run loads it (migrate, import the seed plan if the database is
empty, then the history), it holds what it promises (signatures by most
units, monthly reports by most lead units with some late and some missing,
two urges, a rejected and a verified closure request, all marked as sample
data and dated in the past), the tasks show the loop at work, a second run
adds nothing, and a database holding another plan is refused."""

import datetime
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import SOURCE_DIR, Database, ServerTest, main, psql
from seeding import API, SEED_PATH, run_duban, small_plan

HISTORY = os.path.join(SOURCE_DIR, "seed", "sample-history.sql")
MARKER = "示例数据"
NEVER_SIGN = ("区扶贫开发工作领导小组成员单位", "区扶贫开发领导小组成员单位", "区史志办", "区人大", "区政协")
NEVER_REPORT = ("区扶贫开发工作领导小组成员单位", "区扶贫开发领导小组成员单位", "区史志办")
PLAN_START = datetime.date(2018, 12, 4)
TABLES = ("plan", "task", "task_unit", "progress_log", "acknowledgement", "closure_request", "urge", "audit_log")


def load_like_scripts_run(url):
    """scripts/run's steps: migrate, import the seed plan into an empty
    database, apply the history (days in UTC, as the test servers count
    them). Returns psql's messages."""
    for args in (("migrate",), ("import", "--if-empty", SEED_PATH)):
        out = run_duban(url, *args)
        if out.returncode != 0:
            raise AssertionError(f"duban {' '.join(args)} failed: {out.stderr}")
    out = subprocess.run(["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "tz=UTC", "-f", HISTORY],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise AssertionError(f"sample-history.sql failed: {out.stderr}")
    return out.stderr


def counts(url):
    return {t: int(psql(url, f"SELECT count(*) FROM {t}")[0][0]) for t in TABLES}


def month_start(d, back=0):
    """The first day of d's month, `back` months earlier."""
    m = d.year * 12 + d.month - 1 - back
    return datetime.date(m // 12, m % 12 + 1, 1)


class SampleHistoryTest(ServerTest):
    server_env = {"DUBAN_TIMEZONE": "UTC"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.messages = load_like_scripts_run(cls.db.url)
        cls.today = datetime.datetime.now(datetime.timezone.utc).date()
        cls.tasks = {path: int(i) for i, path in psql(cls.db.url, "SELECT id, array_to_string(path, '.') FROM task")}

    def q(self, sql):
        return psql(self.db.url, "SET TimeZone = 'UTC'; " + sql)

    def one(self, sql):
        return self.q(sql)[0][0]

    def task(self, path):
        r = self.request("GET", f"{API}/tasks/{self.tasks[path]}")
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_loaded_and_said_so(self):
        self.assertIn("sample history loaded", self.messages)
        self.assertEqual(self.one("SELECT count(*) FROM plan"), "1")

    def test_most_units_sign_for_their_tasks_in_the_first_days(self):
        assigned = int(self.one("SELECT count(*) FROM task_unit"))
        signed = int(self.one("SELECT count(*) FROM acknowledgement"))
        self.assertGreaterEqual(signed, assigned * 85 // 100)
        self.assertLess(signed, assigned)
        units = int(self.one("SELECT count(DISTINCT unit_id) FROM task_unit"))
        signing = int(self.one("SELECT count(DISTINCT unit_id) FROM acknowledgement"))
        self.assertEqual(signing, units - len(NEVER_SIGN))
        names = ",".join(f"'{n}'" for n in NEVER_SIGN)
        self.assertEqual(self.one(f"SELECT count(*) FROM acknowledgement a JOIN unit u ON u.id = a.unit_id "
                                  f"WHERE u.name IN ({names})"), "0")
        first, last = self.q("SELECT min(acknowledged_at)::date, max(acknowledged_at)::date FROM acknowledgement")[0]
        self.assertGreaterEqual(first, str(PLAN_START + datetime.timedelta(days=1)))
        self.assertLessEqual(last, str(PLAN_START + datetime.timedelta(days=10)))

    def test_lead_units_report_monthly_some_late_some_missing(self):
        names = ",".join(f"'{n}'" for n in NEVER_REPORT)
        # Every report is its lead unit's, marked, dated in the past, written on its day.
        self.assertEqual(self.q(
            "SELECT count(*) FILTER (WHERE l.unit_id IS DISTINCT FROM t.lead_unit_id), "
            f"count(*) FILTER (WHERE l.reporter IS DISTINCT FROM '{MARKER}'), "
            "count(*) FILTER (WHERE l.reported_on >= current_date OR l.created_at::date <> l.reported_on) "
            "FROM progress_log l JOIN task t ON t.id = l.task_id"), [["0", "0", "0"]])
        self.assertEqual(self.one(f"SELECT count(*) FROM progress_log l JOIN unit u ON u.id = l.unit_id "
                                  f"WHERE u.name IN ({names})"), "0")
        # At most one report a month per task; most of the tasks report every month.
        self.assertEqual(self.one("SELECT count(*) FROM (SELECT 1 FROM progress_log GROUP BY task_id, "
                                  "date_trunc('month', reported_on) HAVING count(*) > 1) x"), "0")
        reporting = int(self.one(f"SELECT count(*) FROM task t JOIN unit u ON u.id = t.lead_unit_id "
                                 f"WHERE u.name NOT IN ({names}) AND t.path <> '{{1,5,2}}'"))
        months = {m: int(n) for m, n in self.q(
            "SELECT to_char(reported_on, 'YYYY-MM'), count(*) FROM progress_log "
            "WHERE task_id <> (SELECT id FROM task WHERE path = '{1,5,2}') GROUP BY 1")}
        last_month = month_start(self.today, 1)
        expected = []
        m = month_start(PLAN_START)
        while m <= last_month:
            expected.append(m.strftime("%Y-%m"))
            m = month_start(m, -1)
        self.assertEqual(sorted(months), expected)
        for month, n in months.items():
            self.assertGreaterEqual(n, reporting * 3 // 4, month)
            self.assertLessEqual(n, reporting, month)
        self.assertLess(months[last_month.strftime("%Y-%m")], reporting, "some lead units missed last month")
        late = int(self.one("SELECT count(*) FROM progress_log WHERE extract(day FROM reported_on) > 28"))
        total = int(self.one("SELECT count(*) FROM progress_log"))
        self.assertGreater(late, 0)
        self.assertLess(late, total // 4)
        # Each task's progress and status are its latest report's.
        self.assertEqual(self.one(
            "SELECT count(*) FROM task t JOIN LATERAL (SELECT percent FROM progress_log l WHERE l.task_id = t.id "
            "ORDER BY reported_on DESC, id DESC LIMIT 1) l ON true "
            "WHERE t.progress <> l.percent OR t.status NOT IN ('in_progress', 'done')"), "0")

    def test_two_closure_requests_one_verified_one_rejected(self):
        rows = self.q("SELECT array_to_string(t.path, '.'), c.state, c.progress_log_id IS NOT NULL, "
                      "c.created_at < c.decided_at, c.decided_at::date, c.decided_by, c.evidence LIKE '【示例数据】%', "
                      "c.comment IS NOT NULL, c.unit_id = t.lead_unit_id, t.status, t.progress, t.closed_on "
                      "FROM closure_request c JOIN task t ON t.id = c.task_id ORDER BY c.id")
        self.assertEqual(len(rows), 2, rows)
        verified, rejected = rows
        self.assertEqual(verified, ["1.5.2", "verified", "t", "t", "2018-12-28", "督查室（示例数据）", "t", "t", "t",
                                    "done", "100", "2018-12-28"])
        self.assertEqual(rejected, ["1.1.1", "rejected", "f", "t", rejected[4], "督查室（示例数据）", "t", "t", "t",
                                    "in_progress", rejected[10], ""])
        self.assertLess(rejected[4], str(self.today))
        # The verified one was filed by the lead unit's report of status done.
        self.assertEqual(self.q("SELECT l.status, l.percent, l.reported_on FROM closure_request c "
                                "JOIN progress_log l ON l.id = c.progress_log_id"), [["done", "100", "2018-12-24"]])
        # No report came after the rejection.
        self.assertEqual(self.one("SELECT count(*) FROM progress_log l JOIN closure_request c ON c.task_id = l.task_id "
                                  "WHERE c.state = 'rejected' AND l.created_at > c.decided_at"), "0")

    def test_two_urges_one_answered_one_past_its_reply_date(self):
        rows = self.q("SELECT array_to_string(t.path, '.'), u.unit_id = t.lead_unit_id, u.message LIKE '【示例数据】%', "
                      "u.reply_by < current_date, u.reply IS NOT NULL, u.replied_at::date <= u.reply_by, "
                      "u.created_at::date < u.reply_by FROM urge u JOIN task t ON t.id = u.task_id ORDER BY u.id")
        self.assertEqual(rows, [["2.2.1.2", "t", "t", "t", "t", "t", "t"],
                                ["1.7.2.4", "t", "t", "t", "f", "", "t"]])

    def test_tasks_show_the_loop(self):
        done = self.task("1.5.2")
        self.assertEqual((done["status"], done["progress"], done["warning"], done["closure"]["state"]),
                         ("done", 100, "none", "verified"))
        sent_back = self.task("1.1.1")
        self.assertEqual(sent_back["closure"]["state"], "rejected")
        self.assertEqual(sent_back["warning"], "yellow")
        self.assertIn("closure_rejected", [r["code"] for r in sent_back["warning_reasons"]])
        silent = self.task("1.7.2.4")
        self.assertEqual(silent["warning"], "yellow")
        self.assertLessEqual({"urge_unanswered", "report_missing"}, {r["code"] for r in silent["warning_reasons"]})
        answered = self.task("2.2.1.2")
        self.assertNotIn("urge_unanswered", [r["code"] for r in answered["warning_reasons"]])
        lead = answered["units"][0]
        self.assertEqual(lead["role"], "lead")
        self.assertIsNotNone(lead["acknowledged_at"])
        # Red (overdue) and yellow tasks, and most with no warning at all.
        r = self.request("GET", f"{API}/tasks?limit=500&fields=path,warning")
        self.assertEqual(r.status, 200, r)
        colours = [t["warning"] for t in r.json()["items"]]
        self.assertGreater(colours.count("red"), 0)
        self.assertGreater(colours.count("yellow"), 1)
        self.assertGreater(colours.count("none"), len(colours) // 2)

    def test_the_journal_names_the_sample(self):
        self.assertEqual(self.one("SELECT count(*) FROM audit_log WHERE entity IN ('progress_log', 'acknowledgement', "
                                  "'closure_request', 'urge') AND token_name IS DISTINCT FROM "
                                  "'示例数据 (seed/sample-history.sql)'"), "0")

    def test_a_second_run_adds_nothing(self):
        before = counts(self.db.url)
        messages = load_like_scripts_run(self.db.url)
        self.assertIn("already loaded; nothing added", messages)
        self.assertEqual(counts(self.db.url), before)


class RefusalTest(unittest.TestCase):
    """Databases the history must leave alone."""

    def fresh(self):
        db = Database()
        self.addCleanup(db.drop)
        out = run_duban(db.url, "migrate")
        self.assertEqual(out.returncode, 0, out.stderr)
        return db

    def apply(self, db):
        out = subprocess.run(["psql", db.url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", HISTORY],
                             capture_output=True, text=True, timeout=300)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stderr

    def test_another_plan_beside_the_seed_plan_is_refused(self):
        db = self.fresh()
        folder = tempfile.mkdtemp(prefix="duban-sample-")
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        other = os.path.join(folder, "other.txt")
        with open(other, "w", encoding="utf-8") as f:
            f.write(small_plan())
        for path in (SEED_PATH, other):
            out = run_duban(db.url, "import", path)
            self.assertEqual(out.returncode, 0, out.stderr)
        before = counts(db.url)
        self.assertIn("refused: this database holds plans other than the seed plan", self.apply(db))
        self.assertEqual(counts(db.url), before)

    def test_a_database_without_the_seed_plan_gets_nothing(self):
        db = self.fresh()
        before = counts(db.url)
        self.assertIn("is not in this database; nothing added", self.apply(db))
        self.assertEqual(counts(db.url), before)

    def test_a_seed_plan_with_reports_of_its_own_is_refused(self):
        db = self.fresh()
        self.assertEqual(run_duban(db.url, "import", SEED_PATH).returncode, 0)
        psql(db.url, "INSERT INTO progress_log (task_id, unit_id, percent, summary) "
                     "SELECT id, lead_unit_id, 10, '真实进展' FROM task WHERE lead_unit_id IS NOT NULL LIMIT 1")
        before = counts(db.url)
        self.assertIn("refused: the seed plan has a history of its own", self.apply(db))
        self.assertEqual(counts(db.url), before)


if __name__ == "__main__":
    main()
