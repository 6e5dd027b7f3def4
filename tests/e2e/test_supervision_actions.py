"""The actions of the supervision loop (supervision.md): a plan's supervision
settings and a task's own cadence; acknowledgements (签收); closure requests
and their decisions (办结 → 核查 → 销号), also filed by a lead unit's "done"
report when the plan requires verification; urges and replies (催办). Every
route with its statuses and roles, Idempotency-Key, and the journal rows
each action leaves."""

import uuid

from fixtures import API, NO_SUCH_ID, Api, day, query, ref, tag
from harness import ServerTest, main

TASKS = f"{API}/tasks"
PLANS = f"{API}/plans"
CLOSURES = f"{API}/closure-requests"
URGES = f"{API}/urges"
AUDIT = f"{API}/audit"
DEFAULTS = {"report_cadence": "monthly", "report_day": 28, "near_due_days": 30, "lag_points": 20,
            "requires_verification": True}
CLOSURE_MEMBERS = {"id", "task_id", "unit_id", "summary", "evidence", "state", "created_at", "decided_at",
                   "decided_by", "comment", "progress_log_id", "updated_at", "version"}
URGE_MEMBERS = {"id", "task_id", "unit_id", "message", "reply_by", "created_at", "reply", "replied_at",
                "updated_at", "version"}
RFC3339_UTC = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"


def acks(task):
    return f"{TASKS}/{ref(task)}/acknowledgements"


def closures(task):
    return f"{TASKS}/{ref(task)}/closure-requests"


def urges(task):
    return f"{TASKS}/{ref(task)}/urges"


def decision(request):
    return f"{CLOSURES}/{ref(request)}/decision"


def reply(urge):
    return f"{URGES}/{ref(urge)}/reply"


