"""The task read path: each task's representation is kept ready at write
time (task.doc), with what it shows today, and a read sends it as kept
while it is of today. What is kept must equal what the tables say after
any mix of writes, a row kept on an earlier day is read with today's
members, renames show at once, and lists page by count-free preference
and by keyset cursor."""

import base64
import json
import os
import time

from fixtures import API, Api, links, query, tag, day
from harness import SOURCE_DIR, ServerTest, main

TASKS = f"{API}/tasks"

# The representation computed now from the tables (migration 0008's
# task_doc, with today's members from task_members): a kept doc that
# differs from it missed a write that changed what it shows.
COMPUTED = ("replace(task_doc(r), '\"warning\" : null', (SELECT m.members FROM plan p, "
            "task_members(r, p, current_date) m WHERE p.id = r.plan_id))")

# What a row kept on an earlier day could show: members other than today's
# (the refresher renders such rows again; until then a read must not send
# them). Written with the triggers off, as if rendered the day before.
BLANK = '"warning" : "none", "warning_reasons" : [], "expected_progress" : null, "next_report_due" : null'
KEPT_THE_DAY_BEFORE = ("BEGIN; SET LOCAL session_replication_role = replica; "
                       f"UPDATE task SET doc = replace(doc, today, '{BLANK}'), today = '{BLANK}', "
                       "today_on = today_on - 1 WHERE id IN ({ids}); COMMIT")


