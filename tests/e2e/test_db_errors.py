"""What a failed SQL statement answers: a value breaking a rule of the data
is the client's (409 for a value taken, 422 otherwise, naming the field
when it can be known; 409 for a delete of a row still referenced), and an
unexpected SQLSTATE is a defect: 500, never 503, logged with the request
id. Only an unreachable or timed-out database is a 503 (test_faults.py).

Rules that duban validates before writing are added to the test database
(a CHECK, a NOT NULL, a narrower type), so that the database is the one to
refuse; a defect comes from a table renamed, or a column dropped, under
the server's feet."""

import uuid

from fixtures import API, NO_SUCH_ID, Api, tag
from harness import ServerTest, main


class RuleStatuses(Api, ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db.query("ALTER TABLE leader DROP CONSTRAINT leader_contact_check, "
                     "ADD CONSTRAINT leader_contact_check CHECK (contact NOT LIKE '%forbidden%')")
        cls.db.query("ALTER TABLE plan ALTER COLUMN issuer SET NOT NULL")
        cls.db.query("ALTER TABLE leader ALTER COLUMN title TYPE varchar(10)")

    def assertNamed(self, r, status, fields):
        p = self.assertFieldErrors(r, status, fields)
        self.assertIsNone(r.header("retry-after"))
        return p

    def test_a_taken_value_is_409_naming_the_field(self):
        unit, leader = self.new_unit(), self.new_leader()
        self.assertNamed(self.send("POST", f"{API}/units", {"name": unit["name"]}), 409, ["name"])
        self.assertNamed(self.send("POST", f"{API}/leaders", {"name": leader["name"]}), 409, ["name"])
        number = f"测试〔2099〕{uuid.uuid4().hex[:8]}号"
        self.new_plan(doc_number=number, issuer="区委")
        r = self.send("POST", f"{API}/plans", {"title": tag(), "doc_number": number, "issuer": "区委"})
        self.assertNamed(r, 409, ["doc_number"])

    def test_a_reference_to_nothing_is_422_naming_the_field(self):
        r = self.send("POST", f"{API}/tokens", {"name": tag(), "role": "reporter", "unit_id": NO_SUCH_ID})
        self.assertNamed(r, 422, ["unit_id"])

    def test_a_broken_check_is_422_naming_the_field(self):
        r = self.send("POST", f"{API}/leaders", {"name": tag(), "contact": "forbidden number"})
        self.assertNamed(r, 422, ["contact"])

    def test_a_missing_value_is_422_naming_the_field(self):
        self.assertNamed(self.send("POST", f"{API}/plans", {"title": tag()}), 422, ["issuer"])

    def test_a_value_the_column_cannot_hold_is_422(self):
        r = self.send("POST", f"{API}/leaders", {"name": tag(), "title": "职务" * 10})
        p = self.assertProblem(r, 422)
        self.assertIsNone(r.header("retry-after"))
        self.assertNotIn("varchar", p["detail"])

    def test_deleting_a_row_still_referenced_is_409_without_field_errors(self):
        unit = self.new_unit()
        self.created(f"{API}/tokens", {"name": tag(), "role": "reporter", "unit_id": unit["id"]})
        p = self.assertProblem(self.request("DELETE", f"{API}/units/{unit['id']}"), 409)
        self.assertNotIn("errors", p)


class DefectStatuses(Api, ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # made while the schema is whole: once it is broken, every write's
        # change events (rendered with every resource's SQL) fail too
        r = cls.server.request("POST", f"{API}/units", json_body={"name": "单位 " + tag()})
        if r.status != 201:
            raise AssertionError(f"a unit could not be made: {r}")
        cls.unit = r.json()
        cls.db.query("ALTER TABLE task_unit RENAME TO task_unit_moved")
        cls.db.query("ALTER TABLE leader DROP COLUMN contact")

    def assertDefect(self, method, path, body=None):
        rid = "defect-" + uuid.uuid4().hex[:16]
        r = self.send(method, path, body, headers={"X-Request-Id": rid})
        p = self.assertProblem(r, 500)
        self.assertIsNone(r.header("retry-after"))
        for secret in ("task_unit", "contact", "relation", "column"):
            self.assertNotIn(secret, p["detail"])
        logged = [line for line in self.server.read_log().splitlines()
                  if f"request_id={rid}" in line and "database error" in line]
        self.assertEqual(len(logged), 1, self.server.read_log()[-2000:])

    def test_an_unexpected_sqlstate_in_a_delete_is_500_not_503(self):
        self.assertDefect("DELETE", f"{API}/units/{self.unit['id']}")

    def test_an_unexpected_sqlstate_in_a_create_is_500(self):
        self.assertDefect("POST", f"{API}/leaders", {"name": tag()})


class QueuedStatementFails(Api, ServerTest):
    """A write sends the statements whose results it does not need with the
    next one that waits (model/db.c): a progress log's update of its task
    goes out with the render and the commit. When that statement fails, the
    whole write is undone and answered as its failure, and the connection
    serves the next write: a statement whose preparation failed in that
    round trip is prepared again, not run by a name the database lacks."""

    def count(self, sql):
        return int(self.db.query(sql)[0][0])

    def test_a_failed_task_update_undoes_the_log_and_the_connection_goes_on(self):
        plan, unit = self.new_plan(), self.new_unit()
        task = self.new_task(plan, units=[unit])
        events = f"SELECT count(*) FROM change_event WHERE entity = 'progress_log' AND plan_id = {plan['id']}"
        for round_ in range(3):
            # the update of the task names progress: it cannot be prepared, nor run
            self.db.query("ALTER TABLE task RENAME COLUMN progress TO progress_moved")
            rid = "queued-" + uuid.uuid4().hex[:16]
            r = self.send("POST", f"{API}/tasks/{task['id']}/progress-logs",
                          {"unit_id": unit["id"], "percent": 30, "summary": "refused"}, headers={"X-Request-Id": rid})
            self.db.query("ALTER TABLE task RENAME COLUMN progress_moved TO progress")
            self.assertProblem(r, 500)
            self.assertEqual(self.count(f"SELECT count(*) FROM progress_log WHERE task_id = {task['id']}"), round_)
            self.assertEqual(self.count(events), round_)
            self.assertTrue(any(f"request_id={rid}" in line and "progress" in line and "database error" in line
                                for line in self.server.read_log().splitlines()))
            log = self.new_log(task, unit, percent=40 + round_, summary="accepted")
            self.assertEqual(log["percent"], 40 + round_)
            self.assertEqual(self.fetch(f"{API}/tasks/{task['id']}")["progress"], 40 + round_)
        self.assertEqual(self.count(events), 3)


if __name__ == "__main__":
    main()
