"""Progress logs: the shared resource contract, reports only by the task's
own units, the task's progress, status and warning that follow from them,
and the lists across tasks and per task."""


from fixtures import API, BASELINE, NO_SUCH_ID, POVERTY_OFFICE, Api, CrudContract, SharedRows, day, query, ref, tag
from harness import ServerTest, main

LOGS = f"{API}/progress-logs"
TASKS = f"{API}/tasks"


def task_logs(task):
    return f"{TASKS}/{ref(task)}/progress-logs"


class ProgressLogs(CrudContract, ServerTest):
    collection = LOGS
    optional = ("problems", "资金缺口较大", None)
    long_field = "summary"
    date_param = "since"
    editor_writes = False   # api.md: progress logs are written by reporters (and admins)

    def setUp(self):
        cls = type(self)
        if not hasattr(cls, "the_task"):
            cls.unit = self.new_unit()
            cls.the_task = self.new_task(self.new_plan(), units=[cls.unit])

    def new_row(self, **overrides):
        body = {"unit_id": self.unit["id"], "reported_on": "2018-06-30", "percent": 30, "status": "in_progress",
                "summary": "已完成摸底 " + tag(), "problems": "资金缺口较大", "next_steps": "继续推进",
                "reporter": "张三"}
        body.update(overrides)
        return task_logs(self.the_task), body

    def replacement(self, doc):
        return {"task_id": doc["task_id"], "unit_id": doc["unit_id"], "percent": 55, "summary": "更新 " + tag()}

    def invalid_row(self):
        body = {"percent": 120, "status": "paused", "reported_on": "2018-06-31", "reporter": "x" * 101}
        return task_logs(self.the_task), body, ["unit_id", "percent", "status", "reported_on", "reporter", "summary"]

    def malformed_row(self):
        body = {"unit_id": "1", "percent": 50.5, "summary": ["进展"], "mood": "good"}
        return task_logs(self.the_task), body, ["unit_id", "percent", "summary", "mood"]

    def chinese(self):
        return {"summary": BASELINE, "problems": POVERTY_OFFICE + "人手不足", "reporter": "李四"}

    def page_rows(self):
        unit = self.new_unit()
        task = self.new_task(self.new_plan(), units=[unit])
        return {"task_id": task["id"]}, [self.new_log(task, unit)["id"] for _ in range(3)]

    def test_a_log_belongs_to_the_task_of_its_path(self):
        path, body = self.new_row()
        doc = self.created(path, body)
        self.assertEqual(doc["task_id"], self.the_task["id"])
        self.assertEqual(self.send("POST", path, {**body, "task_id": self.the_task["id"]}).status, 201)
        other = self.new_task(self.the_task["plan_id"], units=[self.unit])
        before = self.total(LOGS)
        self.assertProblem(self.send("POST", path, {**body, "task_id": other["id"]}), 422)
        self.assertEqual(self.total(LOGS), before)

    def test_reported_on_defaults_to_today(self):
        path, body = self.new_row()
        del body["reported_on"]
        self.assertEqual(self.created(path, body)["reported_on"], day(0))


