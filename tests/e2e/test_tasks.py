"""Tasks: the shared resource contract, ordered assignments with lead and
partner roles, the tree (levels, dense positions, paths, moves, cycles,
cascading deletes), every documented filter and the task lists under a
unit and a leader."""


from fixtures import API, BASELINE, NO_SUCH_ID, POVERTY_OFFICE, Api, CrudContract, SharedRows, day, query, ref, tag
from harness import ServerTest, main

TASKS = f"{API}/tasks"


class Tasks(CrudContract, ServerTest):
    collection = TASKS
    optional = ("due_text", "2018年6月底前", None)
    long_field = "body"
    date_param = "due_before"

    def setUp(self):
        cls = type(self)
        if not hasattr(cls, "plan"):
            cls.plan = self.new_plan()
            cls.unit = self.new_unit()
            cls.leader = self.new_leader()

    def new_row(self, **overrides):
        body = {"plan_id": self.plan["id"], "title": "任务 " + tag(), "body": "正文", "status": "in_progress",
                "due_on": day(200), "due_text": "2018年6月底前", "recurrence": "quarterly", "outline": "一",
                "unit_ids": [self.unit["id"]], "leader_ids": [self.leader["id"]]}
        body.update(overrides)
        return TASKS, body

    def replacement(self, doc):
        return {"plan_id": doc["plan_id"], "title": doc["title"] + " 改", "status": "done"}

    def invalid_row(self):
        body = {"title": "", "status": "finished", "due_on": "2018-13-01", "recurrence": "daily", "level": 7,
                "unit_ids": [0]}
        return TASKS, body, ["plan_id", "title", "status", "due_on", "recurrence", "level", "unit_ids"]

    def malformed_row(self):
        body = {"plan_id": "1", "title": ["一"], "unit_ids": [1, "2"], "leader_ids": 3, "priority": "high"}
        return TASKS, body, ["plan_id", "title", "unit_ids", "leader_ids", "priority"]

    def chinese(self):
        return {"title": BASELINE, "body": POVERTY_OFFICE + "牵头，" + BASELINE, "due_text": "2018年底前"}

    def page_rows(self):
        plan = self.new_plan()
        return {"plan_id": plan["id"]}, [self.new_task(plan)["id"] for _ in range(3)]

    def test_put_of_a_task_empties_its_assignments(self):
        doc = self.make()
        new = self.changed("PUT", self.item(doc), self.replacement(doc))
        self.assertEqual((new["unit_ids"], new["units"], new["leader_ids"], new["leaders"]), ([], [], [], []))
        self.assertEqual((new["due_on"], new["recurrence"], new["status"]), (None, None, "done"))


