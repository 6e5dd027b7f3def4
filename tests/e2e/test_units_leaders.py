"""Units (责任单位) and leaders (责任领导): the shared resource contract,
aliases in one namespace with the names, unique names, their filters, and
refusal to delete what tasks or progress logs still name."""

from fixtures import API, BASELINE, POVERTY_OFFICE, CrudContract, query, tag
from harness import ServerTest, main

UNITS = f"{API}/units"
LEADERS = f"{API}/leaders"


class Units(CrudContract, ServerTest):
    collection = UNITS
    long_field = "name"

    @property
    def optional(self):
        return ("aliases", [self.alias], [])

    def new_row(self, **overrides):
        self.alias = "别名 " + tag()
        body = {"name": "单位 " + tag(), "aliases": [self.alias], "kind": "department"}
        body.update(overrides)
        return UNITS, body

    def replacement(self, doc):
        return {"name": doc["name"] + " 改", "kind": "township"}

    def invalid_row(self):
        return UNITS, {"kind": "ministry", "aliases": ["", "x" * 201]}, ["name", "kind", "aliases"]

    def malformed_row(self):
        return UNITS, {"name": 7, "aliases": "扶贫办", "colour": "red"}, ["name", "aliases", "colour"]

    def chinese(self):
        return {"name": POVERTY_OFFICE, "aliases": ["扶贫办"]}

    def page_rows(self):
        marker = tag("page")
        return {"q": marker}, [self.new_unit(name=f"{marker} {i}")["id"] for i in range(3)]

    def test_put_and_patch_keep_the_optional_default(self):
        doc = self.make(kind="township")
        self.assertEqual(doc["kind"], "township")
        new = self.changed("PUT", self.item(doc), {"name": doc["name"]})
        self.assertEqual((new["kind"], new["aliases"]), ("department", []))

    # -- aliases ---------------------------------------------------------
    def test_aliases_are_found_by_the_name_filter(self):
        a1, a2 = "扶贫 " + tag(), "脱贫办 " + tag()
        unit = self.new_unit(aliases=[a2, a1])
        self.assertEqual(sorted(unit["aliases"]), sorted([a1, a2]))
        for name in (a1, a2, unit["name"]):
            with self.subTest(name=name):
                self.assertEqual(self.ids(UNITS, {"name": name}), [unit["id"]])
        self.assertEqual(self.ids(UNITS, {"name": a1[:-1]}), [])
        self.assertEqual(self.ids(UNITS, {"q": a2[3:].upper()}), [unit["id"]])
        self.changed("PATCH", self.item(unit), {"aliases": [a2]})
        self.assertEqual(self.ids(UNITS, {"name": a1}), [])
        self.assertEqual(self.ids(UNITS, {"name": a2}), [unit["id"]])

    def test_alias_equal_to_another_units_name_or_alias_is_409(self):
        alias = "别名 " + tag()
        first = self.new_unit(aliases=[alias])
        before = self.total(UNITS)
        p = self.assertProblem(self.send("POST", UNITS, {"name": tag(), "aliases": [first["name"]]}), 409)
        self.assertEqual({e["field"] for e in p.get("errors", [])}, {"aliases"}, p)
        p = self.assertProblem(self.send("POST", UNITS, {"name": tag(), "aliases": [alias]}), 409)
        self.assertEqual({e["field"] for e in p.get("errors", [])}, {"aliases"}, p)
        self.assertEqual(self.total(UNITS), before)
        second = self.new_unit()
        self.assertProblem(self.send("PATCH", self.item(second), {"aliases": ["新 " + tag(), alias]}), 409)
        self.assertProblem(self.send("PATCH", self.item(second), {"aliases": [first["name"]]}), 409)
        self.assertEqual(self.fetch(self.item(second))["aliases"], [])
        self.assertEqual(self.ids(UNITS, {"name": alias}), [first["id"]])

    def test_alias_equal_to_the_units_own_name_is_refused(self):
        name = "单位 " + tag()
        r = self.send("POST", UNITS, {"name": name, "aliases": [name]})
        self.assertProblem(r, 409)
        self.assertEqual(self.ids(UNITS, {"name": name}), [])

    def test_repeated_alias_is_422(self):
        alias = "别名 " + tag()
        self.assertFieldErrors(self.send("POST", UNITS, {"name": tag(), "aliases": [alias, alias]}), 422, ["aliases"])

    def test_duplicate_unit_name_is_409(self):
        unit = self.new_unit()
        before = self.total(UNITS)
        self.assertProblem(self.send("POST", UNITS, {"name": unit["name"]}), 409)
        self.assertEqual(self.total(UNITS), before)
        other = self.new_unit()
        self.assertProblem(self.send("PATCH", self.item(other), {"name": unit["name"]}), 409)
        self.assertEqual(self.fetch(self.item(other))["name"], other["name"])

    def test_a_name_equal_to_another_units_alias_is_409(self):
        alias = "别名 " + tag()
        self.new_unit(aliases=[alias])
        self.assertProblem(self.send("POST", UNITS, {"name": alias}), 409)
        other = self.new_unit()
        self.assertProblem(self.send("PATCH", self.item(other), {"name": alias}), 409)
        self.assertEqual(self.fetch(self.item(other))["version"], 1)

    def test_renamed_unit_frees_its_old_name(self):
        unit = self.new_unit()
        old = unit["name"]
        self.changed("PATCH", self.item(unit), {"name": old + " 新"})
        self.assertEqual(self.ids(UNITS, {"name": old}), [])
        self.assertEqual(self.new_unit(name=old)["name"], old)

    # -- filters ---------------------------------------------------------
    def test_kind_filter_and_name_sort(self):
        marker = tag("kind")
        b = self.new_unit(name=f"{marker} b", kind="township")
        a = self.new_unit(name=f"{marker} a", kind="township")
        c = self.new_unit(name=f"{marker} c", kind="enterprise")
        self.assertEqual(self.ids(UNITS, {"q": marker, "kind": "township"}), [b["id"], a["id"]])
        self.assertEqual(self.ids(UNITS, {"q": marker, "kind": "township", "sort": "name"}), [a["id"], b["id"]])
        self.assertEqual(self.ids(UNITS, {"q": marker, "sort": "-name"}), [c["id"], b["id"], a["id"]])
        self.assertEqual(self.ids(UNITS, {"q": marker, "sort": "kind,name"}), [c["id"], a["id"], b["id"]])
        self.assertFieldErrors(self.request("GET", query(UNITS, {"kind": "ministry"})), 400, ["kind"])
        self.assertFieldErrors(self.request("GET", query(UNITS, {"name": ""})), 400, ["name"])

    # -- deletion --------------------------------------------------------
    def test_deleting_an_assigned_unit_is_409_naming_the_tasks(self):
        plan = self.new_plan()
        unit, other = self.new_unit(), self.new_unit()
        t1 = self.new_task(plan, units=[unit])
        t2 = self.new_task(plan, units=[other, unit])
        p = self.assertProblem(self.request("DELETE", self.item(unit)), 409)
        self.assertIn(str(t1["id"]), p["detail"])
        self.assertIn(str(t2["id"]), p["detail"])
        self.assertEqual(self.fetch(self.item(unit))["id"], unit["id"])
        self.changed("PATCH", f"{API}/tasks/{t1['id']}", {"unit_ids": [other["id"]]})
        p = self.assertProblem(self.request("DELETE", self.item(unit)), 409)
        self.assertIn(str(t2["id"]), p["detail"])
        self.changed("PATCH", f"{API}/tasks/{t2['id']}", {"unit_ids": None})
        self.assertEqual(self.request("DELETE", self.item(unit)).status, 204)
        self.gone(self.item(unit))

    def test_deleting_a_unit_named_on_a_progress_log_is_409(self):
        plan, unit = self.new_plan(), self.new_unit()
        task = self.new_task(plan, units=[unit])
        log = self.new_log(task, unit)
        self.changed("PATCH", f"{API}/tasks/{task['id']}", {"unit_ids": []})
        p = self.assertProblem(self.request("DELETE", self.item(unit)), 409)
        self.assertIn(str(log["id"]), p["detail"])
        self.assertEqual(self.request("DELETE", f"{API}/progress-logs/{log['id']}").status, 204)
        self.assertEqual(self.request("DELETE", self.item(unit)).status, 204)

    def test_deleting_a_unit_frees_its_aliases(self):
        alias = "别名 " + tag()
        unit = self.new_unit(aliases=[alias])
        self.assertEqual(self.request("DELETE", self.item(unit)).status, 204)
        self.assertEqual(self.ids(UNITS, {"name": alias}), [])
        self.assertEqual(self.new_unit(aliases=[alias])["aliases"], [alias])