class Loop(Api, ServerTest):
    """A plan, three units and a task led by `lead` with `partner`; tokens of
    every role (the reporters bound to lead and to partner)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tokens = {}

    def setUp(self):
        super().setUp()
        self.plan = self.new_plan()
        self.lead, self.partner, self.outsider = self.new_unit(), self.new_unit(), self.new_unit()
        self.t = self.new_task(self.plan, units=[self.lead, self.partner], due_on=day(200))

    def token(self, role, unit=None):
        """A token of this role (a reporter bound to unit), made once per class."""
        key = (role, ref(unit) if unit is not None else None)
        if key not in self.tokens:
            name = f"{role}-{uuid.uuid4().hex[:8]}"
            self.tokens[key] = (name, self.make_token(role, unit_id=key[1], name=name))
        return self.tokens[key]

    def act(self, path, body, role="admin", unit=None, headers=None):
        """POST body to path as a token of role (admin: the class's own)."""
        headers = dict(headers or {})
        if role != "admin":
            headers["Authorization"] = "Bearer " + self.token(role, unit)[1]
        return self.send("POST", path, body, headers=headers)

    def acted(self, path, body, status, **kw):
        r = self.act(path, body, **kw)
        self.assertEqual(r.status, status, r)
        return r.json()

    def request_closure(self, task=None, unit=None, **fields):
        body = {"unit_id": ref(unit or self.lead), "summary": "已全部完成 " + tag(), **fields}
        return self.acted(closures(task or self.t), body, 201)

    def urge(self, task=None, unit=None, **fields):
        body = {"unit_id": ref(unit or self.lead), "message": "请加快进度 " + tag(), "reply_by": day(7), **fields}
        return self.acted(urges(task or self.t), body, 201)

    def journal(self, r):
        """(entity, action) of the journal rows the request of answer r wrote, in order."""
        rows = self.listing(AUDIT, {"request_id": r.header("x-request-id"), "sort": "id"})["items"]
        return [(row["entity"], row["action"]) for row in rows]

    def count(self, table, where="true"):
        return int(self.db.query(f"SELECT count(*) FROM {table} WHERE {where}")[0][0])

    def assertIdempotent(self, path, body, status, role="admin", unit=None):
        """The first POST with a key answers `status`; a retry with the key
        answers the same status and document (Idempotent-Replayed) and
        writes nothing; the key with another body is a 422."""
        key = tag("key")
        first = self.act(path, body, role=role, unit=unit, headers={"Idempotency-Key": key})
        self.assertEqual(first.status, status, first)
        journal_rows = self.count("audit_log")
        again = self.act(path, body, role=role, unit=unit, headers={"Idempotency-Key": key})
        self.assertEqual(again.status, status, again)
        self.assertEqual(again.header("idempotent-replayed"), "true")
        self.assertEqual(again.json(), first.json())
        self.assertEqual(self.count("audit_log"), journal_rows)
        other = {k: v + " 改" if isinstance(v, str) and k not in ("reply_by", "decision") else v
                 for k, v in body.items()}
        if other == body:
            other = dict(body, unit_id=NO_SUCH_ID)
        self.assertProblem(self.act(path, other, role=role, unit=unit, headers={"Idempotency-Key": key}), 422)
        self.assertEqual(self.count("audit_log"), journal_rows)
        return first.json()


class PlanSettings(Loop):
    def test_a_new_plan_has_the_defaults_stored_in_its_columns(self):
        self.assertEqual(self.plan["supervision"], DEFAULTS)
        self.assertEqual(self.fetch(f"{PLANS}/{self.plan['id']}")["supervision"], DEFAULTS)
        plan = self.new_plan(supervision={"report_cadence": "weekly", "report_day": 5})
        self.assertEqual(plan["supervision"], {**DEFAULTS, "report_cadence": "weekly", "report_day": 5})
        row = self.db.query(f"SELECT report_cadence, report_day, near_due_days, lag_points, requires_verification "
                            f"FROM plan WHERE id = {plan['id']}")
        self.assertEqual(row, [["weekly", "5", "30", "20", "t"]])

    def test_every_setting_is_written(self):
        settings = {"report_cadence": "quarterly", "report_day": 15, "near_due_days": 0, "lag_points": 100,
                    "requires_verification": False}
        plan = self.new_plan(supervision=settings)
        self.assertEqual(plan["supervision"], settings)
        self.assertEqual(self.fetch(f"{PLANS}/{plan['id']}"), plan)

    def test_a_patch_merges_into_the_current_settings(self):
        path = f"{PLANS}/{self.plan['id']}"
        plan = self.changed("PATCH", path, {"supervision": {"lag_points": 10, "report_day": 25}},
                            "application/merge-patch+json")
        self.assertEqual(plan["supervision"], {**DEFAULTS, "lag_points": 10, "report_day": 25})
        self.assertEqual(plan["version"], 2)
        plan = self.changed("PATCH", path, {"title": "改名 " + tag()})
        self.assertEqual(plan["supervision"]["lag_points"], 10)
        plan = self.changed("PATCH", path, {"supervision": {"lag_points": None}}, "application/merge-patch+json")
        self.assertEqual(plan["supervision"], {**DEFAULTS, "report_day": 25})

    def test_a_replacement_without_settings_takes_the_defaults(self):
        path = f"{PLANS}/{self.plan['id']}"
        self.changed("PATCH", path, {"supervision": {"requires_verification": False}})
        plan = self.changed("PUT", path, {"title": self.plan["title"]})
        self.assertEqual(plan["supervision"], DEFAULTS)
        plan = self.changed("PUT", path, {"title": self.plan["title"], "supervision": {"near_due_days": 7}})
        self.assertEqual(plan["supervision"], {**DEFAULTS, "near_due_days": 7})
        got = self.fetch(path)
        self.assertEqual(self.changed("PUT", path, got)["supervision"], got["supervision"])

    def test_bad_values_are_422_naming_every_member(self):
        body = {"supervision": {"report_cadence": "daily", "report_day": 0, "near_due_days": -1, "lag_points": 101}}
        before = self.total(PLANS)
        self.assertFieldErrors(self.send("POST", PLANS, body), 422,
                               ["title", "supervision.report_cadence", "supervision.report_day",
                                "supervision.near_due_days", "supervision.lag_points"])
        self.assertFieldErrors(self.send("POST", PLANS, {"title": "方案", "supervision": {"report_day": 32,
                                                                                            "near_due_days": 3651}}),
                               422, ["supervision.report_day", "supervision.near_due_days"])
        self.assertEqual(self.total(PLANS), before)
        r = self.send("PATCH", f"{PLANS}/{self.plan['id']}", {"ends_on": "2000-01-01", "starts_on": "2001-01-01",
                                                              "supervision": {"lag_points": -5}})
        self.assertFieldErrors(r, 422, ["ends_on", "supervision.lag_points"])
        self.assertEqual(self.fetch(f"{PLANS}/{self.plan['id']}")["version"], 1)

    def test_wrong_types_and_unknown_members_are_400_naming_every_member(self):
        body = {"title": "方案", "supervision": {"report_day": "28", "requires_verification": "yes", "colour": 1,
                                                  "report_cadence": 7}}
        self.assertFieldErrors(self.send("POST", PLANS, body), 400,
                               ["supervision.report_day", "supervision.requires_verification", "supervision.colour",
                                "supervision.report_cadence"])
        self.assertFieldErrors(self.send("POST", PLANS, {"title": "方案", "supervision": 5}), 400, ["supervision"])
        self.assertFieldErrors(self.send("PATCH", f"{PLANS}/{self.plan['id']}", {"supervision": ["weekly"]}), 400,
                               ["supervision"])

    def test_a_weekly_cadence_reports_on_a_weekday(self):
        r = self.send("POST", PLANS, {"title": "方案", "supervision": {"report_cadence": "weekly", "report_day": 10}})
        self.assertFieldErrors(r, 422, ["supervision.report_day"])
        r = self.send("POST", PLANS, {"title": "方案", "supervision": {"report_cadence": "weekly"}})
        self.assertFieldErrors(r, 422, ["supervision.report_day"])
        path = f"{PLANS}/{self.plan['id']}"
        r = self.send("PATCH", path, {"supervision": {"report_cadence": "weekly"}})
        self.assertFieldErrors(r, 422, ["supervision.report_day"])
        plan = self.changed("PATCH", path, {"supervision": {"report_cadence": "weekly", "report_day": 7}})
        self.assertEqual(plan["supervision"]["report_day"], 7)
        r = self.send("PATCH", path, {"supervision": {"report_day": 8}})
        self.assertFieldErrors(r, 422, ["supervision.report_day"])
        plan = self.changed("PATCH", path, {"supervision": {"report_cadence": "monthly", "report_day": 31}})
        self.assertEqual(plan["supervision"], {**DEFAULTS, "report_day": 31})

    def test_a_task_may_have_its_own_cadence(self):
        self.assertIsNone(self.t["report_cadence"])
        task = self.new_task(self.plan, report_cadence="quarterly")
        self.assertEqual(task["report_cadence"], "quarterly")
        path = f"{TASKS}/{task['id']}"
        self.assertEqual(self.changed("PATCH", path, {"title": "改 " + tag()})["report_cadence"], "quarterly")
        self.assertEqual(self.changed("PATCH", path, {"report_cadence": "weekly"})["report_cadence"], "weekly")
        self.assertIsNone(self.changed("PATCH", path, {"report_cadence": None})["report_cadence"])
        self.assertFieldErrors(self.send("PATCH", path, {"report_cadence": "daily"}), 422, ["report_cadence"])
        self.assertFieldErrors(self.send("PATCH", path, {"report_cadence": 1}), 400, ["report_cadence"])
        self.assertEqual(self.db.query(f"SELECT report_cadence IS NULL FROM task WHERE id = {task['id']}"), [["t"]])


class Acknowledgements(Loop):
    def test_the_first_signature_is_201_and_the_next_200_with_the_same_answer(self):
        r = self.act(acks(self.t), {"unit_id": self.lead["id"]})
        self.assertEqual(r.status, 201, r)
        first = r.json()
        self.assertEqual(set(first), {"task_id", "unit_id", "acknowledged_at"})
        self.assertEqual((first["task_id"], first["unit_id"]), (self.t["id"], self.lead["id"]))
        self.assertRegex(first["acknowledged_at"], RFC3339_UTC)
        self.assertEqual(r.header("location"), f"{TASKS}/{self.t['id']}")
        again = self.act(acks(self.t), {"unit_id": self.lead["id"]}, role="editor")
        self.assertEqual(again.status, 200, again)
        self.assertEqual(again.json(), first)
        self.assertIsNone(again.header("idempotent-replayed"))
        self.assertEqual(again.header("location"), f"{TASKS}/{self.t['id']}")
        self.assertEqual(self.count("acknowledgement", f"task_id = {self.t['id']}"), 1)
        units = {u["id"]: u["acknowledged_at"] for u in self.task(self.t)["units"]}
        self.assertEqual(units, {self.lead["id"]: first["acknowledged_at"], self.partner["id"]: None})

    def test_a_unit_not_assigned_to_the_task_is_422(self):
        for unit in (self.outsider["id"], NO_SUCH_ID):
            self.assertFieldErrors(self.act(acks(self.t), {"unit_id": unit}), 422, ["unit_id"])
        self.assertEqual(self.count("acknowledgement", f"task_id = {self.t['id']}"), 0)

    def test_the_body_is_checked(self):
        self.assertFieldErrors(self.act(acks(self.t), {}), 422, ["unit_id"])
        self.assertFieldErrors(self.act(acks(self.t), {"unit_id": 0}), 422, ["unit_id"])
        self.assertFieldErrors(self.act(acks(self.t), {"unit_id": "1", "signed": True}), 400, ["unit_id", "signed"])
        self.assertProblem(self.send("POST", acks(self.t), [self.lead["id"]]), 400)
        self.assertProblem(self.send("POST", acks(self.t), {"unit_id": self.lead["id"]}, "text/plain"), 415)
        self.assertProblem(self.send("POST", acks(self.t) + "?force=true", {"unit_id": self.lead["id"]}), 400)

    def test_a_missing_task_is_404(self):
        self.assertProblem(self.act(acks(NO_SUCH_ID), {"unit_id": self.lead["id"]}), 404)
        self.assertProblem(self.act(acks("abc"), {"unit_id": self.lead["id"]}), 404)
        p = self.assertProblem(self.act(acks(NO_SUCH_ID), {}), 404)
        self.assertNotIn("errors", p)

    def test_a_reporter_signs_only_for_its_own_unit_and_a_reader_never(self):
        self.assertEqual(self.act(acks(self.t), {"unit_id": self.partner["id"]}, role="reporter",
                                  unit=self.partner).status, 201)
        self.assertProblem(self.act(acks(self.t), {"unit_id": self.lead["id"]}, role="reporter", unit=self.partner),
                           403)
        self.assertProblem(self.act(acks(self.t), {"unit_id": self.lead["id"]}, role="reader"), 403)
        self.assertEqual(self.count("acknowledgement", f"task_id = {self.t['id']}"), 1)
        # a reporter of a unit not on the task: refused for acting for another unit,
        # and for its own unit it is not assigned
        self.assertProblem(self.act(acks(self.t), {"unit_id": self.lead["id"]}, role="reporter", unit=self.outsider),
                           403)
        self.assertFieldErrors(self.act(acks(self.t), {"unit_id": self.outsider["id"]}, role="reporter",
                                        unit=self.outsider), 422, ["unit_id"])
        self.assertEqual(self.act(acks(self.t), {"unit_id": self.lead["id"]}, role="editor").status, 201)

    def test_idempotency_key_replays_the_first_answer_and_its_status(self):
        first = self.assertIdempotent(acks(self.t), {"unit_id": self.lead["id"]}, 201)
        self.assertEqual(first["unit_id"], self.lead["id"])
        # a key first used when the unit had signed already: 200, and 200 again on its replay
        again = self.assertIdempotent(acks(self.t), {"unit_id": self.lead["id"]}, 200)
        self.assertEqual(again, first)

    def test_the_signature_is_journaled(self):
        r = self.act(acks(self.t), {"unit_id": self.lead["id"]}, headers={"X-Request-Id": tag("ack")})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.journal(r), [("acknowledgement", "insert")])
        again = self.act(acks(self.t), {"unit_id": self.lead["id"]}, headers={"X-Request-Id": tag("ack")})
        self.assertEqual(self.journal(again), [])