class Assignments(Api, ServerTest):
    """leader_ids and unit_ids keep their order; the first unit leads."""

    def test_units_keep_their_order_and_the_first_leads(self):
        plan = self.new_plan()
        u1, u2, u3 = (self.new_unit(name=f"{POVERTY_OFFICE} {tag()}") for _ in range(3))
        l1, l2 = self.new_leader(), self.new_leader()
        t = self.new_task(plan, units=[u3, u1, u2], leaders=[l2, l1])
        self.assertEqual(t["unit_ids"], [u3["id"], u1["id"], u2["id"]])
        unsigned = {"acknowledged_at": None}
        self.assertEqual(t["units"], [{"id": u3["id"], "name": u3["name"], "role": "lead", **unsigned},
                                      {"id": u1["id"], "name": u1["name"], "role": "partner", **unsigned},
                                      {"id": u2["id"], "name": u2["name"], "role": "partner", **unsigned}])
        self.assertEqual(t["leader_ids"], [l2["id"], l1["id"]])
        self.assertEqual(t["leaders"], [{"id": l2["id"], "name": l2["name"]}, {"id": l1["id"], "name": l1["name"]}])
        self.assertEqual(self.task(t), t)
        again = self.changed("PATCH", f"{TASKS}/{t['id']}", {"unit_ids": [u2["id"], u3["id"]], "leader_ids": [l1["id"]]},
                             "application/merge-patch+json")
        self.assertEqual(again["version"], 2)
        self.assertEqual([(u["id"], u["role"]) for u in again["units"]], [(u2["id"], "lead"), (u3["id"], "partner")])
        self.assertEqual(again["leaders"], [{"id": l1["id"], "name": l1["name"]}])
        cleared = self.changed("PATCH", f"{TASKS}/{t['id']}", {"unit_ids": None, "leader_ids": []})
        self.assertEqual((cleared["units"], cleared["unit_ids"], cleared["leaders"]), ([], [], []))

    def test_unknown_or_repeated_ids_are_422(self):
        plan, unit, leader = self.new_plan(), self.new_unit(), self.new_leader()
        before = self.total(TASKS)
        r = self.send("POST", TASKS, {"plan_id": plan["id"], "title": tag(), "unit_ids": [unit["id"], NO_SUCH_ID],
                                      "leader_ids": [NO_SUCH_ID]})
        self.assertFieldErrors(r, 422, ["unit_ids", "leader_ids"])
        r = self.send("POST", TASKS, {"plan_id": plan["id"], "title": tag(), "unit_ids": [unit["id"], unit["id"]],
                                      "leader_ids": [leader["id"], leader["id"]]})
        self.assertFieldErrors(r, 422, ["unit_ids", "leader_ids"])
        r = self.send("POST", TASKS, {"plan_id": NO_SUCH_ID, "title": tag()})
        self.assertFieldErrors(r, 422, ["plan_id"])
        self.assertEqual(self.total(TASKS), before)

    def test_a_task_needs_a_title_or_a_body(self):
        plan = self.new_plan()
        self.assertFieldErrors(self.send("POST", TASKS, {"plan_id": plan["id"]}), 422, ["title"])
        only_body = self.created(TASKS, {"plan_id": plan["id"], "body": BASELINE})
        self.assertEqual((only_body["title"], only_body["body"]), (None, BASELINE))
        self.assertProblem(self.send("PATCH", f"{TASKS}/{only_body['id']}", {"body": None}), 422)
        self.assertEqual(self.task(only_body)["body"], BASELINE)

    def test_title_or_body_rule_names_the_field_for_nulls(self):
        plan = self.new_plan()
        only_body = self.created(TASKS, {"plan_id": plan["id"], "body": BASELINE})
        p = self.assertFieldErrors(self.send("PATCH", f"{TASKS}/{only_body['id']}", {"body": None}), 422, ["title"])
        self.assertNotIn("task_check", p["detail"])
        self.assertFieldErrors(self.send("POST", TASKS, {"plan_id": plan["id"], "title": None}), 422, ["title"])

    def test_every_bad_field_is_listed_with_unknown_ids(self):
        plan = self.new_plan()
        r = self.send("POST", TASKS, {"plan_id": plan["id"], "title": tag(), "status": "bogus",
                                      "unit_ids": [NO_SUCH_ID], "leader_ids": [NO_SUCH_ID]})
        self.assertFieldErrors(r, 422, ["status", "unit_ids", "leader_ids"])

    def test_renaming_a_unit_invalidates_its_tasks_etag(self):
        plan, unit = self.new_plan(), self.new_unit()
        t = self.new_task(plan, units=[unit])
        self.changed("PATCH", f"{API}/units/{unit['id']}", {"name": f"{POVERTY_OFFICE} {tag()}"})
        r = self.request("GET", f"{TASKS}/{t['id']}", headers={"If-None-Match": '"1"'})
        self.assertEqual(r.status, 200, r)