class Reporting(Api, ServerTest):
    def setUp(self):
        self.plan = self.new_plan()
        self.lead, self.partner, self.outsider = self.new_unit(), self.new_unit(), self.new_unit()
        self.t = self.new_task(self.plan, units=[self.lead, self.partner], due_on=day(200))

    def test_a_unit_not_assigned_to_the_task_is_422(self):
        before = self.total(LOGS)
        r = self.send("POST", task_logs(self.t), {"unit_id": self.outsider["id"], "percent": 10, "summary": "x"})
        self.assertFieldErrors(r, 422, ["unit_id"])
        r = self.send("POST", task_logs(self.t), {"unit_id": NO_SUCH_ID, "percent": 10, "summary": "x"})
        p = self.assertFieldErrors(r, 422, ["unit_id"])
        self.assertIn(f"is not one of the units of task {self.t['id']}", p["errors"][0]["message"])
        # found by the database, reported with the fields found invalid before it
        r = self.send("POST", task_logs(self.t), {"unit_id": self.outsider["id"], "percent": 150, "summary": "x"})
        self.assertFieldErrors(r, 422, ["percent", "unit_id"])
        self.assertEqual(self.total(LOGS), before)
        self.assertEqual(self.task(self.t)["progress"], 0)
        log = self.new_log(self.t, self.partner)
        self.assertFieldErrors(self.send("PATCH", f"{LOGS}/{log['id']}", {"unit_id": self.outsider["id"]}),
                               422, ["unit_id"])
        self.assertEqual(self.fetch(f"{LOGS}/{log['id']}")["unit_id"], self.partner["id"])

    def test_a_log_on_a_missing_task_is_404(self):
        before = self.total(LOGS)
        r = self.send("POST", task_logs(NO_SUCH_ID), {"unit_id": self.lead["id"], "percent": 10, "summary": "x"})
        self.assertProblem(r, 404, f"task {NO_SUCH_ID} does not exist")
        self.assertProblem(self.request("GET", task_logs(NO_SUCH_ID)), 404)
        self.assertEqual(self.total(LOGS), before)

    def test_moving_a_log_to_a_missing_task_is_422(self):
        log = self.new_log(self.t, self.lead)
        self.assertFieldErrors(self.send("PATCH", f"{LOGS}/{log['id']}", {"task_id": NO_SUCH_ID}), 422, ["task_id"])

    def test_a_log_cannot_move_to_another_task(self):
        log = self.new_log(self.t, self.lead)
        other = self.new_task(self.plan, units=[self.lead])
        r = self.send("PATCH", f"{LOGS}/{log['id']}", {"task_id": other["id"]}, "application/merge-patch+json")
        p = self.assertProblem(r, 422)
        self.assertIn("task_id", {e["field"] for e in p["errors"]})
        self.assertEqual(self.fetch(f"{LOGS}/{log['id']}")["task_id"], self.t["id"])

    def test_a_log_sets_the_tasks_progress_and_status(self):
        self.assertEqual((self.t["progress"], self.t["status"], self.t["version"]), (0, "not_started", 1))
        self.new_log(self.t, self.partner, percent=40, reported_on=day(-3))
        t = self.task(self.t)
        self.assertEqual((t["progress"], t["status"], t["version"]), (40, "not_started", 2))
        self.new_log(self.t, self.lead, percent=65, status="in_progress", reported_on=day(-1))
        t = self.task(self.t)
        self.assertEqual((t["progress"], t["status"], t["version"]), (65, "in_progress", 3))
        self.assertEqual(self.request("GET", f"{TASKS}/{self.t['id']}", headers={"If-None-Match": '"2"'}).status, 200)

    def test_progress_comes_from_the_latest_report(self):
        newest = self.new_log(self.t, self.lead, percent=70, reported_on=day(-1))
        self.new_log(self.t, self.partner, percent=20, reported_on=day(-20))
        self.assertEqual(self.task(self.t)["progress"], 70)
        self.changed("PATCH", f"{LOGS}/{newest['id']}", {"percent": 80})
        self.assertEqual(self.task(self.t)["progress"], 80)
        self.assertEqual(self.request("DELETE", f"{LOGS}/{newest['id']}").status, 204)
        self.assertEqual(self.task(self.t)["progress"], 20)

    def test_done_report_clears_the_warning(self):
        # a plan whose tasks close without verification (supervision.md)
        plan = self.new_plan(supervision={"requires_verification": False})
        late = self.new_task(plan, units=[self.lead], due_on=day(-3))
        self.assertEqual(late["warning"], "red")
        self.new_log(late, self.lead, percent=100, status="done")
        t = self.task(late)
        self.assertEqual((t["status"], t["progress"], t["warning"]), ("done", 100, "none"))
        self.assertNotIn(late["id"], self.ids(TASKS, {"plan_id": plan["id"], "overdue": "true"}))

    def test_warning_is_derived_from_due_on_and_status(self):
        # due today with no progress: 100 % was expected, so behind schedule
        cases = [(day(-3), "not_started", "red"), (day(-40), "in_progress", "red"),
                 (day(0), "not_started", "yellow"), (day(10), "in_progress", "blue"),
                 (day(28), "not_started", "blue"), (day(33), "not_started", "none"),
                 (None, "in_progress", "none"), (day(-3), "done", "none"), (day(-3), "cancelled", "none"),
                 (day(5), "cancelled", "none")]
        for due_on, status, warning in cases:
            with self.subTest(due_on=due_on, status=status):
                t = self.new_task(self.plan, due_on=due_on, status=status)
                self.assertEqual(t["warning"], warning)
                self.assertEqual(self.task(t)["warning"], warning)
        moved = self.new_task(self.plan, due_on=day(-3))
        self.assertEqual(self.changed("PATCH", f"{TASKS}/{moved['id']}", {"due_on": day(100)})["warning"], "none")
        self.assertEqual(self.changed("PATCH", f"{TASKS}/{moved['id']}", {"due_on": day(3)})["warning"], "blue")
        self.assertEqual(self.changed("PATCH", f"{TASKS}/{moved['id']}", {"due_on": None})["warning"], "none")

    def test_a_task_status_without_a_log_status_is_kept(self):
        t = self.new_task(self.plan, units=[self.lead], status="in_progress")
        self.new_log(t, self.lead, percent=50)
        self.assertEqual(self.task(t)["status"], "in_progress")