class ClosureRequests(Loop):
    def test_the_lead_unit_asks_to_close_and_gets_the_request(self):
        body = {"unit_id": self.lead["id"], "summary": "已完成全部建设任务", "evidence": "验收报告（附件）"}
        r = self.act(closures(self.t), body, headers={"X-Request-Id": tag("close")})
        self.assertEqual(r.status, 201, r)
        req = r.json()
        self.assertEqual(set(req), CLOSURE_MEMBERS)
        self.assertSubset({"task_id": self.t["id"], "unit_id": self.lead["id"], "summary": body["summary"],
                           "evidence": body["evidence"], "state": "requested", "decided_at": None,
                           "decided_by": None, "comment": None, "progress_log_id": None, "version": 1}, req)
        self.assertRegex(req["created_at"], RFC3339_UTC)
        self.assertEqual(r.header("location"), f"{CLOSURES}/{req['id']}")
        self.assertEqual(r.header("etag"), '"1"')
        self.assertEqual(self.fetch(r.header("location")), req)
        self.assertEqual(self.journal(r), [("closure_request", "insert")])
        task = self.task(self.t)
        self.assertEqual((task["status"], task["closure"]["state"], task["closure"]["request_id"]),
                         ("not_started", "requested", req["id"]))
        without = self.request_closure(self.new_task(self.plan, units=[self.lead]))
        self.assertIsNone(without["evidence"])

    def test_only_the_lead_unit_asks_every_bad_field_at_once(self):
        for unit in (self.partner, self.outsider, {"id": NO_SUCH_ID}):
            self.assertFieldErrors(self.act(closures(self.t), {"unit_id": unit["id"], "summary": "完成"}), 422,
                                   ["unit_id"])
        r = self.act(closures(self.t), {"unit_id": self.partner["id"], "summary": "", "evidence": "证" * 10001})
        self.assertFieldErrors(r, 422, ["unit_id", "summary", "evidence"])
        self.assertFieldErrors(self.act(closures(self.t), {}), 422, ["unit_id", "summary"])
        r = self.act(closures(self.t), {"unit_id": self.lead["id"], "summary": 1, "files": []})
        self.assertFieldErrors(r, 400, ["summary", "files"])
        self.assertProblem(self.act(closures(NO_SUCH_ID), {"unit_id": self.lead["id"], "summary": "完成"}), 404)
        self.assertEqual(self.count("closure_request", f"task_id = {self.t['id']}"), 0)

    def test_one_request_waits_at_a_time_and_a_closed_task_takes_none(self):
        first = self.request_closure()
        r = self.act(closures(self.t), {"unit_id": self.lead["id"], "summary": "再次申请"})
        self.assertProblem(r, 409, str(first["id"]))
        self.acted(decision(first), {"decision": "reject", "comment": "材料不全"}, 200)
        second = self.request_closure()
        self.acted(decision(second), {"decision": "accept"}, 200)
        self.assertProblem(self.act(closures(self.t), {"unit_id": self.lead["id"], "summary": "办结"}), 409)
        cancelled = self.new_task(self.plan, units=[self.lead], status="cancelled")
        self.assertProblem(self.act(closures(cancelled), {"unit_id": self.lead["id"], "summary": "办结"}), 409)
        # a bad body is reported before the state of the task
        self.assertFieldErrors(self.act(closures(cancelled), {"unit_id": self.lead["id"]}), 422, ["summary"])

    def test_reporters_ask_only_for_their_own_unit_and_readers_never(self):
        body = {"unit_id": self.lead["id"], "summary": "完成"}
        self.assertProblem(self.act(closures(self.t), body, role="reporter", unit=self.partner), 403)
        self.assertProblem(self.act(closures(self.t), body, role="reader"), 403)
        self.assertFieldErrors(self.act(closures(self.t), {"unit_id": self.partner["id"], "summary": "完成"},
                                        role="reporter", unit=self.partner), 422, ["unit_id"])
        self.assertEqual(self.count("closure_request", f"task_id = {self.t['id']}"), 0)
        req = self.acted(closures(self.t), body, 201, role="reporter", unit=self.lead)
        self.assertEqual(req["unit_id"], self.lead["id"])
        other = self.new_task(self.plan, units=[self.lead])
        self.assertEqual(self.acted(closures(other), body, 201, role="editor")["state"], "requested")

    def test_accept_verifies_the_request_and_closes_the_task(self):
        self.new_log(self.t, self.partner, percent=60)
        req = self.request_closure()
        before = self.task(self.t)
        name, _ = self.token("editor")
        r = self.act(decision(req), {"decision": "accept", "comment": "核查属实，同意销号"}, role="editor",
                     headers={"X-Request-Id": tag("accept")})
        self.assertEqual(r.status, 200, r)
        done = r.json()
        self.assertSubset({"id": req["id"], "state": "verified", "decided_by": name, "comment": "核查属实，同意销号",
                           "version": 2, "created_at": req["created_at"]}, done)
        self.assertRegex(done["decided_at"], RFC3339_UTC)
        self.assertEqual(r.header("etag"), '"2"')
        self.assertIsNone(r.header("location"))
        self.assertEqual(self.fetch(f"{CLOSURES}/{req['id']}"), done)
        task = self.task(self.t)
        self.assertEqual((task["status"], task["progress"], task["version"]), ("done", 100, before["version"] + 1))
        self.assertEqual((task["closure"]["state"], task["closure"]["decided_at"]), ("verified", done["decided_at"]))
        self.assertEqual(self.journal(r), [("closure_request", "update"), ("task", "update")])
        r = self.act(decision(req), {"decision": "reject", "comment": "再议"})
        self.assertProblem(r, 409, "verified")
        self.assertEqual(self.fetch(f"{CLOSURES}/{req['id']}"), done)

    def test_reject_sends_the_task_back_to_work(self):
        req = self.request_closure()
        r = self.act(decision(req), {"decision": "reject", "comment": "佐证材料不足"},
                     headers={"X-Request-Id": tag("reject")})
        self.assertEqual(r.status, 200, r)
        rejected = r.json()
        self.assertSubset({"state": "rejected", "comment": "佐证材料不足", "decided_by": self.admin_name()}, rejected)
        task = self.task(self.t)
        self.assertEqual((task["status"], task["progress"], task["closure"]["state"]), ("in_progress", 0, "rejected"))
        self.assertIn("closure_rejected", [reason["code"] for reason in task["warning_reasons"]])
        self.assertEqual(self.journal(r), [("closure_request", "update"), ("task", "update")])
        self.assertProblem(self.act(decision(req), {"decision": "accept"}), 409)
        # a report after the rejection: the rejection no longer counts against the task
        self.new_log(self.t, self.lead, percent=80)
        task = self.task(self.t)
        self.assertNotIn("closure_rejected", [reason["code"] for reason in task["warning_reasons"]])
        self.assertEqual(task["status"], "in_progress")

    def test_a_rejected_task_that_was_closed_meanwhile_is_in_progress_again(self):
        req = self.request_closure()
        self.changed("PATCH", f"{TASKS}/{self.t['id']}", {"status": "done"})
        self.acted(decision(req), {"decision": "reject", "comment": "未达标"}, 200)
        self.assertEqual(self.task(self.t)["status"], "in_progress")

    def test_a_decision_is_checked(self):
        req = self.request_closure()
        self.assertFieldErrors(self.act(decision(req), {}), 422, ["decision"])
        self.assertFieldErrors(self.act(decision(req), {"decision": "maybe", "comment": ""}), 422,
                               ["decision", "comment"])
        self.assertFieldErrors(self.act(decision(req), {"decision": "reject"}), 422, ["comment"])
        self.assertFieldErrors(self.act(decision(req), {"decision": True, "by": "me"}), 400, ["decision", "by"])
        self.assertProblem(self.act(decision(NO_SUCH_ID), {"decision": "accept"}), 404)
        p = self.assertProblem(self.act(decision(NO_SUCH_ID), {"decision": "reject"}), 404)
        self.assertNotIn("errors", p)
        self.assertEqual(self.fetch(f"{CLOSURES}/{req['id']}")["state"], "requested")

    def test_if_match_makes_a_decision_conditional(self):
        req = self.request_closure()
        r = self.act(decision(req), {"decision": "accept"}, headers={"If-Match": '"2"'})
        self.assertProblem(r, 412)
        self.assertProblem(self.act(decision(req), {"decision": "accept"}, headers={"If-Match": "2"}), 400)
        self.assertEqual(self.fetch(f"{CLOSURES}/{req['id']}")["state"], "requested")
        r = self.act(decision(req), {"decision": "reject", "comment": "退回"}, headers={"If-Match": '"1"'})
        self.assertEqual((r.status, r.header("etag")), (200, '"2"'), r)
        self.assertProblem(self.act(decision(req), {"decision": "accept"}, headers={"If-Match": '"1"'}), 412)

    def test_only_editors_and_admins_decide(self):
        req = self.request_closure()
        for role, unit in (("reporter", self.lead), ("reader", None)):
            self.assertProblem(self.act(decision(req), {"decision": "accept"}, role=role, unit=unit), 403)
        self.assertEqual(self.fetch(f"{CLOSURES}/{req['id']}")["state"], "requested")
        self.assertEqual(self.acted(decision(req), {"decision": "accept"}, 200, role="editor")["comment"], None)

    def test_idempotency_keys(self):
        body = {"unit_id": self.lead["id"], "summary": "办结 " + tag()}
        req = self.assertIdempotent(closures(self.t), body, 201)
        self.assertEqual(self.count("closure_request", f"task_id = {self.t['id']}"), 1)
        # a retried decision gets its first answer, not a 409
        decided = self.assertIdempotent(decision(req), {"decision": "reject", "comment": "再补充"}, 200)
        self.assertEqual(decided["state"], "rejected")

    def test_lists_and_items(self):
        other = self.new_task(self.plan, units=[self.partner, self.lead])
        a = self.request_closure()
        self.acted(decision(a), {"decision": "reject", "comment": "退回"}, 200)
        b = self.request_closure()
        c = self.request_closure(other, self.partner)
        self.assertEqual(self.ids(CLOSURES, {"task_id": self.t["id"]}), [a["id"], b["id"]])
        self.assertEqual(self.ids(CLOSURES, {"task_id": self.t["id"], "state": "requested"}), [b["id"]])
        self.assertEqual(self.ids(CLOSURES, {"unit_id": self.partner["id"]}), [c["id"]])
        self.assertEqual(self.ids(CLOSURES, {"unit_id": self.lead["id"], "state": "rejected",
                                             "task_id": self.t["id"]}), [a["id"]])
        page = self.listing(CLOSURES, {"task_id": self.t["id"], "limit": 1, "sort": "-id"})
        self.assertEqual((page["total"], page["limit"], [i["id"] for i in page["items"]]), (2, 1, [b["id"]]))
        for name, value in (("state", "open"), ("task_id", "x"), ("unit_id", "0"), ("sort", "summary"),
                            ("open", "true")):
            self.assertFieldErrors(self.request("GET", query(CLOSURES, {name: value})), 400, [name])
        r = self.request("GET", f"{CLOSURES}/{b['id']}")
        self.assertEqual((r.status, r.header("etag")), (200, '"1"'))
        self.assertEqual(self.request("GET", f"{CLOSURES}/{b['id']}", headers={"If-None-Match": '"1"'}).status, 304)
        self.assertEqual(self.request("GET", f"{CLOSURES}/{a['id']}").header("etag"), '"2"')
        self.assertProblem(self.request("GET", f"{CLOSURES}/{NO_SUCH_ID}"), 404)
        self.assertEqual(self.request("GET", CLOSURES, headers={"Authorization": "Bearer " +
                                                                self.token("reader")[1]}).status, 200)
        self.assertProblem(self.send("DELETE", f"{CLOSURES}/{b['id']}"), 405)

    def admin_name(self):
        return self.db.query("SELECT name FROM api_token WHERE role = 'admin' ORDER BY id LIMIT 1")[0][0]


