"""Clients on phones and slow links: answers compressed as Accept-Encoding
asks (gzip, deflate, q-values), sparse fieldsets (`fields=`), conditional
lists (a list ETag and If-None-Match → 304) and `Prefer: return=minimal`
on writes."""

import gzip
import json
import zlib
from urllib.parse import parse_qs, urlparse

from fixtures import API, Api, query, tag
from harness import ServerTest, main, wait_for

TASKS = f"{API}/tasks"
GZIP = {"Accept-Encoding": "gzip"}


class Phone(Api, ServerTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.marker = tag("phone")

    def plan_with_tasks(self, n=12):
        """A plan of n tasks, each with two units, whose bodies make the
        list far larger than the compression threshold."""
        plan = self.new_plan()
        units = [self.new_unit(), self.new_unit()]
        leader = self.new_leader()
        tasks = [self.new_task(plan, units=units, leaders=[leader], body="落实责任，" * 40 + tag())
                 for _ in range(n)]
        return plan, units, leader, tasks

    def get(self, path, params=None, headers=None):
        return self.request("GET", query(path, params), headers=headers)

    # -- compression ---------------------------------------------------------

    def test_gzip_answer_is_the_identity_answer_compressed(self):
        plan, _, _, tasks = self.plan_with_tasks()
        for path, params in ((TASKS, {"plan_id": plan["id"]}), (f"{TASKS}/{tasks[0]['id']}", None)):
            plain = self.get(path, params)
            packed = self.get(path, params, GZIP)
            self.assertEqual(plain.status, 200, plain)
            self.assertEqual(packed.status, 200, packed)
            self.assertIsNone(plain.header("content-encoding"))
            self.assertGreater(len(plain.body), 1024)
            self.assertEqual(packed.header("content-encoding"), "gzip")
            self.assertLess(len(packed.body), len(plain.body))
            self.assertEqual(gzip.decompress(packed.body), plain.body)
            for r in (plain, packed):
                self.assertIn("Accept-Encoding", r.header("vary") or "", r.headers)

    def test_deflate_and_q_values_are_respected(self):
        plan, _, _, _ = self.plan_with_tasks()
        params = {"plan_id": plan["id"]}
        plain = self.get(TASKS, params)
        r = self.get(TASKS, params, {"Accept-Encoding": "deflate"})
        self.assertEqual(r.header("content-encoding"), "deflate")
        self.assertEqual(zlib.decompress(r.body), plain.body)
        r = self.get(TASKS, params, {"Accept-Encoding": "gzip;q=0.5, deflate;q=0.9"})
        self.assertEqual(r.header("content-encoding"), "deflate")
        for refused in ("gzip;q=0", "gzip;q=0, deflate;q=0", "identity", "br"):
            r = self.get(TASKS, params, {"Accept-Encoding": refused})
            self.assertIsNone(r.header("content-encoding"), refused)
            self.assertEqual(r.body, plain.body, refused)
        r = self.get(TASKS, params, {"Accept-Encoding": "*"})
        self.assertEqual(r.header("content-encoding"), "gzip")
        self.assertEqual(gzip.decompress(r.body), plain.body)

    def test_small_bodies_are_not_compressed(self):
        unit = self.new_unit()
        r = self.get(f"{API}/units/{unit['id']}", headers=GZIP)
        self.assertEqual(r.status, 200, r)
        self.assertLess(len(r.body), 1024)
        self.assertIsNone(r.header("content-encoding"))
        self.assertIn("Accept-Encoding", r.header("vary"))
        self.assertEqual(r.json()["id"], unit["id"])

    def test_large_problem_is_compressed_too(self):
        params = [(f"unknown_parameter_{i}", "x") for i in range(30)]
        plain = self.get(TASKS, params)
        packed = self.get(TASKS, params, GZIP)
        self.assertProblem(plain, 400)
        self.assertGreater(len(plain.body), 1024)
        self.assertEqual(packed.header("content-encoding"), "gzip")
        self.assertEqual(gzip.decompress(packed.body), plain.body)

    # -- conditional lists ---------------------------------------------------

    def list_tag(self, params):
        r = self.get(TASKS, params)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("etag"), r.headers)
        return r.header("etag")

    def test_list_etag_changes_with_the_items_and_only_then(self):
        plan, units, _, tasks = self.plan_with_tasks(4)
        other_plan, _, _, elsewhere = self.plan_with_tasks(1)
        in_progress = {"plan_id": plan["id"], "status": "in_progress"}
        whole = {"plan_id": plan["id"]}
        self.changed("PATCH", f"{TASKS}/{tasks[0]['id']}", {"status": "in_progress"})
        before, before_filtered = self.list_tag(whole), self.list_tag(in_progress)
        self.assertEqual(self.list_tag(whole), before)
        # a write elsewhere (another plan's task, a new unit) changes nothing
        self.changed("PATCH", f"{TASKS}/{elsewhere[0]['id']}", {"title": "别处 " + tag()})
        self.new_unit()
        self.assertEqual(self.list_tag(whole), before)
        self.assertEqual(self.list_tag(in_progress), before_filtered)
        # a write to one of its items
        self.changed("PATCH", f"{TASKS}/{tasks[2]['id']}", {"title": "改 " + tag()})
        after_write = self.list_tag(whole)
        self.assertNotEqual(after_write, before)
        self.assertEqual(self.list_tag(in_progress), before_filtered)
        # into the filter, then out of it
        self.changed("PATCH", f"{TASKS}/{tasks[1]['id']}", {"status": "in_progress"})
        entered = self.list_tag(in_progress)
        self.assertNotEqual(entered, before_filtered)
        self.changed("PATCH", f"{TASKS}/{tasks[0]['id']}", {"status": "done"})
        left = self.list_tag(in_progress)
        self.assertNotEqual(left, entered)
        self.assertEqual([t["id"] for t in self.listing(TASKS, in_progress)["items"]], [tasks[1]["id"]])
        # a unit renamed shows in the tasks' units: their list changes
        whole_tag = self.list_tag(whole)
        self.changed("PATCH", f"{API}/units/{units[0]['id']}", {"name": "改名 " + tag()})
        renamed = self.list_tag(whole)
        self.assertNotEqual(renamed, whole_tag)
        # a delete
        self.assertEqual(self.request("DELETE", f"{TASKS}/{tasks[3]['id']}").status, 204)
        self.assertNotEqual(self.list_tag(whole), renamed)
        # the page's bounds are part of the tag
        self.assertNotEqual(self.list_tag({**whole, "limit": 2}), self.list_tag(whole))
        self.assertNotEqual(self.list_tag({**whole, "sort": "-id"}), self.list_tag(whole))
        self.assertIsNotNone(other_plan)

    def test_if_none_match_on_a_list_is_304_without_a_body(self):
        plan, _, _, tasks = self.plan_with_tasks(3)
        params = {"plan_id": plan["id"], "limit": 2}
        etag = self.list_tag(params)
        for given in (etag, etag.replace("W/", ""), f'"x", {etag}', "*"):
            r = self.get(TASKS, params, {"If-None-Match": given, **GZIP})
            self.assertEqual(r.status, 304, (given, r))
            self.assertEqual(r.body, b"")
            self.assertEqual(r.header("etag"), etag)
        r = self.get(TASKS, params, {"If-None-Match": '"stale"'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.json()["items"]), 2)
        self.changed("PATCH", f"{TASKS}/{tasks[0]['id']}", {"title": "改 " + tag()})
        r = self.get(TASKS, params, {"If-None-Match": etag})
        self.assertEqual(r.status, 200, r)
        self.assertNotEqual(r.header("etag"), etag)
        self.assertEqual(self.get(TASKS, params, {"If-None-Match": r.header("etag")}).status, 304)
        # a scoped list whose parent is gone is still a 404, not a 304
        logs = f"{TASKS}/{tasks[2]['id']}/progress-logs"
        r = self.get(logs)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.get(logs, headers={"If-None-Match": r.header("etag")}).status, 304)
        self.assertEqual(self.request("DELETE", f"{TASKS}/{tasks[2]['id']}").status, 204)
        self.assertProblem(self.get(logs, headers={"If-None-Match": r.header("etag")}), 404)

    def test_a_write_made_outside_this_duban_ends_a_revalidation(self):
        """A revalidation may be answered from the tag this duban remembers;
        a write committed straight into the database (as another instance's
        would be) must end that as soon as its change notification comes,
        not at the next write of this duban's own."""
        plan, _, _, tasks = self.plan_with_tasks(2)
        params = {"plan_id": plan["id"]}
        etag = self.list_tag(params)
        for _ in range(3):
            self.assertEqual(self.get(TASKS, params, {"If-None-Match": etag}).status, 304)
        # a new version, as any write that changes what a client sees makes one
        self.db.query(f"UPDATE task SET title = title || '!', version = version + 1 WHERE id = {tasks[1]['id']}")
        # milliseconds are expected; 20 s bound a hang, and stay below the
        # minute after which duban's own refresher would forget the tags
        changed = wait_for("the list to change after a write in the database",
                           lambda: self.get(TASKS, params, {"If-None-Match": etag}).status == 200, timeout=20)
        self.assertTrue(changed)
        fresh = self.list_tag(params)
        self.assertNotEqual(fresh, etag)
        self.assertEqual(self.get(TASKS, params, {"If-None-Match": fresh}).status, 304)

    def test_answers_may_be_kept_by_the_client_alone_and_secrets_by_none(self):
        plan, _, _, tasks = self.plan_with_tasks(1)
        for path in (TASKS, f"{TASKS}/{tasks[0]['id']}"):
            self.assertEqual(self.get(path).header("cache-control"), "private, no-cache")
        r = self.send("POST", f"{API}/tokens", {"name": "phone-" + tag(), "role": "reader"})
        self.assertEqual(r.status, 201, r)
        self.assertIn("token", r.json())
        self.assertEqual(r.header("cache-control"), "no-store")

    def test_revalidation_gives_the_tag_of_the_full_answer(self):
        """A revalidation computes the tag without the items: it must be the
        tag the full answer carries, for every shape of page."""
        plan, _, _, tasks = self.plan_with_tasks(3)
        base = {"plan_id": plan["id"], "limit": 2}
        walk = self.get(TASKS, {**base, "after": ""})
        link = walk.header("link")
        self.assertIn('rel="next"', link or "", walk.headers)
        cursor = parse_qs(urlparse(link.split(">")[0].lstrip("<")).query)["after"][0]
        pages = [(base, {}), ({**base, "offset": 1}, {}), ({**base, "sort": "-due_on"}, {}),
                 ({**base, "after": ""}, {}), ({**base, "after": cursor}, {}), (base, {"Prefer": "count=none"})]
        for params, prefer in pages:
            full = self.get(TASKS, params, prefer)
            self.assertEqual(full.status, 200, (params, full))
            again = self.get(TASKS, params, {"If-None-Match": full.header("etag"), **prefer})
            self.assertEqual(again.status, 304, (params, prefer, again))
            self.assertEqual(again.header("etag"), full.header("etag"))
            self.assertEqual(again.header("preference-applied"), full.header("preference-applied"))
        # a tag of another page is no tag of this one
        other = self.get(TASKS, {**base, "offset": 1}).header("etag")
        self.assertEqual(self.get(TASKS, base, {"If-None-Match": other}).status, 200)
        self.assertEqual(len(tasks), 3)

    def test_item_revalidation(self):
        """An item's revalidation reads its version first: a current copy is
        a 304, a stale one the whole item with its new tag, a gone one 404."""
        _, _, _, tasks = self.plan_with_tasks(1)
        path = f"{TASKS}/{tasks[0]['id']}"
        full = self.get(path)
        for given in (full.header("etag"), "W/" + full.header("etag"), f'"0", {full.header("etag")}', "*"):
            r = self.get(path, headers={"If-None-Match": given, **GZIP})
            self.assertEqual((r.status, r.body, r.header("etag")), (304, b"", full.header("etag")), given)
        self.changed("PATCH", path, {"title": "改 " + tag()})
        r = self.get(path, headers={"If-None-Match": full.header("etag")})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("etag"), f'"{r.json()["version"]}"')
        self.assertEqual(r.json(), self.get(path).json())
        self.assertEqual(self.request("DELETE", path, headers={"If-Match": r.header("etag")}).status, 204)
        self.assertProblem(self.get(path, headers={"If-None-Match": r.header("etag")}), 404)

    # -- sparse fieldsets ----------------------------------------------------

    def test_fields_give_exactly_the_members_asked_for(self):
        plan, units, leader, tasks = self.plan_with_tasks(2)
        task = tasks[0]
        full = self.get(f"{TASKS}/{task['id']}")
        r = self.get(f"{TASKS}/{task['id']}", {"fields": "id,title,units.name"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"id": task["id"], "title": task["title"],
                                    "units": [{"name": u["name"]} for u in units]})
        self.assertEqual(r.header("etag"), full.header("etag"))
        self.assertEqual(self.get(f"{TASKS}/{task['id']}", {"fields": "id"},
                                  {"If-None-Match": full.header("etag")}).status, 304)
        r = self.get(f"{TASKS}/{task['id']}", {"fields": "leaders,leaders.id,version"})
        self.assertEqual(r.json(), {"leaders": [{"id": leader["id"], "name": leader["name"]}],
                                    "version": task["version"]})
        page = self.listing(TASKS, {"plan_id": plan["id"], "fields": "id,units.role,units.id"})
        self.assertEqual(page["total"], 2)
        self.assertEqual(page["items"], [{"id": t["id"], "units": [{"id": units[0]["id"], "role": "lead"},
                                                                   {"id": units[1]["id"], "role": "partner"}]}
                                         for t in tasks])
        unit_page = self.listing(f"{API}/units", {"fields": "name", "limit": 3})
        self.assertTrue(all(set(u) == {"name"} for u in unit_page["items"]), unit_page)

    def test_fields_keep_paging_links(self):
        plan, _, _, _ = self.plan_with_tasks(3)
        r = self.get(TASKS, {"plan_id": plan["id"], "limit": 1, "fields": "id"})
        self.assertIn("fields=id", r.header("link"))

    def test_bad_field_is_a_400_naming_it(self):
        _, _, _, tasks = self.plan_with_tasks(1)
        cases = ((f"{TASKS}/{tasks[0]['id']}", "id,colour", "colour"), (TASKS, "units.colour", "units.colour"),
                 (TASKS, "title.x", "title.x"), (f"{API}/units", "id,", "''"), (f"{API}/leaders", "units", "units"))
        for path, fields, named in cases:
            r = self.get(path, {"fields": fields})
            p = self.assertFieldErrors(r, 400, ["fields"])
            self.assertIn(named, p["detail"], p)
            self.assertIn(named, p["errors"][0]["message"], p)

    # -- Prefer: return=minimal ----------------------------------------------

    def test_return_minimal_writes_the_same_rows(self):
        minimal = {"Prefer": "return=minimal"}
        plan = self.new_plan()
        unit = self.new_unit()
        body = {"plan_id": plan["id"], "title": "简 " + tag(), "unit_ids": [unit["id"]]}
        r = self.send("POST", TASKS, body, headers=minimal)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.body, b"")
        self.assertEqual(r.header("preference-applied"), "return=minimal")
        self.assertEqual(r.header("etag"), '"1"')
        created = self.fetch(r.header("location"))
        full = self.created(TASKS, {**body, "title": body["title"] + " 全"})
        strip = ("id", "title", "created_at", "updated_at", "path", "position")
        self.assertEqual({k: v for k, v in created.items() if k not in strip},
                         {k: v for k, v in full.items() if k not in strip})
        self.assertEqual(created["title"], body["title"])
        path = f"{TASKS}/{created['id']}"
        for method, change in (("PATCH", {"status": "in_progress"}), ("PUT", {**body, "title": "换 " + tag()})):
            r = self.send(method, path, change, headers={"Prefer": "handling=strict, return=minimal"})
            self.assertEqual(r.status, 204, r)
            self.assertEqual(r.body, b"")
            self.assertEqual(r.header("preference-applied"), "return=minimal")
            now = self.fetch(path)
            self.assertEqual(r.header("etag"), f'"{now["version"]}"')
            self.assertSubset(change, now)
        r = self.send("PATCH", path, {"title": "回 " + tag()}, headers={"Prefer": "return=representation"})
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.header("preference-applied"))
        self.assertEqual(r.json()["version"], 4)


if __name__ == "__main__":
    main()