class Tree(Api, ServerTest):
    def item(self, t):
        return f"{TASKS}/{ref(t)}"

    def test_three_levels_have_levels_positions_and_paths(self):
        plan, top, mid, leaf = self.new_tree()
        self.assertEqual([(t["level"], t["parent_id"], t["position"], t["path"]) for t in (top, mid, leaf)],
                         [(1, None, 1, "1"), (2, top["id"], 1, "1.1"), (3, mid["id"], 1, "1.1.1")])
        self.assertEqual([t["outline"] for t in (top, mid, leaf)], ["一", "（一）", "1."])
        second = self.new_task(plan)
        self.assertEqual((second["position"], second["path"]), (2, "2"))
        para = self.new_task(plan, leaf, body=BASELINE, title=None)
        self.assertEqual((para["level"], para["path"]), (4, "1.1.1.1"))
        self.assertEqual(self.ids(TASKS, {"plan_id": plan["id"]}), [top["id"], mid["id"], leaf["id"], para["id"],
                                                                    second["id"]])

    def test_level_must_be_deeper_than_the_parent_and_paragraphs_have_no_children(self):
        plan, top, mid, leaf = self.new_tree()
        self.assertFieldErrors(self.send("POST", TASKS, {"plan_id": plan["id"], "parent_id": mid["id"], "title": tag(),
                                                         "level": 2}), 422, ["level"])
        self.assertFieldErrors(self.send("POST", TASKS, {"plan_id": plan["id"], "title": tag(), "level": 2}),
                               422, ["level"])
        para = self.new_task(plan, leaf, level=4)
        self.assertFieldErrors(self.send("POST", TASKS, {"plan_id": plan["id"], "parent_id": para["id"],
                                                         "title": tag()}), 422, ["parent_id"])
        skipping = self.new_task(plan, top, level=3)
        self.assertEqual((skipping["level"], skipping["path"]), (3, "1.2"))

    def test_inserting_at_a_position_shifts_the_siblings(self):
        plan = self.new_plan()
        a, b, c = (self.new_task(plan) for _ in range(3))
        a1 = self.new_task(plan, a)
        b1 = self.new_task(plan, b)
        first = self.new_task(plan, position=1)
        self.assertEqual((first["position"], first["path"]), (1, "1"))
        self.assertDense(plan, None, [first, a, b, c])
        self.assertEqual(self.task(b1)["path"], "3.1")
        self.assertEqual(self.task(a1)["path"], "2.1")
        middle = self.new_task(plan, position=3)
        self.assertDense(plan, None, [first, a, middle, b, c])
        self.assertEqual(self.task(b1)["path"], "4.1")
        # Every shifted sibling changed (position and path): a new version each time.
        self.assertEqual([self.task(t)["version"] for t in (a, b, c)], [2, 3, 3])
        self.assertEqual(self.task(a1)["version"], 2)
        self.assertFieldErrors(self.send("POST", TASKS, {"plan_id": plan["id"], "title": tag(), "position": 7}),
                               422, ["position"])
        self.assertFieldErrors(self.send("POST", TASKS, {"plan_id": plan["id"], "title": tag(), "position": 0}),
                               422, ["position"])
        last = self.new_task(plan, position=6)
        self.assertDense(plan, None, [first, a, middle, b, c, last])

    def test_moving_within_the_group_keeps_it_dense(self):
        plan = self.new_plan()
        a, b, c, d = (self.new_task(plan) for _ in range(4))
        c1 = self.new_task(plan, c)
        moved = self.changed("PATCH", self.item(a), {"position": 3}, "application/merge-patch+json")
        self.assertEqual((moved["position"], moved["path"], moved["version"]), (3, "3", 2))
        self.assertDense(plan, None, [b, c, a, d])
        self.assertEqual(self.task(c1)["path"], "2.1")
        self.changed("PATCH", self.item(d), {"position": 1})
        self.assertDense(plan, None, [d, b, c, a])
        self.assertEqual(self.task(c1)["path"], "3.1")
        self.assertFieldErrors(self.send("PATCH", self.item(d), {"position": 5}), 422, ["position"])

    def test_moving_under_another_parent_renumbers_both_groups(self):
        plan = self.new_plan()
        a, b = self.new_task(plan), self.new_task(plan)
        a1, a2, a3 = (self.new_task(plan, a) for _ in range(3))
        a11 = self.new_task(plan, a1)
        b1 = self.new_task(plan, b)
        moved = self.changed("PATCH", self.item(a1), {"parent_id": b["id"]}, "application/merge-patch+json")
        self.assertEqual((moved["parent_id"], moved["position"], moved["path"], moved["level"]), (b["id"], 2, "2.2", 2))
        self.assertEqual(moved["version"], 2)
        self.assertDense(plan, a, [a2, a3])
        self.assertDense(plan, b, [b1, a1])
        self.assertEqual(self.task(a11)["path"], "2.2.1")
        self.assertEqual(self.task(a11)["parent_id"], a1["id"])
        # Placed at a given position in the new group.
        self.changed("PATCH", self.item(a3), {"parent_id": b["id"], "position": 1})
        self.assertDense(plan, a, [a2])
        self.assertDense(plan, b, [a3, b1, a1])
        self.assertEqual(self.task(a11)["path"], "2.3.1")
        # Up to the top level (a top-level task has level 1).
        top = self.changed("PATCH", self.item(a2), {"parent_id": None, "level": 1})
        self.assertEqual((top["parent_id"], top["path"], top["level"]), (None, "3", 1))
        self.assertDense(plan, None, [a, b, a2])
        self.assertEqual(self.children(plan, a), [])

    def test_parent_in_another_plan_is_422(self):
        plan, other = self.new_plan(), self.new_plan()
        foreign = self.new_task(other)
        before = self.total(TASKS, {"plan_id": plan["id"]})
        r = self.send("POST", TASKS, {"plan_id": plan["id"], "parent_id": foreign["id"], "title": tag()})
        self.assertFieldErrors(r, 422, ["parent_id"])
        self.assertEqual(self.total(TASKS, {"plan_id": plan["id"]}), before)
        mine = self.new_task(plan)
        self.assertFieldErrors(self.send("PATCH", self.item(mine), {"parent_id": foreign["id"]}), 422, ["parent_id"])
        self.assertFieldErrors(self.send("PATCH", self.item(mine), {"plan_id": other["id"]}), 422, ["plan_id"])
        self.assertFieldErrors(self.send("POST", TASKS, {"plan_id": plan["id"], "parent_id": NO_SUCH_ID,
                                                         "title": tag()}), 422, ["parent_id"])
        self.assertEqual(self.task(mine)["version"], 1)

    def test_a_task_cannot_go_under_itself_or_its_descendants(self):
        plan, top, mid, leaf = self.new_tree()
        for parent in (leaf, mid, top):
            with self.subTest(parent=parent["path"]):
                r = self.send("PATCH", self.item(top), {"parent_id": parent["id"], "level": 4},
                              "application/merge-patch+json")
                self.assertFieldErrors(r, 422, ["parent_id"])
        self.assertFieldErrors(self.send("PATCH", self.item(mid), {"parent_id": leaf["id"], "level": 4}),
                               422, ["parent_id"])
        self.assertEqual([self.task(t)["path"] for t in (top, mid, leaf)], ["1", "1.1", "1.1.1"])
        self.assertEqual([self.task(t)["version"] for t in (top, mid, leaf)], [1, 1, 1])

    def test_moving_a_subtree_deeper_keeps_levels_below_their_parent(self):
        plan = self.new_plan()
        x, y = self.new_task(plan), self.new_task(plan)
        x1 = self.new_task(plan, x)
        x11 = self.new_task(plan, x1)
        y1 = self.new_task(plan, y)
        r = self.send("PATCH", self.item(x1), {"parent_id": y1["id"], "level": 3})
        if r.status == 200:
            moved, child = self.task(x1), self.task(x11)
            self.assertGreater(child["level"], moved["level"])
            self.assertEqual(child["level"], len(child["path"].split(".")))
        else:
            self.assertFieldErrors(r, 422, ["parent_id"])

    def test_delete_with_children_is_409_unless_cascade(self):
        plan = self.new_plan()
        a, b, c = (self.new_task(plan) for _ in range(3))
        b1, b2 = self.new_task(plan, b), self.new_task(plan, b)
        b11 = self.new_task(plan, b1)
        c1 = self.new_task(plan, c)
        p = self.assertProblem(self.request("DELETE", self.item(b)), 409)
        self.assertIn(str(b1["id"]), p["detail"])
        self.assertIn(str(b2["id"]), p["detail"])
        self.assertIn("cascade", p["detail"])
        self.assertDense(plan, None, [a, b, c])
        self.assertProblem(self.request("DELETE", self.item(b) + "?cascade=maybe"), 400)
        r = self.request("DELETE", self.item(b) + "?cascade=true")
        self.assertEqual(r.status, 204, r)
        for t in (b, b1, b2, b11):
            self.gone(self.item(t))
        self.assertDense(plan, None, [a, c])
        self.assertEqual(self.task(c1)["path"], "2.1")
        self.assertEqual(self.total(TASKS, {"plan_id": plan["id"]}), 3)

    def test_deleting_a_leaf_closes_the_gap(self):
        plan = self.new_plan()
        a = self.new_task(plan)
        a1, a2, a3 = (self.new_task(plan, a) for _ in range(3))
        self.assertEqual(self.request("DELETE", self.item(a1)).status, 204)
        self.assertDense(plan, a, [a2, a3])
        self.assertEqual(self.task(a3)["version"], 2)