class DoneReports(Loop):
    """A progress log saying "done" under requires_verification."""

    def done_log(self, unit, task=None, **fields):
        return self.new_log(task or self.t, unit, percent=100, status="done", summary="全部完成 " + tag(), **fields)

    def test_the_lead_units_done_files_a_request_and_the_task_stays_open(self):
        r = self.send("POST", f"{TASKS}/{self.t['id']}/progress-logs",
                      {"unit_id": self.lead["id"], "percent": 100, "status": "done", "summary": "全部完成"},
                      headers={"X-Request-Id": tag("done")})
        self.assertEqual(r.status, 201, r)
        log = r.json()
        self.assertEqual(log["status"], "done")
        task = self.task(self.t)
        self.assertEqual((task["status"], task["progress"], task["closure"]["state"]), ("in_progress", 100, "requested"))
        reqs = self.listing(CLOSURES, {"task_id": self.t["id"]})["items"]
        self.assertEqual(len(reqs), 1)
        self.assertSubset({"unit_id": self.lead["id"], "summary": "全部完成", "evidence": None, "state": "requested",
                           "progress_log_id": log["id"]}, reqs[0])
        self.assertEqual(self.journal(r), [("progress_log", "insert"), ("closure_request", "insert"), ("task", "update")])
        # another "done" while it waits files nothing more; the verification closes the task
        self.done_log(self.lead)
        self.assertEqual(self.total(CLOSURES, {"task_id": self.t["id"]}), 1)
        self.assertEqual(self.task(self.t)["status"], "in_progress")
        self.acted(decision(reqs[0]), {"decision": "accept"}, 200)
        self.assertEqual(self.task(self.t)["status"], "done")
        # once done, a "done" report keeps it done and files nothing
        self.done_log(self.lead)
        self.assertEqual((self.task(self.t)["status"], self.total(CLOSURES, {"task_id": self.t["id"]})), ("done", 1))

    def test_a_partner_units_done_is_a_report_and_nothing_more(self):
        log = self.done_log(self.partner)
        self.assertEqual(log["status"], "done")
        task = self.task(self.t)
        self.assertEqual((task["status"], task["progress"], task["closure"]["state"]), ("in_progress", 100, "none"))
        self.assertEqual(self.total(CLOSURES, {"task_id": self.t["id"]}), 0)

    def test_a_log_changed_to_done_files_a_request_and_a_done_log_edited_files_none(self):
        log = self.new_log(self.t, self.lead, percent=90, status="in_progress")
        self.changed("PATCH", f"{API}/progress-logs/{log['id']}", {"status": "done", "percent": 100})
        reqs = self.listing(CLOSURES, {"task_id": self.t["id"]})["items"]
        self.assertEqual([(r["progress_log_id"], r["state"]) for r in reqs], [(log["id"], "requested")])
        self.acted(decision(reqs[0]), {"decision": "reject", "comment": "退回"}, 200)
        self.changed("PATCH", f"{API}/progress-logs/{log['id']}", {"summary": "补充说明 " + tag()})
        self.assertEqual(self.total(CLOSURES, {"task_id": self.t["id"]}), 1)
        self.assertEqual(self.task(self.t)["status"], "in_progress")

    def test_a_cancelled_task_reported_done_waits_for_verification_too(self):
        task = self.new_task(self.plan, units=[self.lead], status="cancelled")
        self.done_log(self.lead, task)
        self.assertEqual(self.task(task)["status"], "in_progress")
        self.assertEqual(self.total(CLOSURES, {"task_id": task["id"], "state": "requested"}), 1)

    def test_without_verification_done_closes_the_task_as_before(self):
        plan = self.new_plan(supervision={"requires_verification": False})
        task = self.new_task(plan, units=[self.lead, self.partner])
        self.done_log(self.partner, task)
        self.assertEqual(self.task(task)["status"], "done")
        other = self.new_task(plan, units=[self.lead])
        self.done_log(self.lead, other)
        self.assertEqual((self.task(other)["status"], self.task(other)["progress"]), ("done", 100))
        self.assertEqual(self.total(CLOSURES, {"task_id": task["id"]}) + self.total(CLOSURES, {"task_id": other["id"]}),
                         0)

    def test_the_setting_is_read_when_the_report_comes(self):
        self.changed("PATCH", f"{PLANS}/{self.plan['id']}", {"supervision": {"requires_verification": False}})
        self.done_log(self.lead)
        self.assertEqual(self.task(self.t)["status"], "done")