class ReporterTokens(Api, ServerTest):
    """A reporter is bound to one unit: it reports on that unit's tasks and
    edits only that unit's logs."""

    def setUp(self):
        self.plan = self.new_plan()
        self.mine, self.other = self.new_unit(), self.new_unit()
        self.led = self.new_task(self.plan, units=[self.mine])
        self.shared = self.new_task(self.plan, units=[self.other, self.mine])
        self.foreign = self.new_task(self.plan, units=[self.other])
        self.auth = {"Authorization": "Bearer " + self.make_token("reporter", self.mine["id"])}

    def report(self, task, unit, **fields):
        body = {"unit_id": ref(unit), "percent": 20, "summary": "进展 " + tag(), **fields}
        return self.send("POST", task_logs(task), body, headers=self.auth)

    def test_a_reporter_reports_for_its_unit(self):
        for task in (self.led, self.shared):
            r = self.report(task, self.mine, percent=35)
            self.assertEqual(r.status, 201, r)
            self.assertEqual(self.task(task)["progress"], 35)
        mine = self.report(self.led, self.mine).json()
        r = self.send("PATCH", f"{LOGS}/{mine['id']}", {"percent": 45}, headers=self.auth)
        self.assertEqual((r.status, r.json()["percent"]), (200, 45))
        self.assertEqual(self.request("DELETE", f"{LOGS}/{mine['id']}", headers=self.auth).status, 204)

    def test_a_reporter_may_not_report_for_another_unit_403(self):
        before = self.total(LOGS)
        self.assertProblem(self.report(self.shared, self.other), 403)
        self.assertProblem(self.report(self.foreign, self.other), 403)
        # its own unit, on a task that unit is not assigned to
        self.assertProblem(self.report(self.foreign, self.mine), 403,
                           f"unit {self.mine['id']} is not assigned to task {self.foreign['id']}")
        self.assertEqual(self.total(LOGS), before)
        self.assertEqual([self.task(t)["progress"] for t in (self.shared, self.foreign)], [0, 0])

    def test_a_reporter_may_not_edit_another_units_log_403(self):
        theirs = self.new_log(self.shared, self.other, percent=30)
        item = f"{LOGS}/{theirs['id']}"
        self.assertProblem(self.send("PATCH", item, {"percent": 99}, headers=self.auth), 403)
        self.assertProblem(self.send("PUT", item, {"task_id": self.shared["id"], "unit_id": self.mine["id"],
                                                   "percent": 99, "summary": "x"}, headers=self.auth), 403)
        self.assertProblem(self.request("DELETE", item, headers=self.auth), 403)
        self.assertEqual(self.fetch(item), theirs)

    def test_a_reporter_reads_everything_and_writes_nothing_else(self):
        self.assertEqual(self.request("GET", f"{TASKS}/{self.foreign['id']}", headers=self.auth).status, 200)
        self.assertEqual(self.request("GET", LOGS, headers=self.auth).status, 200)
        self.assertProblem(self.send("POST", TASKS, {"plan_id": self.plan["id"], "title": tag()}, headers=self.auth),
                           403)
        self.assertProblem(self.send("PATCH", f"{TASKS}/{self.led['id']}", {"status": "done"}, headers=self.auth), 403)
        self.assertEqual(self.task(self.led)["status"], "not_started")


