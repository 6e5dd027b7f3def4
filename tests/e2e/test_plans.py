"""Plans (责任分解方案): the shared resource contract, their filters and
sorts, date order, unique document numbers and deletion with tasks."""


from fixtures import API, BASELINE, POVERTY_OFFICE, CrudContract, query, tag
from harness import ServerTest, main

PLANS = f"{API}/plans"


class Plans(CrudContract, ServerTest):
    collection = PLANS
    optional = ("issuer", "区人民政府办公室", None)
    long_field = "basis"

    def new_row(self, **overrides):
        body = {"title": "方案 " + tag(), "doc_number": "文号 " + tag(), "issuer": "区人民政府办公室",
                "issued_on": "2018-03-01", "basis": "依据", "starts_on": "2018-01-01", "ends_on": "2020-12-31"}
        body.update(overrides)
        return PLANS, body

    def replacement(self, doc):
        return {"title": doc["title"] + " 修订", "doc_number": doc["doc_number"], "issued_on": "2018-04-01"}

    def invalid_row(self):
        body = {"doc_number": "", "issuer": "x" * 501, "issued_on": "2018-02-30", "starts_on": "2018-1-1"}
        return PLANS, body, ["title", "doc_number", "issuer", "issued_on", "starts_on"]

    def malformed_row(self):
        return PLANS, {"title": 5, "issued_on": 20180301, "budget": 100}, ["title", "issued_on", "budget"]

    def chinese(self):
        return {"title": BASELINE, "issuer": POVERTY_OFFICE, "basis": "《关于打赢脱贫攻坚战三年行动的实施意见》"}

    def page_rows(self):
        marker = tag("page")
        ids = [self.created(PLANS, {"title": f"{marker} {i}"})["id"] for i in range(3)]
        return {"q": marker}, ids

    # -- plan rules ------------------------------------------------------
    def test_plan_representation_has_no_derived_counts(self):
        # counts live in /plans/{id}/summary, so a plan's ETag changes only
        # when the plan itself does
        self.assertNotIn("task_count", self.make())

    def test_ends_before_start_is_422_on_create_put_and_patch(self):
        before = self.total(PLANS)
        r = self.send("POST", PLANS, {"title": tag(), "starts_on": "2018-06-01", "ends_on": "2018-05-31"})
        self.assertFieldErrors(r, 422, ["ends_on"])
        self.assertEqual(self.total(PLANS), before)
        doc = self.make()
        r = self.send("PATCH", self.item(doc), {"ends_on": "2017-12-31"}, "application/merge-patch+json")
        self.assertFieldErrors(r, 422, ["ends_on"])
        r = self.send("PUT", self.item(doc), {"title": doc["title"], "starts_on": "2019-01-02", "ends_on": "2019-01-01"})
        self.assertFieldErrors(r, 422, ["ends_on"])
        self.assertEqual(self.fetch(self.item(doc))["version"], 1)
        same_day = self.changed("PATCH", self.item(doc), {"starts_on": "2019-01-01", "ends_on": "2019-01-01"})
        self.assertEqual((same_day["starts_on"], same_day["ends_on"]), ("2019-01-01", "2019-01-01"))

    def test_every_bad_field_is_listed_with_date_order(self):
        r = self.send("POST", PLANS, {"title": "x" * 501, "starts_on": "2018-06-01", "ends_on": "2018-05-31"})
        self.assertFieldErrors(r, 422, ["title", "ends_on"])

    def test_duplicate_doc_number_is_409(self):
        doc = self.make()
        before = self.total(PLANS)
        r = self.send("POST", PLANS, {"title": tag(), "doc_number": doc["doc_number"]})
        self.assertProblem(r, 409)
        self.assertEqual(self.total(PLANS), before)
        other = self.make()
        self.assertProblem(self.send("PATCH", self.item(other), {"doc_number": doc["doc_number"]}), 409)
        self.assertEqual(self.fetch(self.item(other))["doc_number"], other["doc_number"])

    def test_delete_with_tasks_is_409_unless_cascade(self):
        plan = self.make()
        plan, top, mid, leaf = self.new_tree(plan)
        self.assertEqual(self.total(f"{API}/tasks", {"plan_id": plan["id"]}), 3)
        r = self.request("DELETE", self.item(plan))
        p = self.assertProblem(r, 409)
        self.assertIn("cascade", p["detail"])
        self.assertEqual(self.total(f"{API}/tasks", {"plan_id": plan["id"]}), 3)
        self.assertEqual(self.task(leaf)["plan_id"], plan["id"])
        self.assertProblem(self.request("DELETE", self.item(plan) + "?cascade=false"), 409)
        self.assertProblem(self.request("DELETE", self.item(plan) + "?cascade=yes"), 400)
        r = self.request("DELETE", self.item(plan) + "?cascade=true")
        self.assertEqual(r.status, 204, r)
        self.gone(self.item(plan))
        for t in (top, mid, leaf):
            self.gone(f"{API}/tasks/{t['id']}")
        self.assertEqual(self.total(f"{API}/tasks", {"plan_id": plan["id"]}), 0)

    def test_delete_without_tasks_needs_no_cascade(self):
        plan = self.make()
        self.assertEqual(self.request("DELETE", self.item(plan)).status, 204)
        self.gone(self.item(plan))

    def test_new_task_leaves_the_plan_etag(self):
        plan = self.make()
        self.new_task(plan)
        r = self.request("GET", self.item(plan), headers={"If-None-Match": '"1"'})
        self.assertEqual(r.status, 304, r)

    # -- filters and sorts -----------------------------------------------
    def test_filter_by_doc_number_is_exact(self):
        number = "区委办发〔2018〕" + tag()
        doc = self.make(doc_number=number)
        self.make(doc_number=number + "-附件")
        self.assertEqual(self.ids(PLANS, {"doc_number": number}), [doc["id"]])
        self.assertEqual(self.ids(PLANS, {"doc_number": tag()}), [])

    def test_filter_q_searches_title_and_doc_number_ignoring_case(self):
        marker = tag("Q")
        by_title = self.make(title=f"脱贫攻坚 {marker} 方案")
        by_number = self.make(doc_number=f"{marker}-号")
        self.make()
        self.assertEqual(self.ids(PLANS, {"q": marker.lower()}), [by_title["id"], by_number["id"]])
        self.assertEqual(self.ids(PLANS, {"q": f"攻坚 {marker}"}), [by_title["id"]])

    def test_sort_by_title_and_issued_on(self):
        marker = tag("sort")
        b = self.make(title=f"{marker} b", issued_on="2018-01-01")
        a = self.make(title=f"{marker} a", issued_on="2018-03-01")
        c = self.make(title=f"{marker} c", issued_on="2018-02-01")
        self.assertEqual(self.ids(PLANS, {"q": marker, "sort": "title"}), [a["id"], b["id"], c["id"]])
        self.assertEqual(self.ids(PLANS, {"q": marker, "sort": "-issued_on"}), [a["id"], c["id"], b["id"]])
        self.assertEqual(self.ids(PLANS, {"q": marker, "sort": "issued_on,-title"}), [b["id"], c["id"], a["id"]])

    def test_plan_list_has_no_date_or_unit_filters(self):
        for name in ("due_before", "unit_id", "name"):
            with self.subTest(name=name):
                self.assertFieldErrors(self.request("GET", query(PLANS, {name: "1"})), 400, [name])


if __name__ == "__main__":
    main()