class Leaders(CrudContract, ServerTest):
    collection = LEADERS
    optional = ("contact", "0851-12345678", None)
    long_field = "contact"

    def new_row(self, **overrides):
        body = {"name": "领导 " + tag(), "title": "副区长", "contact": "0851-12345678"}
        body.update(overrides)
        return LEADERS, body

    def replacement(self, doc):
        return {"name": doc["name"] + " 改", "title": "区长"}

    def invalid_row(self):
        return LEADERS, {"title": "x" * 201, "contact": "y" * 201}, ["name", "title", "contact"]

    def malformed_row(self):
        return LEADERS, {"name": ["张三"], "title": 1, "phone": "x"}, ["name", "title", "phone"]

    def chinese(self):
        return {"name": "王" + tag(), "title": POVERTY_OFFICE + "主任", "contact": BASELINE}

    def page_rows(self):
        marker = tag("page")
        return {"q": marker}, [self.new_leader(name=f"{marker} {i}")["id"] for i in range(3)]

    def test_duplicate_leader_name_is_409(self):
        leader = self.new_leader()
        before = self.total(LEADERS)
        self.assertProblem(self.send("POST", LEADERS, {"name": leader["name"]}), 409)
        self.assertEqual(self.total(LEADERS), before)
        other = self.new_leader()
        self.assertProblem(self.send("PUT", self.item(other), {"name": leader["name"]}), 409)
        self.assertEqual(self.fetch(self.item(other))["name"], other["name"])

    def test_name_filter_is_exact_and_q_searches_name_and_title(self):
        marker = tag("L")
        a = self.new_leader(name=f"b 张 {marker}", title="副区长")
        b = self.new_leader(name=f"a 李 {marker}", title="区委常委、常务副区长")
        self.assertEqual(self.ids(LEADERS, {"name": a["name"]}), [a["id"]])
        self.assertEqual(self.ids(LEADERS, {"name": marker}), [])
        self.assertEqual(self.ids(LEADERS, {"q": marker.upper()}), [a["id"], b["id"]])
        self.assertEqual(self.ids(LEADERS, {"q": marker, "sort": "-name"}), [a["id"], b["id"]])
        self.assertEqual(self.ids(LEADERS, {"q": marker, "sort": "name"}), [b["id"], a["id"]])
        b_only = self.ids(LEADERS, {"q": "常务副区长"})
        self.assertIn(b["id"], b_only)
        self.assertNotIn(a["id"], b_only)
        self.assertFieldErrors(self.request("GET", query(LEADERS, {"kind": "department"})), 400, ["kind"])

    def test_deleting_an_assigned_leader_is_409_naming_the_tasks(self):
        plan = self.new_plan()
        leader, other = self.new_leader(), self.new_leader()
        t1 = self.new_task(plan, leaders=[other, leader])
        t2 = self.new_task(plan, leaders=[leader])
        p = self.assertProblem(self.request("DELETE", self.item(leader)), 409)
        self.assertIn(str(t1["id"]), p["detail"])
        self.assertIn(str(t2["id"]), p["detail"])
        self.assertEqual(self.fetch(self.item(leader))["version"], 1)
        for t in (t1, t2):
            self.changed("PATCH", f"{API}/tasks/{t['id']}", {"leader_ids": [other["id"]]})
        self.assertEqual(self.request("DELETE", self.item(leader)).status, 204)
        self.gone(self.item(leader))


if __name__ == "__main__":
    main()