class Lists(SharedRows, Api, ServerTest):
    def build_rows(self, cls):
        plan = self.new_plan()
        cls.u1, cls.u2 = self.new_unit(), self.new_unit()
        cls.t1 = self.new_task(plan, units=[cls.u1, cls.u2])
        cls.t2 = self.new_task(plan, units=[cls.u2])
        cls.a = self.new_log(cls.t1, cls.u1, reported_on="2018-03-10", percent=10)
        cls.b = self.new_log(cls.t1, cls.u2, reported_on="2018-06-20", percent=40)
        cls.c = self.new_log(cls.t2, cls.u2, reported_on="2018-05-01", percent=90)
        cls.d = self.new_log(cls.t1, cls.u1, reported_on="2018-09-30", percent=60)

    def expect(self, path, params, *logs):
        with self.subTest(path=path, params=params):
            page = self.listing(path, params)
            self.assertEqual([i["id"] for i in page["items"]], [log["id"] for log in logs])
            self.assertEqual(page["total"], len(logs))

    def test_filters_across_tasks(self):
        self.expect(LOGS, {"task_id": self.t1["id"]}, self.a, self.b, self.d)
        self.expect(LOGS, {"task_id": self.t2["id"]}, self.c)
        self.expect(LOGS, {"unit_id": self.u2["id"]}, self.b, self.c)
        self.expect(LOGS, {"unit_id": self.u1["id"], "task_id": self.t1["id"]}, self.a, self.d)
        self.expect(LOGS, {"unit_id": self.u2["id"], "since": "2018-05-15"}, self.b)
        self.expect(LOGS, {"unit_id": self.u1["id"], "until": "2018-06-30"}, self.a)
        self.expect(LOGS, {"task_id": self.t1["id"], "since": "2018-04-01", "until": "2018-12-31"}, self.b, self.d)
        self.expect(LOGS, {"task_id": self.t1["id"], "since": "2019-01-01"})

    def test_sorts(self):
        self.expect(LOGS, {"task_id": self.t1["id"], "sort": "-reported_on"}, self.d, self.b, self.a)
        self.expect(LOGS, {"unit_id": self.u2["id"], "sort": "-percent"}, self.c, self.b)
        self.expect(LOGS, {"task_id": self.t1["id"], "sort": "percent"}, self.a, self.b, self.d)

    def test_logs_of_one_task(self):
        self.expect(task_logs(self.t1), {}, self.a, self.b, self.d)
        self.expect(task_logs(self.t1), {"unit_id": self.u1["id"]}, self.a, self.d)
        page = self.listing(task_logs(self.t1), {"until": "2018-06-20", "limit": 1, "offset": 1})
        self.assertEqual(([i["id"] for i in page["items"]], page["total"]), ([self.b["id"]], 2))
        self.expect(task_logs(self.t2), {}, self.c)
        self.assertFieldErrors(self.request("GET", query(task_logs(self.t1), {"task_id": self.t2["id"]})),
                               400, ["task_id"])

    def test_bad_parameters_are_400_naming_each(self):
        bad = {"task_id": "0", "unit_id": "abc", "since": "2018-02-30", "until": "June", "q": "进展"}
        for name, value in bad.items():
            with self.subTest(name=name):
                self.assertFieldErrors(self.request("GET", query(LOGS, {name: value})), 400, [name])
        self.assertFieldErrors(self.request("GET", query(LOGS, bad)), 400, list(bad))


if __name__ == "__main__":
    main()
