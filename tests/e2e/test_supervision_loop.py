"""The whole 督办 loop through the API, for two units: a diligent one and a
late one. Signatures, reports on time and late (dated in past months, as
units file them), a missing month, an urge answered and one left past its
reply-by date, a closure rejected then accepted, the colours as each step
happens, the scorecard with its documented score, and the bulletin of last
month naming exactly the red and yellow tasks and the missing reports."""

import datetime

from fixtures import API, Api, day, query, tag
from harness import ServerTest, main

TASKS = f"{API}/tasks"
REPORT_DAY = 20     # on time on or before the 20th of the month, late after


def month(back):
    """The first day of the month `back` months before this one (UTC, as the tests' server)."""
    today = datetime.date.fromisoformat(day(0))
    index = today.year * 12 + today.month - 1 - back
    return datetime.date(index // 12, index % 12 + 1, 1)


def dated(back, day_of_month):
    return month(back).replace(day=day_of_month).isoformat()


class Loop(Api, ServerTest):

    def as_unit(self, unit):
        """Headers of a reporter bound to unit (one token per unit)."""
        if unit["id"] not in self.reporters:
            self.reporters[unit["id"]] = self.make_token("reporter", unit_id=unit["id"])
        return {"Authorization": "Bearer " + self.reporters[unit["id"]]}

    def post(self, path, body, status, unit=None):
        r = self.send("POST", path, body, headers=self.as_unit(unit) if unit else None)
        self.assertEqual(r.status, status, r)
        return r.json() if r.body else None

    def report(self, task, unit, percent, reported_on):
        self.post(f"{TASKS}/{task['id']}/progress-logs",
                  {"unit_id": unit["id"], "percent": percent, "summary": "按计划推进 " + tag(),
                   "reported_on": reported_on}, 201, unit)

    def colour(self, task):
        got = self.task(task)
        return got["warning"], sorted(r["code"] for r in got["warning_reasons"])

    def test_the_loop_for_a_diligent_and_a_late_unit(self):
        self.reporters = {}
        diligent, late = self.new_unit(name="区发改局 " + tag()), self.new_unit(name="区农业农村局 " + tag())
        plan = self.new_plan(starts_on=month(3).isoformat(),
                             supervision={"report_cadence": "monthly", "report_day": REPORT_DAY})
        on_track = self.new_task(plan, units=[diligent], due_on=day(60), title="完善产业扶持政策 " + tag())
        overdue = self.new_task(plan, units=[late], due_on=day(-5), title="建立动态监测台账 " + tag())
        silent = self.new_task(plan, units=[late, diligent], due_on=day(200), title="推进易地搬迁后续扶持 " + tag())

        # 签收: each lead unit signs for its tasks
        signed = self.post(f"{TASKS}/{on_track['id']}/acknowledgements", {"unit_id": diligent["id"]}, 201, diligent)
        self.assertEqual(self.task(on_track)["units"][0]["acknowledged_at"], signed["acknowledged_at"])
        self.post(f"{TASKS}/{overdue['id']}/acknowledgements", {"unit_id": late["id"]}, 201, late)

        # 定期报送: the diligent unit every month by the 10th; the late unit
        # on time three months ago, late two months ago, not at all last month
        for back in (3, 2, 1):
            self.report(on_track, diligent, 20 * (4 - back), dated(back, 10))
        self.report(overdue, late, 30, dated(3, 10))
        self.report(overdue, late, 40, dated(2, 25))

        self.assertEqual(self.colour(on_track), ("none", []))
        self.assertEqual(self.colour(overdue), ("red", ["behind_schedule", "overdue", "report_missing"]))
        self.assertEqual(self.colour(silent), ("yellow", ["behind_schedule", "report_missing"]))

        # the missing month is found
        missing = self.fetch(query(f"{API}/supervision/missing-reports",
                                   {"plan_id": plan["id"], "period": month(1).strftime("%Y-%m")}))
        self.assertEqual(sorted((m["task_id"], m["unit_id"], m["due_on"]) for m in missing["items"]),
                         sorted([(overdue["id"], late["id"], dated(1, REPORT_DAY)),
                                 (silent["id"], late["id"], dated(1, REPORT_DAY))]))

        # 催办: the diligent unit answers its urge; the late unit's is left past its reply-by date
        answered = self.post(f"{TASKS}/{on_track['id']}/urges",
                             {"unit_id": diligent["id"], "message": "请报送佐证材料", "reply_by": day(3)}, 201)
        self.post(f"{API}/urges/{answered['id']}/reply", {"message": "已报送"}, 200, diligent)
        self.post(f"{TASKS}/{overdue['id']}/urges",
                  {"unit_id": late["id"], "message": "请说明逾期原因", "reply_by": day(-1)}, 201)
        self.assertEqual(self.colour(on_track), ("none", []))
        self.assertIn("urge_unanswered", self.colour(overdue)[1])

        # 办结 → 核查: rejected, yellow until the unit reports again, then accepted
        first = self.post(f"{TASKS}/{on_track['id']}/closure-requests",
                          {"unit_id": diligent["id"], "summary": "政策已出台", "evidence": "文件一份"}, 201, diligent)
        self.assertEqual(self.task(on_track)["closure"]["state"], "requested")
        self.post(f"{API}/closure-requests/{first['id']}/decision",
                  {"decision": "reject", "comment": "缺少实施细则"}, 200)
        self.assertEqual(self.colour(on_track), ("yellow", ["closure_rejected"]))
        self.report(on_track, diligent, 90, day(0))
        self.assertEqual(self.colour(on_track), ("none", []))
        second = self.post(f"{TASKS}/{on_track['id']}/closure-requests",
                           {"unit_id": diligent["id"], "summary": "实施细则已印发"}, 201, diligent)
        decided = self.post(f"{API}/closure-requests/{second['id']}/decision", {"decision": "accept"}, 200)
        self.assertEqual(decided["state"], "verified")
        closed = self.task(on_track)
        self.assertEqual((closed["status"], closed["progress"], closed["warning"], closed["closure"]["state"]),
                         ("done", 100, "none", "verified"))

        # 考评: the diligent unit first. diligent: 1 task done on time, 3 of 3
        # reports on time, nothing open, 1 of 1 urge answered in time: 100.0.
        # late: 0 of 1 completed (1 overdue), 1 of 6 reports on time, 1 of 2
        # open tasks overdue, 0 of 1 urge answered:
        # 100 × (0.4 × 0 + 0.3 × 1/6 + 0.2 × (1 − 1/2) + 0.1 × 0) = 15.0
        card = {row["unit_id"]: row for row in self.fetch(query(f"{API}/scorecards/units",
                                                                {"plan_id": plan["id"]}))["items"]}
        self.assertEqual([(card[u["id"]]["rank"], card[u["id"]]["score"]) for u in (diligent, late)],
                         [(1, 100.0), (2, 15.0)])
        self.assertEqual({k: card[late["id"]][k] for k in ("led", "open", "done_on_time", "overdue_open",
                                                            "reports_expected", "reports_on_time", "reports_late",
                                                            "reports_missing", "urges_received",
                                                            "urges_answered_on_time")},
                         {"led": 2, "open": 2, "done_on_time": 0, "overdue_open": 1, "reports_expected": 6,
                          "reports_on_time": 1, "reports_late": 1, "reports_missing": 4, "urges_received": 1,
                          "urges_answered_on_time": 0})

        # 情况通报 of last month: exactly the red and yellow tasks, exactly the missing reports
        bulletin = self.fetch(query(f"{API}/plans/{plan['id']}/bulletin", {"period": month(1).strftime("%Y-%m")}))
        flagged = {(t["task_id"], t["warning"]) for group in bulletin["attention"] for t in group["tasks"]}
        self.assertEqual(flagged, {(overdue["id"], "red"), (silent["id"], "yellow")})
        self.assertEqual(sorted(m["task_id"] for m in bulletin["missing_reports"]), sorted([overdue["id"], silent["id"]]))
        text = self.request("GET", query(f"{API}/plans/{plan['id']}/bulletin", {"period": month(1).strftime("%Y-%m")}),
                            headers={"Accept": "text/plain"})
        self.assertEqual(text.status, 200, text)
        circulated = text.body.decode("utf-8")
        for named in (overdue["title"], silent["title"], late["name"], diligent["name"]):
            self.assertIn(named, circulated)
        self.assertNotIn(on_track["title"], circulated)


if __name__ == "__main__":
    main()
