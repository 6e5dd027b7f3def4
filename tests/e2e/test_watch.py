"""What a task shows of its supervision (supervision.md, "What a task
shows"): the colour and its reasons, the expected progress, the next report
due, the closure, the acknowledgements and a parent's rollup, each as the
history makes it; and duban's days are DUBAN_TIMEZONE's. History the API
does not write in these tests (urges, closure decisions, acknowledgements,
back-dated reports) is written into the tables as those routes would."""

import datetime
import time

from fixtures import API, Api, day, query, tag
from harness import ServerTest, Server, PATIENT, main

TASKS = f"{API}/tasks"


def today():
    return datetime.date.fromisoformat(day(0))


def month_start(d, back=0):
    """The first day of d's month, `back` months earlier."""
    index = d.year * 12 + d.month - 1 - back
    return datetime.date(index // 12, index % 12 + 1, 1)


def report_day_of(start, report_day):
    """The report day of the month starting on start (never past its end)."""
    end = month_start(start, -1) - datetime.timedelta(days=1)
    return min(start + datetime.timedelta(days=report_day - 1), end).isoformat()


class Watch(Api, ServerTest):

    def setUp(self):
        super().setUp()
        self.lead, self.partner = self.new_unit(), self.new_unit()
        # a plan started 120 days ago: a task due in 200 days is expected at 38 %
        self.plan = self.new_plan(starts_on=day(-120))

    def sql(self, statement):
        return self.db.query(statement)

    def watched(self, **fields):
        return self.new_task(self.plan, units=[self.lead, self.partner], **fields)

    def settings(self, **supervision):
        """Changes the plan's supervision settings through the API."""
        self.changed("PATCH", f"{API}/plans/{self.plan['id']}", {"supervision": supervision})

    def codes(self, t):
        got = self.task(t)
        return got["warning"], [r["code"] for r in got["warning_reasons"]]

    def log(self, t, unit, percent, reported_on):
        return self.new_log(t, unit, percent=percent, reported_on=reported_on)

    def test_behind_schedule_and_missing_report_make_it_yellow_until_reported(self):
        t = self.watched(due_on=day(200))
        got = self.task(t)
        self.assertEqual(got["expected_progress"], round(100 * 120 / 320))
        self.assertEqual((got["warning"], [r["code"] for r in got["warning_reasons"]]),
                         ("yellow", ["behind_schedule", "report_missing"]))
        self.assertTrue(all(r["detail"] for r in got["warning_reasons"]))
        # a partner's report is not the lead unit's
        self.log(t, self.partner, 50, month_start(today(), 1).isoformat())
        self.assertEqual(self.codes(t), ("yellow", ["report_missing"]))
        # the lead unit's report dated in the last month, not in this one
        self.log(t, self.lead, 40, month_start(today(), 1).isoformat())
        self.assertEqual(self.codes(t), ("none", []))
        self.assertEqual(self.task(t)["next_report_due"], report_day_of(month_start(today()), 28))

    def test_a_report_this_month_moves_the_next_report_due_to_next_month(self):
        t = self.watched(due_on=day(400))
        self.log(t, self.lead, 60, month_start(today(), 1).isoformat())
        self.assertEqual(self.task(t)["next_report_due"], report_day_of(month_start(today()), 28))
        self.log(t, self.lead, 60, day(0))
        self.assertEqual(self.task(t)["next_report_due"], report_day_of(month_start(today(), -1), 28))

    def test_plan_settings_move_the_colours(self):
        t = self.watched(due_on=day(40))
        self.log(t, self.lead, 90, month_start(today(), 1).isoformat())
        self.assertEqual(self.codes(t), ("none", []))
        self.settings(near_due_days=45)
        self.assertEqual(self.codes(t), ("blue", ["due_soon"]))
        self.settings(report_cadence="none", near_due_days=10, lag_points=0)
        got = self.task(t)
        self.assertEqual((got["warning"], got["next_report_due"]), ("none", None))
        self.changed("PATCH", f"{TASKS}/{t['id']}", {"report_cadence": "quarterly"})
        self.assertIsNotNone(self.task(t)["next_report_due"])

    def test_overdue_is_red_and_closed_tasks_are_none(self):
        t = self.watched(due_on=day(-2))
        self.log(t, self.lead, 100, month_start(today(), 1).isoformat())
        got = self.task(t)
        self.assertEqual((got["warning"], got["warning_reasons"][0]["code"], got["expected_progress"]), ("red", "overdue", 100))
        self.changed("PATCH", f"{TASKS}/{t['id']}", {"status": "cancelled"})
        got = self.task(t)
        self.assertEqual((got["warning"], got["warning_reasons"], got["expected_progress"], got["next_report_due"]),
                         ("none", [], None, None))

    def test_an_urge_past_its_reply_by_is_yellow_until_answered(self):
        t = self.watched(due_on=day(300), status="in_progress")
        self.log(t, self.lead, 60, month_start(today(), 1).isoformat())
        self.assertEqual(self.codes(t), ("none", []))
        urge = self.sql(f"INSERT INTO urge (task_id, unit_id, message, reply_by) VALUES ({t['id']}, {self.lead['id']}, "
                        f"'请尽快报送', '{day(-1)}') RETURNING id")[0][0]
        self.assertEqual(self.codes(t), ("yellow", ["urge_unanswered"]))
        self.sql(f"UPDATE urge SET reply = '已报送', replied_at = now() WHERE id = {urge}")
        self.assertEqual(self.codes(t), ("none", []))

    def test_a_rejected_closure_is_yellow_until_the_next_report_and_shows_in_closure(self):
        t = self.watched(due_on=day(300), status="in_progress")
        self.log(t, self.lead, 60, month_start(today(), 1).isoformat())
        before = self.task(t)
        self.assertEqual(before["closure"], {"state": "none", "request_id": None, "requested_at": None,
                                             "decided_at": None, "comment": None})
        request = self.sql(f"INSERT INTO closure_request (task_id, unit_id, summary, state, decided_at, decided_by, comment) "
                           f"VALUES ({t['id']}, {self.lead['id']}, '已完成', 'rejected', now(), 'editor', '佐证材料不全') "
                           f"RETURNING id")[0][0]
        got = self.task(t)
        self.assertEqual((got["closure"]["state"], got["closure"]["request_id"], got["closure"]["comment"]),
                         ("rejected", int(request), "佐证材料不全"))
        self.assertGreater(got["version"], before["version"])
        self.assertEqual(self.codes(t), ("yellow", ["closure_rejected"]))
        self.log(t, self.lead, 80, day(0))
        self.assertEqual(self.codes(t), ("none", []))

    def test_acknowledgements_show_on_the_units(self):
        t = self.watched(due_on=day(300))
        self.sql(f"INSERT INTO acknowledgement (task_id, unit_id) VALUES ({t['id']}, {self.partner['id']})")
        units = self.task(t)["units"]
        self.assertIsNone(units[0]["acknowledged_at"])
        self.assertRegex(units[1]["acknowledged_at"], r"^\d{4}-\d\d-\d\dT")

    def test_a_parent_rolls_up_its_descendants(self):
        top = self.new_task(self.plan, title="一、" + tag())
        mid = self.new_task(self.plan, top, title="（一）" + tag())
        done = self.new_task(self.plan, mid, units=[self.lead], status="done", due_on=day(100))
        late = self.new_task(self.plan, mid, units=[self.lead], due_on=day(-1))
        self.new_task(self.plan, top, due_on=day(50))   # a leaf with no unit: not in the mean progress
        self.log(late, self.lead, 30, month_start(today(), 1).isoformat())
        # the mean progress of the assigned leaves: done (never reported, 0 %) and late (30 %)
        self.assertEqual(self.task(top)["rollup"], {"tasks": 4, "done": 1, "progress": 15, "warning": "red"})
        self.assertEqual(self.task(mid)["rollup"], {"tasks": 2, "done": 1, "progress": 15, "warning": "red"})
        self.assertNotIn("rollup", self.task(done))
        # no longer overdue but behind: 30 % where 86 % was expected
        self.changed("PATCH", f"{TASKS}/{late['id']}", {"due_on": day(20)})
        self.assertEqual(self.task(mid)["rollup"]["warning"], "yellow")
        self.changed("PATCH", f"{TASKS}/{late['id']}", {"due_on": day(400)})
        self.assertEqual(self.task(mid)["rollup"]["warning"], "none")
        # a descendant last rendered on an earlier day counts with today's
        # colour, worked out from its row (the render trigger held off, so
        # that the row keeps yesterday's members)
        self.changed("PATCH", f"{TASKS}/{late['id']}", {"due_on": day(-1)})
        self.db.query("BEGIN; ALTER TABLE task DISABLE TRIGGER render; "
                      "UPDATE task SET today_on = today_on - 1, colour = 'none' WHERE id = %d; "
                      "ALTER TABLE task ENABLE TRIGGER render; COMMIT" % late["id"])
        self.assertEqual(self.task(mid)["rollup"]["warning"], "red")

    def test_a_rollup_comes_with_the_first_child_and_goes_with_the_last(self):
        first = self.new_task(self.plan, title="一、" + tag())
        second = self.new_task(self.plan, title="二、" + tag())
        self.assertNotIn("rollup", self.task(first))
        child = self.new_task(self.plan, first, units=[self.lead], due_on=day(-1))
        self.assertEqual(self.task(first)["rollup"], {"tasks": 1, "done": 0, "progress": 0, "warning": "red"})
        # moved under the second: the first has nothing left to roll up
        self.changed("PATCH", f"{TASKS}/{child['id']}", {"parent_id": second["id"]})
        self.assertNotIn("rollup", self.task(first))
        self.assertEqual(self.task(second)["rollup"]["tasks"], 1)
        listed = self.listing(TASKS, {"plan_id": self.plan["id"], "parent_id": "null"})["items"]
        self.assertEqual([("rollup" in t) for t in listed if t["id"] in (first["id"], second["id"])], [False, True])
        self.assertEqual(self.request("DELETE", f"{TASKS}/{child['id']}").status, 204)
        self.assertNotIn("rollup", self.task(second))

    def test_lists_filter_by_colours_and_fields_reach_the_new_members(self):
        red = self.watched(due_on=day(-5))
        blue = self.watched(due_on=day(5), status="in_progress")
        for t in (red, blue):
            self.log(t, self.lead, 90, month_start(today(), 1).isoformat())
        plan = self.plan["id"]
        self.assertEqual(self.ids(TASKS, {"plan_id": plan, "warning": "red"}), [red["id"]])
        self.assertEqual(sorted(self.ids(TASKS, {"plan_id": plan, "warning": "blue,red"})), sorted([red["id"], blue["id"]]))
        self.assertEqual(self.ids(TASKS, {"plan_id": plan, "warning": "yellow,none"}), [])
        self.assertFieldErrors(self.request("GET", query(TASKS, {"warning": "red,"})), 400, ["warning"])
        self.assertFieldErrors(self.request("GET", query(TASKS, {"warning": "near_due"})), 400, ["warning"])
        got = self.fetch(query(f"{TASKS}/{red['id']}", {"fields": "id,warning_reasons.code,units.acknowledged_at"}))
        self.assertEqual(got, {"id": red["id"], "warning_reasons": [{"code": "overdue"}],
                               "units": [{"acknowledged_at": None}, {"acknowledged_at": None}]})


class Days(Api, ServerTest):
    """Today is a day of DUBAN_TIMEZONE: the same task, due on the day it is
    in UTC-12, is due today (blue) 26 hours west and overdue (red) east."""

    def test_the_zone_decides_what_today_is(self):
        west_today = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=12)).date()
        plan = self.new_plan(starts_on=(west_today - datetime.timedelta(days=1)).isoformat())
        self.db.query(f"UPDATE plan SET report_cadence = 'none', lag_points = 100 WHERE id = {plan['id']}")
        t = self.new_task(plan, due_on=west_today.isoformat())
        colours = {}
        for zone in ("Etc/GMT+12", "Etc/GMT-14"):
            server = Server(self.db.url, DUBAN_TIMEZONE=zone, **PATIENT)
            try:
                server.token = self.server.token
                r = server.request("GET", f"{TASKS}/{t['id']}")
                self.assertEqual(r.status, 200, r)
                colours[zone] = r.json()["warning"]
            finally:
                self.assertEqual(server.stop(), 0)
        self.assertEqual(colours, {"Etc/GMT+12": "blue", "Etc/GMT-14": "red"})

    def test_a_new_day_is_computed_at_read_then_rendered_by_the_refresher(self):
        plan = self.new_plan(starts_on=day(-10))
        t = self.new_task(plan, due_on=day(-1))
        # as if rendered yesterday, when it was not yet overdue (the render
        # trigger is held off so that the row keeps yesterday's members)
        self.db.query("BEGIN; ALTER TABLE task DISABLE TRIGGER render; "
                      "UPDATE task SET today_on = today_on - 1, colour = 'blue', "
                      "today = replace(today, '\"red\"', '\"blue\"') WHERE id = %d; "
                      "ALTER TABLE task ENABLE TRIGGER render; COMMIT" % t["id"])
        self.assertEqual(self.db.query(f"SELECT colour FROM task WHERE id = {t['id']}"), [["blue"]])
        self.assertEqual(self.fetch(f"{TASKS}/{t['id']}")["warning"], "red")
        self.assertEqual(self.ids(TASKS, {"plan_id": plan["id"], "warning": "red"}), [t["id"]])
        # a server starting renders what is stale (and looks again every minute)
        server = Server(self.db.url, **PATIENT)
        try:
            deadline = time.time() + 120
            while time.time() < deadline:
                if self.db.query(f"SELECT colour, today_on = current_date FROM task WHERE id = {t['id']}") == [["red", "t"]]:
                    break
                time.sleep(0.5)
            self.assertEqual(self.db.query(f"SELECT colour, today_on = current_date FROM task WHERE id = {t['id']}"),
                             [["red", "t"]])
        finally:
            self.assertEqual(server.stop(), 0)
        self.assertEqual(self.fetch(f"{TASKS}/{t['id']}")["version"], t["version"])

    def test_a_zone_that_is_not_a_name_is_refused_at_start(self):
        with self.assertRaises(RuntimeError) as refused:
            Server(self.db.url, DUBAN_TIMEZONE="../etc/passwd")
        self.assertIn("DUBAN_TIMEZONE", str(refused.exception))


if __name__ == "__main__":
    main()