class ReadPath(Api, ServerTest):

    def get(self, path, params=None, headers=None):
        return self.request("GET", query(path, params), headers=headers)

    def test_kept_docs_equal_the_computed_representation_after_a_mix_of_writes(self):
        plan, top, mid, leaf = self.new_tree()
        units = [self.new_unit() for _ in range(3)]
        leaders = [self.new_leader() for _ in range(2)]
        a = self.new_task(plan, units=units[:2], leaders=leaders, due_on=day(3))
        b = self.new_task(plan, mid, units=[units[2]], body="正文 " + tag())
        # assignments reordered and dropped, a move, a rename of each kind,
        # a progress log, a delete that closes a gap
        self.changed("PATCH", f"{TASKS}/{a['id']}", {"unit_ids": [units[1]["id"], units[0]["id"]],
                                                     "leader_ids": [leaders[1]["id"]]})
        self.changed("PATCH", f"{TASKS}/{b['id']}", {"parent_id": top["id"], "position": 1})
        self.changed("PATCH", f"{TASKS}/{mid['id']}", {"parent_id": None, "level": 1})
        self.changed("PATCH", f"{API}/units/{units[0]['id']}", {"name": "改名 " + tag()})
        self.changed("PATCH", f"{API}/leaders/{leaders[1]['id']}", {"name": "改名 " + tag()})
        self.new_log(a, units[1], percent=40, status="in_progress")
        self.request("DELETE", f"{TASKS}/{top['id']}?cascade=true")
        rows = self.db.query(f"SELECT r.id, r.doc = {COMPUTED} FROM task r WHERE r.plan_id = {plan['id']} ORDER BY r.id")
        self.assertTrue(rows)
        self.assertEqual([r for r in rows if r[1] != "t"], [], "tasks whose kept doc differs from the tables")
        # and what a GET answers is that doc with today's warning
        got = self.task(a)
        self.assertEqual(got["warning"], "blue")
        self.assertEqual([u["id"] for u in got["units"]], [units[1]["id"], units[0]["id"]])
        self.assertEqual(got["progress"], 40)

    def test_rollups_kept_at_write_time_equal_the_counted_ones_after_a_mix_of_writes(self):
        """Each write adds what it changed to its ancestors' sums (migration
        0024): creates, reports, a task done, a lead unit dropped, moves of a
        leaf and of a subtree, a leaf that becomes a parent and a leaf again,
        deletes alone and in cascade."""
        plan, top, mid, leaf = self.new_tree()
        units = [self.new_unit() for _ in range(2)]
        other = self.new_task(plan, units=[units[1]], due_on=day(10))
        a = self.new_task(plan, mid, units=units, due_on=day(-2))
        b = self.new_task(plan, mid, units=[units[1]], due_on=day(30))
        c = self.new_task(plan, other, units=[units[0]])
        self.new_log(a, units[0], percent=60, status="in_progress")
        self.new_log(b, units[1], percent=20, status="in_progress")
        self.changed("PATCH", f"{TASKS}/{b['id']}", {"status": "done"})
        self.assertRollupsKept(plan)
        self.assertEqual({k: v for k, v in self.task(mid)["rollup"].items() if k != "warning"},
                         {"tasks": 3, "done": 1, "progress": 40})
        self.changed("PATCH", f"{TASKS}/{a['id']}", {"unit_ids": []})
        self.changed("PATCH", f"{TASKS}/{c['id']}", {"parent_id": mid["id"], "level": 3})
        self.changed("PATCH", f"{TASKS}/{mid['id']}", {"parent_id": other["id"]})
        self.assertRollupsKept(plan)
        grandchild = self.new_task(plan, leaf, units=[units[0]], due_on=day(1))
        self.assertRollupsKept(plan)
        self.assertEqual(self.request("DELETE", f"{TASKS}/{grandchild['id']}").status, 204)
        self.assertRollupsKept(plan)
        self.assertNotIn("rollup", self.task(leaf))
        self.assertEqual(self.request("DELETE", f"{TASKS}/{mid['id']}?cascade=true").status, 204)
        self.assertRollupsKept(plan)
        self.assertNotIn("rollup", self.task(other))
        self.assertEqual(self.db.query("SELECT count(*) FROM task_sums s "
                                       "WHERE NOT EXISTS (SELECT 1 FROM task t WHERE t.id = s.task_id)"), [["0"]])

    def test_the_refresher_folds_the_sums_of_past_renders_that_count_nothing(self):
        """A render moves a task's part to the rows of today's render, so
        the rows of earlier renders empty out over the shards; the refresher
        removes those before yesterday whose sums are zero, and no other."""
        plan, top, mid, leaf = self.new_tree()
        rows = "task_id, rendered_on, rendered_plan, shard, tasks, done, progress_sum, progress_n, blue, yellow, red"
        self.db.query(f"INSERT INTO task_sums ({rows}) VALUES "
                      f"({top['id']}, current_date - 5, 1, 61, 2, 1, 80, 2, 0, 1, 0), "
                      f"({top['id']}, current_date - 5, 1, 62, -2, -1, -80, -2, 0, -1, 0), "
                      f"({top['id']}, current_date - 4, 1, 61, 1, 0, 0, 0, 1, 0, 0), "
                      f"({top['id']}, current_date - 1, 1, 61, 1, 0, 0, 0, 0, 0, 0), "
                      f"({top['id']}, current_date - 1, 1, 62, -1, 0, 0, 0, 0, 0, 0)")
        self.db.query("SELECT task_sums_fold()")
        self.assertEqual(self.db.query(f"SELECT current_date - rendered_on, shard FROM task_sums "
                                       f"WHERE task_id = {top['id']} AND rendered_on < current_date ORDER BY 1, 2"),
                         [["1", "61"], ["1", "62"], ["4", "61"]])

    def test_the_refresher_renders_again_a_passed_day_and_changed_plan_settings(self):
        """Every minute the refresher looks for tasks of another day and for
        tasks rendered under older settings of their plan, both on an index
        (nothing is read when none is stale; model/today.c)."""
        plan, top, mid, leaf = self.new_tree()
        other, _, _, settled = self.new_tree()
        self.db.query(KEPT_THE_DAY_BEFORE.format(ids=leaf["id"]))
        changed = self.changed("PATCH", f"{API}/plans/{other['id']}", {"supervision": {"lag_points": 7}},
                               "application/merge-patch+json")
        both = (f"SELECT (SELECT today_on = current_date FROM task WHERE id = {leaf['id']}) "
                f"AND (SELECT today_plan = {changed['version']} FROM task WHERE id = {settled['id']})")
        deadline = time.time() + 150   # a look every 60 s
        while time.time() < deadline and self.db.query(both) != [["t"]]:
            time.sleep(0.5)
        self.assertEqual(self.db.query(f"SELECT id, today_on = current_date FROM task WHERE id = {leaf['id']}"),
                         [[str(leaf["id"]), "t"]])
        self.assertEqual(self.db.query(f"SELECT today_plan FROM task WHERE id = {settled['id']}"),
                         [[str(changed["version"])]])

    def test_a_row_kept_on_an_earlier_day_is_read_with_todays_members(self):
        plan, top, mid, leaf = self.new_tree()
        unit = self.new_unit()
        late = self.new_task(plan, mid, units=[unit], due_on=day(-3))
        before = {t["id"]: self.task(t) for t in (late, mid)}
        self.assertEqual(before[late["id"]]["warning"], "red")
        self.assertEqual(before[mid["id"]]["rollup"]["warning"], "red")
        self.db.query(KEPT_THE_DAY_BEFORE.format(ids=f"{late['id']}, {mid['id']}"))
        stale = self.db.query(f"SELECT count(*) FROM task WHERE id IN ({late['id']}, {mid['id']}) "
                              f"AND strpos(doc, '{BLANK}') > 0")
        self.assertEqual(stale, [["2"]])
        for t in (late, mid):
            self.assertEqual(self.task(t), before[t["id"]])
        listed = self.listing(TASKS, {"plan_id": plan["id"], "parent_id": mid["id"]})["items"]
        self.assertEqual([t for t in listed if t["id"] == late["id"]], [before[late["id"]]])
        # a list joins each row's ready text (LATERAL): a parent kept the day
        # before is listed with today's members and its rollup, as a GET gives it
        listed = self.listing(TASKS, {"plan_id": plan["id"]})["items"]
        self.assertEqual([t for t in listed if t["id"] == mid["id"]], [before[mid["id"]]])

    def test_the_overdue_total_is_kept_equal_to_the_tasks_it_counts(self):
        """The overdue lists read their totals from counts kept at write
        time (migration 0022): after creates, closes, a reopening, due
        dates moved, deletes and a plan deleted with its tasks, the totals
        for all plans and for one plan are the tasks counted, and the kept
        rows are the tasks grouped."""
        plan, top, mid, leaf = self.new_tree()
        unit = self.new_unit()
        late = [self.new_task(plan, mid, units=[unit], due_on=day(-d)) for d in (1, 2, 2, 5, 9)]
        soon = self.new_task(plan, mid, units=[unit], due_on=day(3))
        self.new_task(plan, mid, units=[unit])                                    # no due date
        self.changed("PATCH", f"{TASKS}/{late[0]['id']}", {"status": "done"})
        self.changed("PATCH", f"{TASKS}/{late[1]['id']}", {"due_on": day(4)})     # no longer late
        self.changed("PATCH", f"{TASKS}/{soon['id']}", {"due_on": day(-1)})       # late now
        self.changed("PATCH", f"{TASKS}/{late[2]['id']}", {"status": "cancelled"})
        self.changed("PATCH", f"{TASKS}/{late[2]['id']}", {"status": "in_progress"})
        self.assertEqual(self.request("DELETE", f"{TASKS}/{late[3]['id']}").status, 204)
        gone, *_ = self.new_tree()
        for d in (1, 1, 3):
            self.new_task(gone, units=[unit], due_on=day(-d))
        before = self.total(TASKS, {"overdue": "true"})
        self.assertEqual(self.request("DELETE", f"{API}/plans/{gone['id']}?cascade=true").status, 204)
        # late[2] (reopened), late[4] and soon are late: three
        self.assertEqual(self.total(TASKS, {"overdue": "true", "plan_id": plan["id"]}), 3)
        self.assertEqual(self.total(TASKS, {"plan_id": plan["id"], "overdue": "true"}), 3)
        self.assertEqual(self.total(TASKS, {"overdue": "true"}), before - 3)
        open_tasks = "FROM task WHERE status IN ('not_started', 'in_progress') AND due_on IS NOT NULL"
        counted = self.db.query(f"SELECT count(*) {open_tasks} AND due_on < '{day(0)}'")
        self.assertEqual(self.total(TASKS, {"overdue": "true"}), int(counted[0][0]))
        grouped = self.db.query(f"SELECT plan_id, due_on, count(*) {open_tasks} GROUP BY 1, 2 ORDER BY 1, 2")
        kept = self.db.query("SELECT plan_id, due_on, n FROM task_open_due_count WHERE n <> 0 ORDER BY 1, 2")
        self.assertEqual(kept, grouped)
        self.assertEqual(self.db.query(f"SELECT count(*) FROM task_open_due_count WHERE plan_id = {gone['id']}"),
                         [["0"]])

    def test_a_units_lead_total_is_kept_equal_to_the_tasks_it_leads(self):
        """A unit's lead list reads its total from counts kept at write time
        (migration 0025): after creates, assignments reordered and dropped,
        a delete, a plan deleted with its tasks and an import, the total is
        the tasks counted, and the kept rows are the tasks grouped."""
        plan, top, mid, leaf = self.new_tree()
        one, two = self.new_unit(), self.new_unit()
        tasks = [self.new_task(plan, mid, units=u) for u in ([one], [one, two], [two, one], [two], [one])]
        self.changed("PATCH", f"{TASKS}/{tasks[2]['id']}", {"unit_ids": [one["id"], two["id"]]})   # one leads now
        self.changed("PATCH", f"{TASKS}/{tasks[0]['id']}", {"unit_ids": []})                       # nobody leads
        self.assertEqual(self.request("DELETE", f"{TASKS}/{tasks[4]['id']}").status, 204)
        gone, *_ = self.new_tree()
        for _ in range(3):
            self.new_task(gone, units=[one])
        self.assertEqual(self.total(TASKS, {"unit_id": one["id"], "role": "lead"}), 5)
        self.assertEqual(self.request("DELETE", f"{API}/plans/{gone['id']}?cascade=true").status, 204)
        with open(os.path.join(SOURCE_DIR, "seed", "plan-2018.txt"), encoding="utf-8") as f:
            text = f.read().replace("青西新办发", "青西新办发" + tag())
        r = self.server.request("POST", f"{API}/plans/import", body=text,
                                headers={"Content-Type": "text/plain; charset=utf-8"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.total(TASKS, {"unit_id": one["id"], "role": "lead"}), 2)
        self.assertEqual(self.total(TASKS, {"role": "lead", "unit_id": two["id"]}), 1)
        grouped = self.db.query("SELECT lead_unit_id, plan_id, count(*) FROM task WHERE lead_unit_id IS NOT NULL "
                                "GROUP BY 1, 2 ORDER BY 1, 2")
        kept = self.db.query("SELECT unit_id, plan_id, n FROM task_lead_count WHERE n <> 0 ORDER BY 1, 2")
        self.assertEqual(kept, grouped)
        self.assertEqual(self.db.query(f"SELECT count(*) FROM task_lead_count WHERE plan_id = {gone['id']}"), [["0"]])

    def test_an_import_renders_each_task_once_and_completely(self):
        """An import defers rendering to its end (duban.render_later): every
        task it made has its doc, equal to the tables, and none is pending."""
        with open(os.path.join(SOURCE_DIR, "seed", "plan-2018.txt"), encoding="utf-8") as f:
            text = f.read().replace("青西新办发", "青西新办发" + tag())
        r = self.server.request("POST", f"{API}/plans/import", body=text,
                                headers={"Content-Type": "text/plain; charset=utf-8"})
        self.assertEqual(r.status, 201, r)
        plan_id = r.json()["plan_id"]
        rows = self.db.query(f"SELECT r.id, r.doc = {COMPUTED}, r.doc <> '' FROM task r WHERE r.plan_id = {plan_id}")
        self.assertGreater(len(rows), 100)
        self.assertEqual([r for r in rows if r[1:] != ["t", "t"]], [], "imported tasks whose doc is pending or wrong")

    def test_a_get_after_a_rename_shows_the_new_names(self):
        plan, unit, leader = self.new_plan(), self.new_unit(), self.new_leader()
        t = self.new_task(plan, units=[unit], leaders=[leader])
        unit_name, leader_name = "新名称 " + tag(), "新领导 " + tag()
        self.changed("PATCH", f"{API}/units/{unit['id']}", {"name": unit_name})
        self.changed("PATCH", f"{API}/leaders/{leader['id']}", {"name": leader_name})
        got = self.task(t)
        self.assertEqual(got["units"], [{"id": unit["id"], "name": unit_name, "role": "lead", "acknowledged_at": None}])
        self.assertEqual(got["leaders"], [{"id": leader["id"], "name": leader_name}])
        self.assertEqual(got["version"], t["version"] + 2)
        listed = self.listing(TASKS, {"plan_id": plan["id"]})["items"]
        self.assertEqual(listed, [got])

    def test_prefer_count_none_leaves_total_out_and_says_so(self):
        plan = self.new_plan()
        for _ in range(3):
            self.new_task(plan)
        params = {"plan_id": plan["id"], "limit": 2}
        counted = self.get(TASKS, params)
        self.assertEqual(counted.json()["total"], 3)
        self.assertIsNone(counted.header("preference-applied"))
        r = self.get(TASKS, params, {"Prefer": "count=none"})
        self.assertEqual(r.status, 200, r)
        page = r.json()
        self.assertEqual(set(page), {"items", "limit", "offset"}, page)
        self.assertEqual(page["items"], counted.json()["items"])
        self.assertEqual(r.header("preference-applied"), "count=none")
        self.assertIn("next", links(r), "the next page is known without counting")
        last = self.get(TASKS, {**params, "offset": 2}, {"Prefer": "count=none"})
        self.assertNotIn("next", links(last))
        # revalidation in that mode: 304 while nothing changes, 200 after a write
        tag_none = r.header("etag")
        self.assertNotEqual(tag_none, counted.header("etag"))
        again = self.get(TASKS, params, {"Prefer": "count=none", "If-None-Match": tag_none})
        self.assertEqual(again.status, 304, again)
        self.changed("PATCH", f"{TASKS}/{page['items'][0]['id']}", {"title": "改 " + tag()})
        after = self.get(TASKS, params, {"Prefer": "count=none", "If-None-Match": tag_none})
        self.assertEqual(after.status, 200, after)

    def walk(self, params):
        """Every item of a list, page by page following rel=next cursors."""
        r = self.get(TASKS, params)
        self.assertEqual(r.status, 200, r)
        items, seen = r.json()["items"], 1
        while "next" in links(r):
            nxt = links(r)["next"]
            self.assertIn("after=", nxt)
            self.assertNotIn("offset=", nxt)
            r = self.get(nxt)
            self.assertEqual(r.status, 200, r)
            items += r.json()["items"]
            seen += 1
            self.assertLess(seen, 100)
        return items

    def test_after_paging_walks_the_list_as_offset_paging_does(self):
        plan, top, mid, leaf = self.new_tree()
        for i in range(7):
            self.new_task(plan, top if i % 2 else None, due_on=day(i) if i % 3 else None)
        for sort in (None, "-due_on", "due_on,title", "-path"):
            params = {"plan_id": plan["id"], "limit": 3}
            if sort:
                params["sort"] = sort
            whole = self.listing(TASKS, {**params, "limit": 100})["items"]
            by_offset = []
            for offset in range(0, len(whole), 3):
                by_offset += self.listing(TASKS, {**params, "offset": offset})["items"]
            self.assertEqual(by_offset, whole, sort)
            # an empty cursor starts the walk; the cursor of each page's last row leads on
            self.assertEqual(self.walk({**params, "after": ""}), whole, sort)

    def test_a_bad_after_is_400_naming_it(self):
        plan = self.new_plan()
        for _ in range(3):
            self.new_task(plan)
        first = self.get(TASKS, {"plan_id": plan["id"], "limit": 1, "after": ""})
        good = dict(p.split("=", 1) for p in links(first)["next"].split("?", 1)[1].split("&"))["after"]
        # a good cursor is accepted, but only with the order that made it
        self.assertEqual(self.get(TASKS, {"plan_id": plan["id"], "limit": 1, "after": good}).status, 200)
        decoded = json.loads(base64.urlsafe_b64decode(good + "=" * (-len(good) % 4)))

        def b64(value):
            return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

        bad = ["!!!", good + "=", good[:-1], b64([1, 2, 3]), b64({"a": 1}), b64(decoded[:-1]),
               b64([decoded[0], "x", "{1}", "1"]), b64(["00000000"] + decoded[1:])]
        for after in bad:
            r = self.get(TASKS, {"plan_id": plan["id"], "after": after})
            self.assertFieldErrors(r, 400, ["after"])
        r = self.get(TASKS, {"plan_id": plan["id"], "after": good, "sort": "title"})
        self.assertFieldErrors(r, 400, ["after"])
        r = self.get(TASKS, {"plan_id": plan["id"], "after": good, "offset": 1})
        self.assertFieldErrors(r, 400, ["offset"])


if __name__ == "__main__":
    main()