class Filters(SharedRows, Api, ServerTest):
    """One plan whose tasks differ in every filtered property."""

    def build_rows(self, cls):
        cls.plan = self.new_plan()
        cls.ua, cls.ub = self.new_unit(), self.new_unit()
        cls.la, cls.lb = self.new_leader(), self.new_leader()
        # Path order: t1 "1", t4 "1.1", t2 "2", t3 "3".
        cls.t1 = self.new_task(cls.plan, units=[cls.ua, cls.ub], leaders=[cls.la], status="in_progress",
                               due_on=day(-10), title="a 督查督办 " + tag(), body="第一项")
        cls.t2 = self.new_task(cls.plan, units=[cls.ub], leaders=[cls.lb], due_on=day(10), title="b " + tag())
        cls.t3 = self.new_task(cls.plan, units=[cls.ub, cls.ua], leaders=[cls.la, cls.lb], status="done",
                               due_on=day(-5), title="c " + tag())
        cls.t4 = self.new_task(cls.plan, cls.t1, title="d " + tag(), body="含 Beta 的正文", due_on=day(100))
        cls.order = [cls.t1, cls.t4, cls.t2, cls.t3]

    def expect(self, params, *tasks, path=TASKS):
        wanted = [t["id"] for t in self.order if t in tasks]
        scoped = dict(params) if path != TASKS else {"plan_id": self.plan["id"], **params}
        with self.subTest(path=path, params=params):
            page = self.listing(path, scoped)
            self.assertEqual([i["id"] for i in page["items"]], wanted)
            self.assertEqual(page["total"], len(wanted))

    def test_default_order_is_by_path(self):
        self.expect({}, self.t1, self.t2, self.t3, self.t4)

    def test_plan_parent_and_level(self):
        self.expect({"parent_id": "null"}, self.t1, self.t2, self.t3)
        self.expect({"parent_id": self.t1["id"]}, self.t4)
        self.expect({"parent_id": self.t2["id"]})
        self.expect({"level": 1}, self.t1, self.t2, self.t3)
        self.expect({"level": 2}, self.t4)
        other = self.new_plan()
        self.assertEqual(self.total(TASKS, {"plan_id": other["id"]}), 0)

    def test_unit_and_role(self):
        self.expect({"unit_id": self.ua["id"]}, self.t1, self.t3)
        self.expect({"unit_id": self.ua["id"], "role": "lead"}, self.t1)
        self.expect({"unit_id": self.ua["id"], "role": "partner"}, self.t3)
        self.expect({"unit_id": self.ub["id"], "role": "lead"}, self.t2, self.t3)
        self.expect({"unit_id": self.ub["id"], "role": "partner"}, self.t1)

    def test_role_without_unit_is_400(self):
        self.assertFieldErrors(self.request("GET", query(TASKS, {"role": "lead"})), 400, ["role"])
        self.assertFieldErrors(self.request("GET", query(TASKS, {"unit_id": self.ua["id"], "role": "owner"})),
                               400, ["role"])

    def test_leader_status_and_q(self):
        self.expect({"leader_id": self.la["id"]}, self.t1, self.t3)
        self.expect({"leader_id": self.lb["id"]}, self.t2, self.t3)
        self.expect({"status": "done"}, self.t3)
        self.expect({"status": "not_started"}, self.t2, self.t4)
        self.expect({"status": "cancelled"})
        self.expect({"q": "督查督办"}, self.t1)
        self.expect({"q": "beta"}, self.t4)
        self.expect({"q": "第一项"}, self.t1)
        self.expect({"q": "没有这样的"})

    def test_warning_and_overdue(self):
        self.expect({"warning": "red"}, self.t1)
        self.expect({"warning": "blue"}, self.t2)
        self.expect({"warning": "red,blue"}, self.t1, self.t2)
        self.expect({"warning": "yellow"})
        self.expect({"warning": "none"}, self.t3, self.t4)
        self.expect({"overdue": "true"}, self.t1)
        self.expect({"overdue": "false"}, self.t2, self.t3, self.t4)

    def test_due_before_and_after(self):
        self.expect({"due_before": day(0)}, self.t1, self.t3)
        self.expect({"due_before": day(-7)}, self.t1)
        self.expect({"due_after": day(0)}, self.t2, self.t4)
        self.expect({"due_after": day(-7), "due_before": day(50)}, self.t2, self.t3)

    def test_filters_combine_with_and(self):
        self.expect({"unit_id": self.ub["id"], "leader_id": self.la["id"], "status": "done"}, self.t3)
        self.expect({"unit_id": self.ua["id"], "role": "lead", "overdue": "true", "level": 1}, self.t1)
        self.expect({"unit_id": self.ua["id"], "role": "lead", "overdue": "false"})

    def test_sorts(self):
        page = self.listing(TASKS, {"plan_id": self.plan["id"], "parent_id": "null", "sort": "-title"})
        self.assertEqual([i["id"] for i in page["items"]], [self.t3["id"], self.t2["id"], self.t1["id"]])
        page = self.listing(TASKS, {"plan_id": self.plan["id"], "sort": "due_on"})
        self.assertEqual([i["id"] for i in page["items"]], [self.t1["id"], self.t3["id"], self.t2["id"], self.t4["id"]])
        page = self.listing(TASKS, {"plan_id": self.plan["id"], "sort": "level,-path"})
        self.assertEqual([i["id"] for i in page["items"]], [self.t3["id"], self.t2["id"], self.t1["id"], self.t4["id"]])

    def test_bad_filter_values_are_400_naming_each(self):
        bad = {"plan_id": "abc", "parent_id": "none", "level": "5", "unit_id": "-1", "leader_id": "x",
               "status": "finished", "warning": "soon", "overdue": "yes", "due_after": "2018-02-29",
               "q": "", "sort": "priority"}
        for name, value in bad.items():
            with self.subTest(name=name):
                self.assertFieldErrors(self.request("GET", query(TASKS, {name: value})), 400, [name])
        self.assertFieldErrors(self.request("GET", query(TASKS, bad)), 400, list(bad))

    def test_tasks_of_a_unit(self):
        units = f"{API}/units/{self.ua['id']}/tasks"
        self.expect({}, self.t1, self.t3, path=units)
        self.expect({"role": "lead"}, self.t1, path=units)
        self.expect({"role": "partner"}, self.t3, path=units)
        self.expect({"role": "lead", "status": "in_progress"}, self.t1, path=units)
        self.assertFieldErrors(self.request("GET", query(units, {"unit_id": self.ub["id"]})), 400, ["unit_id"])
        self.assertFieldErrors(self.request("GET", query(units, {"role": "boss"})), 400, ["role"])

    def test_tasks_of_a_leader(self):
        leaders = f"{API}/leaders/{self.lb['id']}/tasks"
        self.expect({}, self.t2, self.t3, path=leaders)
        self.expect({"status": "done"}, self.t3, path=leaders)
        self.assertFieldErrors(self.request("GET", query(leaders, {"leader_id": self.la["id"]})), 400, ["leader_id"])

    def test_tasks_under_a_missing_unit_or_leader_are_404(self):
        self.assertProblem(self.request("GET", f"{API}/units/{NO_SUCH_ID}/tasks?role=lead"), 404)
        self.assertProblem(self.request("GET", f"{API}/units/{NO_SUCH_ID}/tasks"), 404)
        self.assertProblem(self.request("GET", f"{API}/leaders/{NO_SUCH_ID}/tasks"), 404)


if __name__ == "__main__":
    main()