class Urges(Loop):
    def test_the_office_urges_a_unit_of_the_task(self):
        body = {"unit_id": self.partner["id"], "message": "请于本周内报送进展", "reply_by": day(-3)}
        r = self.act(urges(self.t), body, role="editor", headers={"X-Request-Id": tag("urge")})
        self.assertEqual(r.status, 201, r)
        urge = r.json()
        self.assertEqual(set(urge), URGE_MEMBERS)
        self.assertSubset({**body, "task_id": self.t["id"], "reply": None, "replied_at": None, "version": 1}, urge)
        self.assertRegex(urge["created_at"], RFC3339_UTC)
        self.assertEqual(r.header("location"), f"{URGES}/{urge['id']}")
        self.assertEqual(r.header("etag"), '"1"')
        self.assertEqual(self.fetch(r.header("location")), urge)
        self.assertEqual(self.journal(r), [("urge", "insert")])
        self.assertIn("urge_unanswered", [reason["code"] for reason in self.task(self.t)["warning_reasons"]])

    def test_every_bad_field_at_once(self):
        r = self.act(urges(self.t), {"unit_id": self.outsider["id"], "message": "", "reply_by": "2019-02-30"})
        self.assertFieldErrors(r, 422, ["unit_id", "message", "reply_by"])
        self.assertFieldErrors(self.act(urges(self.t), {}), 422, ["unit_id", "message", "reply_by"])
        r = self.act(urges(self.t), {"unit_id": NO_SUCH_ID, "message": "催", "reply_by": "2019-6-1"})
        self.assertFieldErrors(r, 422, ["unit_id", "reply_by"])
        r = self.act(urges(self.t), {"unit_id": self.lead["id"], "message": ["催"], "reply_by": 20190601, "cc": 1})
        self.assertFieldErrors(r, 400, ["message", "reply_by", "cc"])
        self.assertProblem(self.act(urges(NO_SUCH_ID), {"unit_id": self.lead["id"], "message": "催",
                                                         "reply_by": day(3)}), 404)
        self.assertEqual(self.count("urge", f"task_id = {self.t['id']}"), 0)

    def test_only_editors_and_admins_urge(self):
        body = {"unit_id": self.lead["id"], "message": "催", "reply_by": day(3)}
        self.assertProblem(self.act(urges(self.t), body, role="reporter", unit=self.lead), 403)
        self.assertProblem(self.act(urges(self.t), body, role="reader"), 403)
        self.assertEqual(self.count("urge", f"task_id = {self.t['id']}"), 0)

    def test_the_urged_unit_replies_once(self):
        urge = self.urge(unit=self.partner)
        r = self.act(reply(urge), {"message": "已部署，下周报送"}, role="reporter", unit=self.partner,
                     headers={"X-Request-Id": tag("reply")})
        self.assertEqual(r.status, 200, r)
        replied = r.json()
        self.assertSubset({"id": urge["id"], "message": urge["message"], "reply": "已部署，下周报送", "version": 2,
                           "created_at": urge["created_at"]}, replied)
        self.assertRegex(replied["replied_at"], RFC3339_UTC)
        self.assertEqual(r.header("etag"), '"2"')
        self.assertIsNone(r.header("location"))
        self.assertEqual(self.fetch(f"{URGES}/{urge['id']}"), replied)
        self.assertEqual(self.journal(r), [("urge", "update")])
        p = self.assertProblem(self.act(reply(urge), {"message": "再次回复"}, role="reporter", unit=self.partner), 409)
        self.assertNotIn("errors", p)
        self.assertProblem(self.act(reply(urge), {"message": "再次回复"}), 409)
        self.assertEqual(self.fetch(f"{URGES}/{urge['id']}"), replied)

    def test_if_match_makes_a_reply_conditional(self):
        urge = self.urge()
        self.assertProblem(self.act(reply(urge), {"message": "回复"}, headers={"If-Match": '"7"'}), 412)
        self.assertIsNone(self.fetch(f"{URGES}/{urge['id']}")["reply"])
        r = self.act(reply(urge), {"message": "回复"}, headers={"If-Match": '"1"'})
        self.assertEqual((r.status, r.header("etag")), (200, '"2"'), r)

    def test_who_replies(self):
        urge = self.urge(unit=self.partner)
        self.assertProblem(self.act(reply(urge), {"message": "代答"}, role="reporter", unit=self.lead), 403)
        self.assertProblem(self.act(reply(urge), {"message": "代答"}, role="reader"), 403)
        self.assertIsNone(self.fetch(f"{URGES}/{urge['id']}")["reply"])
        self.assertEqual(self.acted(reply(urge), {"message": "办公室代为回复"}, 200, role="editor")["reply"],
                         "办公室代为回复")
        other = self.urge(unit=self.lead)
        self.assertEqual(self.acted(reply(other), {"message": "管理员回复"}, 200)["reply"], "管理员回复")

    def test_a_reply_is_checked(self):
        urge = self.urge()
        self.assertFieldErrors(self.act(reply(urge), {}), 422, ["message"])
        self.assertFieldErrors(self.act(reply(urge), {"message": ""}), 422, ["message"])
        self.assertFieldErrors(self.act(reply(urge), {"message": 5, "reply": "x"}), 400, ["message", "reply"])
        self.assertProblem(self.act(reply(NO_SUCH_ID), {"message": "回复"}), 404)
        p = self.assertProblem(self.act(reply(NO_SUCH_ID), {}), 404)
        self.assertNotIn("errors", p)
        # another unit's reporter learns nothing of the body's faults
        p = self.assertProblem(self.act(reply(urge), {}, role="reporter", unit=self.partner), 403)
        self.assertNotIn("errors", p)
        self.assertIsNone(self.fetch(f"{URGES}/{urge['id']}")["replied_at"])

    def test_idempotency_keys(self):
        urge = self.assertIdempotent(urges(self.t), {"unit_id": self.lead["id"], "message": "催 " + tag(),
                                                     "reply_by": day(5)}, 201)
        self.assertEqual(self.count("urge", f"task_id = {self.t['id']}"), 1)
        # a retried reply gets its first answer, not a 409
        self.assertIdempotent(reply(urge), {"message": "已办理"}, 200, role="reporter", unit=self.lead)

    def test_lists_and_items(self):
        other = self.new_task(self.plan, units=[self.partner])
        a, b, c = self.urge(), self.urge(unit=self.partner), self.urge(other, self.partner, reply_by=day(2))
        self.acted(reply(b), {"message": "已办"}, 200)
        self.assertEqual(self.ids(URGES, {"task_id": self.t["id"]}), [a["id"], b["id"]])
        self.assertEqual(self.ids(URGES, {"task_id": self.t["id"], "open": "true"}), [a["id"]])
        self.assertEqual(self.ids(URGES, {"task_id": self.t["id"], "open": "false"}), [b["id"]])
        self.assertEqual(self.ids(URGES, {"unit_id": self.partner["id"], "open": "true"}), [c["id"]])
        self.assertEqual(self.ids(URGES, {"unit_id": self.partner["id"], "sort": "reply_by"}), [c["id"], b["id"]])
        page = self.listing(URGES, {"task_id": self.t["id"], "limit": 1, "offset": 1})
        self.assertEqual((page["total"], page["offset"], [i["id"] for i in page["items"]]), (2, 1, [b["id"]]))
        for name, value in (("open", "yes"), ("task_id", "-1"), ("state", "requested"), ("sort", "message")):
            self.assertFieldErrors(self.request("GET", query(URGES, {name: value})), 400, [name])
        r = self.request("GET", f"{URGES}/{b['id']}", headers={"Authorization": "Bearer " + self.token("reader")[1]})
        self.assertEqual((r.status, r.header("etag")), (200, '"2"'))
        self.assertEqual(self.request("GET", f"{URGES}/{b['id']}", headers={"If-None-Match": '"2"'}).status, 304)
        self.assertProblem(self.request("GET", f"{URGES}/{NO_SUCH_ID}"), 404)
        self.assertProblem(self.request("GET", f"{URGES}/{b['id']}?fields=nope"), 400)
        self.assertEqual(self.fetch(f"{URGES}/{b['id']}?fields=id,reply"), {"id": b["id"], "reply": "已办"})
        self.assertProblem(self.send("PATCH", f"{URGES}/{b['id']}", {"reply": "改"}), 405)


if __name__ == "__main__":
    main()
