"""The audit journal tells what a client changed: a title edit is one row,
assignments are journaled only where they change, and what duban derives
(a task's progress from its logs, paths below a moved task, versions of
tasks showing a renamed unit) writes no row of its own."""

from harness import ServerTest, main
from seeding import API, Client, tag

MERGE_PATCH = "application/merge-patch+json"


class Journal(Client, ServerTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        self = cls("run")
        cls.plan = self.ok("POST", f"{API}/plans", {"title": "方案 " + tag()}, status=201)
        cls.units = [self.ok("POST", f"{API}/units", {"name": f"单位{i} " + tag()}, status=201) for i in range(4)]
        cls.leaders = [self.ok("POST", f"{API}/leaders", {"name": f"领导{i} " + tag()}, status=201) for i in range(2)]

    # -- helpers ---------------------------------------------------------
    def write(self, method, path, body=None, status=200):
        """One write with a request id of its own; returns (answer, the
        journal rows of that request as (entity, entity_id, action, row))."""
        rid = tag("journal")
        content_type = MERGE_PATCH if method == "PATCH" else None
        r = self.call(method, path, body, content_type=content_type, headers={"X-Request-Id": rid})
        self.assertEqual(r.status, status, r)
        rows = self.every(f"{API}/audit", request_id=rid)
        return (r.json() if r.body else None), rows

    @staticmethod
    def summary(rows):
        return sorted((r["entity"], r["entity_id"], r["action"]) for r in rows)

    def task(self, title=None, **fields):
        body = {"plan_id": self.plan["id"], "title": title or "任务 " + tag(), **fields}
        return self.ok("POST", f"{API}/tasks", body, status=201)

    def ids(self, rows):
        return [r["id"] for r in rows]

    # -- a title edit ----------------------------------------------------
    def test_a_title_patch_is_exactly_one_task_update(self):
        t = self.task(unit_ids=[self.units[0]["id"], self.units[1]["id"]], leader_ids=[self.leaders[0]["id"]])
        after, rows = self.write("PATCH", f"{API}/tasks/{t['id']}", {"title": "新标题 " + tag()})
        self.assertEqual(self.summary(rows), [("task", t["id"], "update")], rows)
        self.assertEqual((rows[0]["before"]["title"], rows[0]["after"]["title"]), (t["title"], after["title"]))
        self.assertEqual((rows[0]["before"]["version"], rows[0]["after"]["version"]), (t["version"], after["version"]))
        self.assertEqual(after["unit_ids"], t["unit_ids"])
        self.assertEqual(after["leader_ids"], t["leader_ids"])

    def test_a_put_with_the_same_assignments_journals_none(self):
        t = self.task(unit_ids=[self.units[0]["id"], self.units[1]["id"]],
                      leader_ids=[self.leaders[0]["id"], self.leaders[1]["id"]])
        body = {k: t[k] for k in ("plan_id", "parent_id", "level", "outline", "position", "title", "status",
                                  "due_on", "leader_ids", "unit_ids") if t[k] is not None}
        body["body"] = "正文 " + tag()
        after, rows = self.write("PUT", f"{API}/tasks/{t['id']}", body)
        self.assertEqual(self.summary(rows), [("task", t["id"], "update")], rows)
        self.assertEqual(after["unit_ids"], t["unit_ids"])
        self.assertEqual(self.every(f"{API}/audit", entity="task_unit", entity_id=t["id"], action="delete"), [])
        self.assertEqual(self.every(f"{API}/audit", entity="task_leader", entity_id=t["id"], action="delete"), [])

    def test_changed_units_journal_only_the_rows_that_differ(self):
        u = [x["id"] for x in self.units]
        t = self.task(unit_ids=[u[0], u[1], u[2]], leader_ids=[self.leaders[0]["id"]])
        # u0 leaves, u1 becomes the lead, u2 stays second, u3 joins third
        after, rows = self.write("PATCH", f"{API}/tasks/{t['id']}", {"unit_ids": [u[1], u[2], u[3]]})
        self.assertEqual(after["unit_ids"], [u[1], u[2], u[3]])
        self.assertEqual(after["units"][0]["role"], "lead")
        got = sorted((r["action"], (r["before"] or {}).get("unit_id"), (r["before"] or {}).get("position"),
                      (r["after"] or {}).get("unit_id"), (r["after"] or {}).get("position")) for r in rows)
        self.assertEqual(got, sorted([("delete", u[0], 1, None, None), ("update", u[1], 2, u[1], 1),
                                      ("update", u[2], 3, u[2], 2), ("insert", None, None, u[3], 3)]), rows)
        self.assertEqual({r["entity"] for r in rows}, {"task_unit"}, "the task row changed only its version")

        # a swap of the two units: two position updates, nothing deleted
        after, rows = self.write("PATCH", f"{API}/tasks/{t['id']}", {"unit_ids": [u[2], u[1], u[3]]})
        self.assertEqual(after["unit_ids"], [u[2], u[1], u[3]])
        self.assertEqual(sorted((r["entity"], r["action"], r["after"]["unit_id"], r["after"]["position"]) for r in rows),
                         sorted([("task_unit", "update", u[2], 1), ("task_unit", "update", u[1], 2)]))

        # leaders alike; emptying the units deletes each once
        after, rows = self.write("PATCH", f"{API}/tasks/{t['id']}",
                                 {"leader_ids": [self.leaders[1]["id"], self.leaders[0]["id"]], "unit_ids": []})
        self.assertEqual((after["leader_ids"], after["unit_ids"]), ([self.leaders[1]["id"], self.leaders[0]["id"]], []))
        self.assertEqual(sorted((r["entity"], r["action"]) for r in rows),
                         sorted([("task_leader", "insert"), ("task_leader", "update")]
                                + [("task_unit", "delete")] * 3), rows)

    def test_a_patch_that_changes_nothing_journals_nothing(self):
        t = self.task(unit_ids=[self.units[0]["id"]])
        _, rows = self.write("PATCH", f"{API}/tasks/{t['id']}", {"title": t["title"]})
        self.assertEqual(rows, [])

    # -- derived changes -------------------------------------------------
    def test_a_progress_log_is_journaled_and_the_progress_it_sets_is_not(self):
        unit = self.units[0]
        t = self.task(unit_ids=[unit["id"]])
        log, rows = self.write("POST", f"{API}/tasks/{t['id']}/progress-logs",
                               {"unit_id": unit["id"], "percent": 40, "summary": "进展 " + tag()}, status=201)
        self.assertEqual(self.ok("GET", f"{API}/tasks/{t['id']}")["progress"], 40)
        self.assertEqual(self.summary(rows), [("progress_log", log["id"], "insert")], rows)
        # a log that also sets the status changes something a client can
        # write: that is journaled on the task, with the status before and after
        log, rows = self.write("POST", f"{API}/tasks/{t['id']}/progress-logs",
                               {"unit_id": unit["id"], "percent": 60, "status": "in_progress",
                                "summary": "进展 " + tag()}, status=201)
        self.assertEqual(self.summary(rows), [("progress_log", log["id"], "insert"), ("task", t["id"], "update")])
        task_row = next(r for r in rows if r["entity"] == "task")
        self.assertEqual((task_row["before"]["status"], task_row["after"]["status"]), ("not_started", "in_progress"))
        self.assertEqual(self.every(f"{API}/audit", entity="task", entity_id=t["id"], action="update"), [task_row])

    def test_a_move_journals_the_moved_task_and_renumbered_siblings_not_paths_below(self):
        parent = self.task()
        kids = [self.task(parent_id=parent["id"]) for _ in range(3)]
        grandkids = [self.task(parent_id=k["id"]) for k in kids]
        moved, rows = self.write("PATCH", f"{API}/tasks/{kids[0]['id']}", {"position": 3})
        self.assertEqual(moved["position"], 3)
        # the move, and the two siblings whose position it changed; the
        # paths of the tasks below them follow and are not journaled
        self.assertEqual(self.summary(rows), sorted(("task", k["id"], "update") for k in kids), rows)
        by_id = {r["entity_id"]: r for r in rows}
        self.assertEqual([(by_id[k["id"]]["before"]["position"], by_id[k["id"]]["after"]["position"]) for k in kids],
                         [(1, 3), (2, 1), (3, 2)])
        paths = {g["id"]: self.ok("GET", f"{API}/tasks/{g['id']}")["path"] for g in grandkids}
        self.assertNotEqual(paths, {g["id"]: g["path"] for g in grandkids}, "the grandchildren did move")
        for g in grandkids:
            self.assertEqual([r["action"] for r in self.every(f"{API}/audit", entity="task", entity_id=g["id"])],
                             ["insert"])

    def test_a_unit_rename_journals_the_unit_not_the_tasks_showing_it(self):
        unit = self.ok("POST", f"{API}/units", {"name": "改名单位 " + tag()}, status=201)
        t = self.task(unit_ids=[unit["id"]])
        _, rows = self.write("PATCH", f"{API}/units/{unit['id']}", {"name": "新名单位 " + tag()})
        self.assertEqual(self.ok("GET", f"{API}/tasks/{t['id']}")["version"], t["version"] + 1)
        self.assertEqual({r["entity"] for r in rows}, {"unit", "unit_name"}, rows)


if __name__ == "__main__":
    main()
