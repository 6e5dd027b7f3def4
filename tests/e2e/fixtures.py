"""Shared helpers of the resource tests.

`Api` is a mixin for harness.ServerTest: requests that assert their success,
and builders for plans, units, leaders, task trees and progress logs with
unique names. `CrudContract` is the behaviour api.md gives every resource
(create, read, list, replace, merge-patch, delete, validation, body rules,
If-Match, If-None-Match, Idempotency-Key, Chinese text); each resource's
test file runs it once by describing its resource through a few hooks."""

import datetime
import json
import re
import uuid
from urllib.parse import quote

API = "/api/v1"
MAX_BODY = 1 << 20                       # DUBAN_MAX_BODY_BYTES default: 1 MiB
POVERTY_OFFICE = "区扶贫办"
BASELINE = "摸清摸实精准脱贫底数。"
RFC3339_UTC = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$"
NO_SUCH_ID = 9000000000000000000


# The tasks of plan {plan} whose rollup kept at write time (migration
# 0024's task_sums) does not count every descendant under today's render,
# or differs from the rollup counted from the subtree; and the tasks whose
# has_children mark is not whether they have a child.
ROLLUPS_NOT_KEPT = (
    "SELECT r.id, k.tasks, k.fresh, task_rollup(r, p, current_date)::text, c::text "
    "FROM task r JOIN plan p ON p.id = r.plan_id "
    "CROSS JOIN LATERAL (SELECT sum(s.tasks) AS tasks, sum(s.tasks) FILTER (WHERE s.rendered_on = current_date "
    "AND s.rendered_plan = p.version) AS fresh FROM task_sums s WHERE s.task_id = r.id) k "
    "CROSS JOIN LATERAL task_rollup_counted(r, p, current_date) c "
    "WHERE r.plan_id = {plan} AND (k.fresh IS DISTINCT FROM k.tasks "
    "OR task_rollup(r, p, current_date)::text IS DISTINCT FROM c::text) ORDER BY r.id")
MARKS_WRONG = ("SELECT t.id FROM task t WHERE t.plan_id = {plan} "
               "AND t.has_children <> EXISTS (SELECT 1 FROM task c WHERE c.parent_id = t.id)")


def tag(prefix="t"):
    """A unique ASCII suffix for names that must not collide."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def day(offset):
    """Today plus offset days, YYYY-MM-DD, in UTC: the days of the servers
    the tests start (harness.Server sets DUBAN_TIMEZONE=UTC)."""
    return (datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=offset)).isoformat()


def ref(x):
    """The id of a representation, or x itself when it already is one."""
    return x["id"] if isinstance(x, dict) else x


def query(path, params=None):
    """path with params (a dict or a list of pairs), percent-encoded."""
    if not params:
        return path
    pairs = params.items() if isinstance(params, dict) else params
    return path + "?" + "&".join(f"{quote(str(k), safe='')}={quote(str(v), safe='')}" for k, v in pairs)


def links(response):
    """The Link header as {rel: url}."""
    return {rel: url for url, rel in re.findall(r'<([^>]*)>\s*;\s*rel="([^"]+)"', response.header("link") or "")}


def encode(body):
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


class SharedRows:
    """Rows built once per class: build_rows(cls) runs before the first test
    (it needs an instance's helpers) and stores what it makes on cls."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.built = False

    def setUp(self):
        super().setUp()
        cls = type(self)
        if not cls.built:
            self.build_rows(cls)
            cls.built = True


class Api:
    """Requests and builders for a harness.ServerTest."""

    def send(self, method, path, body=None, content_type="application/json", headers=None):
        """A request whose body (a JSON value, or raw str/bytes) goes with content_type."""
        headers = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = encode(body)
        if body is not None and content_type and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = content_type
        return self.request(method, path, body=body, headers=headers)

    def created(self, path, body, headers=None):
        r = self.send("POST", path, body, headers=headers)
        self.assertEqual(r.status, 201, r)
        return r.json()

    def fetch(self, path):
        r = self.request("GET", path)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def changed(self, method, path, body, content_type="application/json", headers=None):
        r = self.send(method, path, body, content_type=content_type, headers=headers)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def gone(self, path):
        self.assertProblem(self.request("GET", path), 404)

    def listing(self, path, params=None):
        r = self.request("GET", query(path, params))
        self.assertEqual(r.status, 200, r)
        page = r.json()
        self.assertEqual(set(page), {"items", "total", "limit", "offset"}, page)
        return page

    def ids(self, path, params=None):
        return [item["id"] for item in self.listing(path, params)["items"]]

    def total(self, path, params=None):
        return self.listing(path, params)["total"]

    def assertFieldErrors(self, r, status, fields):
        """r is a problem with this status whose errors name exactly `fields`."""
        p = self.assertProblem(r, status)
        self.assertIn("errors", p, p)
        for e in p["errors"]:
            self.assertEqual(set(e), {"field", "message"}, e)
            self.assertTrue(e["message"], e)
        self.assertEqual({e["field"] for e in p["errors"]}, set(fields), p)
        return p

    # -- builders --------------------------------------------------------
    def new_plan(self, **fields):
        return self.created(f"{API}/plans", {"title": "方案 " + tag(), **fields})

    def new_unit(self, **fields):
        return self.created(f"{API}/units", {"name": "单位 " + tag(), **fields})

    def new_leader(self, **fields):
        return self.created(f"{API}/leaders", {"name": "领导 " + tag(), **fields})

    def new_task(self, plan, parent=None, units=(), leaders=(), **fields):
        body = {"plan_id": ref(plan), "title": "任务 " + tag()}
        if parent is not None:
            body["parent_id"] = ref(parent)
        if units:
            body["unit_ids"] = [ref(u) for u in units]
        if leaders:
            body["leader_ids"] = [ref(l) for l in leaders]
        body.update(fields)
        return self.created(f"{API}/tasks", body)

    def new_log(self, task, unit, **fields):
        body = {"unit_id": ref(unit), "percent": 10, "summary": "工作进展 " + tag(), **fields}
        return self.created(f"{API}/tasks/{ref(task)}/progress-logs", body)

    def assertRollupsKept(self, plan):
        """Every rollup of the plan is read from its kept sums and equals the
        one counted from its subtree, and every has_children mark is true."""
        self.assertEqual(self.db.query(ROLLUPS_NOT_KEPT.format(plan=ref(plan))), [])
        self.assertEqual(self.db.query(MARKS_WRONG.format(plan=ref(plan))), [])

    def new_tree(self, plan=None):
        """A plan with a three-level branch: 一 (path 1) > （一） (1.1) > 1. (1.1.1)."""
        plan = plan or self.new_plan()
        top = self.new_task(plan, outline="一", title="一、 " + tag())
        mid = self.new_task(plan, top, outline="（一）", title="（一） " + tag())
        leaf = self.new_task(plan, mid, outline="1.", title="1. " + tag())
        return plan, top, mid, leaf

    def task(self, t):
        return self.fetch(f"{API}/tasks/{ref(t)}")

    def children(self, plan, parent=None):
        """The tasks of one sibling group, in list order."""
        params = {"plan_id": ref(plan), "parent_id": ref(parent) if parent is not None else "null"}
        return self.listing(f"{API}/tasks", params)["items"]

    def assertDense(self, plan, parent=None, expected=None):
        """The group's positions are 1..n in order, its paths follow the
        parent's path, and (when given) its members are `expected` in order."""
        group = self.children(plan, parent)
        prefix = self.task(parent)["path"] + "." if parent is not None else ""
        self.assertEqual([t["position"] for t in group], list(range(1, len(group) + 1)), group)
        self.assertEqual([t["path"] for t in group], [f"{prefix}{i}" for i in range(1, len(group) + 1)], group)
        if expected is not None:
            self.assertEqual([t["id"] for t in group], [ref(t) for t in expected])
        return group


class CrudContract(Api):
    """What api.md promises of every resource. A subclass (also a
    harness.ServerTest) sets `collection` and implements the hooks."""

    collection = None       # "/api/v1/plans": the list and the items below it
    optional = None         # (field, its value in the last new_row, its value once removed by a null)
    long_field = None       # a text field, used to build a body of exactly 1 MiB
    date_param = None       # a date filter of the list, or None when it has none
    item_methods = {"GET", "PUT", "PATCH", "DELETE"}

    def new_row(self, **overrides):
        """(POST path, body) of a valid new row, unique, with the optional field set."""
        raise NotImplementedError

    def replacement(self, doc):
        """A PUT body for doc: writable fields only, without the optional field."""
        raise NotImplementedError

    def invalid_row(self):
        """(POST path, body, fields): well-formed but invalid values and a missing required field (422)."""
        raise NotImplementedError

    def malformed_row(self):
        """(POST path, body, fields): wrong JSON types and an unknown field (400)."""
        raise NotImplementedError

    def chinese(self):
        """Overrides of new_row with Chinese text, {field: text}."""
        raise NotImplementedError

    def page_rows(self):
        """Makes three rows; (list params selecting exactly them, their ids in the default order)."""
        raise NotImplementedError

    # -- helpers ---------------------------------------------------------
    def make(self, **overrides):
        path, body = self.new_row(**overrides)
        return self.created(path, body)

    def item(self, doc):
        return f"{self.collection}/{ref(doc)}"

    # -- create and read -------------------------------------------------
    def test_create_answers_201_with_location_and_etag(self):
        path, body = self.new_row()
        r = self.send("POST", path, body)
        self.assertEqual(r.status, 201, r)
        self.assertTrue(r.header("content-type").startswith("application/json"), r.headers)
        doc = r.json()
        self.assertIsInstance(doc["id"], int)
        self.assertGreater(doc["id"], 0)
        self.assertEqual(r.header("location"), self.item(doc))
        self.assertEqual(r.header("etag"), '"1"')
        self.assertEqual(doc["version"], 1)
        self.assertRegex(doc["created_at"], RFC3339_UTC)
        self.assertRegex(doc["updated_at"], RFC3339_UTC)
        self.assertSubset(body, doc)
        self.assertEqual(self.fetch(r.header("location")), doc)

    def test_get_answers_etag_and_if_none_match_304(self):
        doc = self.make()
        r = self.request("GET", self.item(doc))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("etag"), '"1"')
        self.assertEqual(r.json(), doc)
        r = self.request("GET", self.item(doc), headers={"If-None-Match": '"1"'})
        self.assertEqual(r.status, 304, r)
        self.assertEqual(r.body, b"")
        self.assertEqual(r.header("etag"), '"1"')
        r = self.request("GET", self.item(doc), headers={"If-None-Match": '"2"'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), doc)

    def test_missing_item_is_404_for_every_method(self):
        path, body = self.new_row()
        missing = f"{self.collection}/{NO_SUCH_ID}"
        self.assertProblem(self.request("GET", missing), 404)
        self.assertProblem(self.send("PUT", missing, body), 404)
        self.assertProblem(self.send("PATCH", missing, {}, "application/merge-patch+json"), 404)
        self.assertProblem(self.request("DELETE", missing), 404)
        self.assertProblem(self.request("GET", f"{self.collection}/abc"), 404)
        self.assertProblem(self.request("GET", f"{self.collection}/0"), 404)

    def test_other_methods_are_405_with_allow(self):
        def allowed(r):
            return {m.strip() for m in (r.header("allow") or "").split(",")}

        for method in ("DELETE", "PUT", "PATCH"):
            r = self.send(method, self.collection, {})
            self.assertProblem(r, 405)
            self.assertLessEqual({"GET", "POST"}, allowed(r), r.headers)
            self.assertFalse({"DELETE", "PUT", "PATCH"} & allowed(r), r.headers)
        doc = self.make()
        r = self.send("POST", self.item(doc), {})
        self.assertProblem(r, 405)
        self.assertLessEqual(self.item_methods, allowed(r), r.headers)
        self.assertNotIn("POST", allowed(r), r.headers)
        self.assertEqual(self.fetch(self.item(doc))["version"], 1)

    # -- lists -----------------------------------------------------------
    def test_list_envelope_limit_offset_and_links(self):
        params, ids = self.page_rows()
        self.assertEqual(len(ids), 3)
        whole = self.listing(self.collection, params)
        self.assertEqual((whole["total"], whole["limit"], whole["offset"]), (3, 50, 0))
        self.assertEqual([i["id"] for i in whole["items"]], ids)
        r = self.request("GET", query(self.collection, {**params, "limit": 2}))
        self.assertEqual(r.status, 200, r)
        page = r.json()
        self.assertEqual(page["total"], 3)
        self.assertEqual((page["limit"], page["offset"]), (2, 0))
        self.assertEqual([i["id"] for i in page["items"]], ids[:2])
        rels = links(r)
        self.assertEqual(set(rels), {"next"}, r.headers)
        r = self.request("GET", rels["next"])
        self.assertEqual(r.status, 200, r)
        page = r.json()
        self.assertEqual((page["total"], page["limit"], page["offset"]), (3, 2, 2))
        self.assertEqual([i["id"] for i in page["items"]], ids[2:])
        rels = links(r)
        self.assertEqual(set(rels), {"prev"}, r.headers)
        r = self.request("GET", rels["prev"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["offset"], 0)
        self.assertEqual([i["id"] for i in r.json()["items"]], ids[:2])
        middle = self.request("GET", query(self.collection, {**params, "limit": 1, "offset": 1}))
        self.assertEqual([i["id"] for i in middle.json()["items"]], ids[1:2])
        self.assertEqual(set(links(middle)), {"next", "prev"}, middle.headers)

    def test_list_sorts_by_id_both_ways(self):
        params, ids = self.page_rows()
        self.assertEqual(self.ids(self.collection, {**params, "sort": "id"}), sorted(ids))
        self.assertEqual(self.ids(self.collection, {**params, "sort": "-id"}), sorted(ids, reverse=True))

    def test_list_refuses_each_bad_parameter_by_name(self):
        bad = [("no_such_filter", "1"), ("limit", "abc"), ("limit", "100000"), ("limit", "0"),
               ("offset", "-1"), ("offset", "x"), ("sort", "no_such_field"), ("sort", "-")]
        if self.date_param:
            bad += [(self.date_param, "2018-02-30"), (self.date_param, "30/06/2018"), (self.date_param, "2018-6-1")]
        for name, value in bad:
            with self.subTest(name=name, value=value):
                self.assertFieldErrors(self.request("GET", query(self.collection, {name: value})), 400, [name])
        r = self.request("GET", query(self.collection, [("no_such_filter", "1"), ("limit", "abc")] +
                                      ([(self.date_param, "2018-13-01")] if self.date_param else [])))
        self.assertFieldErrors(r, 400, ["no_such_filter", "limit"] + ([self.date_param] if self.date_param else []))
        self.assertEqual(self.listing(self.collection, {"limit": 500})["limit"], 500)

    def test_item_refuses_unknown_query_parameter(self):
        doc = self.make()
        self.assertProblem(self.request("GET", self.item(doc) + "?expand=all"), 400)

    # -- changes ---------------------------------------------------------
    def test_put_replaces_the_whole_row_and_bumps_version(self):
        doc = self.make()
        field, value, removed = self.optional
        self.assertEqual(doc[field], value)
        body = self.replacement(doc)
        self.assertNotIn(field, body)
        r = self.send("PUT", self.item(doc), body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("etag"), '"2"')
        new = r.json()
        self.assertEqual(new["version"], 2)
        self.assertEqual(new["id"], doc["id"])
        self.assertEqual(new["created_at"], doc["created_at"])
        self.assertSubset(body, new)
        self.assertEqual(new[field], removed)
        self.assertEqual(self.fetch(self.item(doc)), new)

    def test_merge_patch_changes_given_fields_and_null_removes(self):
        doc = self.make()
        field, value, removed = self.optional
        r = self.send("PATCH", self.item(doc), {field: None}, "application/merge-patch+json")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("etag"), '"2"')
        new = r.json()
        self.assertEqual(new["version"], 2)
        self.assertEqual(new[field], removed)
        untouched = {k: v for k, v in doc.items() if k not in (field, "version", "updated_at")}
        self.assertSubset(untouched, new)
        self.assertEqual(self.fetch(self.item(doc))[field], removed)

    def test_plain_json_patch_is_a_merge_patch_too(self):
        doc = self.make()
        field, value, removed = self.optional
        self.changed("PATCH", self.item(doc), {field: None})
        new = self.changed("PATCH", self.item(doc), {field: value})
        self.assertEqual(new["version"], 3)
        self.assertEqual(new[field], value)
        self.assertEqual(self.fetch(self.item(doc)), new)

    def test_delete_answers_204_then_404(self):
        doc = self.make()
        r = self.request("DELETE", self.item(doc))
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.body, b"")
        self.gone(self.item(doc))
        self.assertProblem(self.request("DELETE", self.item(doc)), 404)
        self.assertNotIn(doc["id"], self.ids(self.collection, {"sort": "-id", "limit": 500}))

    # -- validation and body rules ---------------------------------------
    def test_invalid_values_are_422_listing_every_field(self):
        path, body, fields = self.invalid_row()
        before = self.total(self.collection)
        self.assertFieldErrors(self.send("POST", path, body), 422, fields)
        self.assertEqual(self.total(self.collection), before)

    def test_wrong_types_and_unknown_fields_are_400_listing_every_field(self):
        path, body, fields = self.malformed_row()
        self.assertFieldErrors(self.send("POST", path, body), 400, fields)
        doc = self.make()
        _, patch, fields = self.malformed_row()
        self.assertFieldErrors(self.send("PATCH", self.item(doc), patch, "application/merge-patch+json"), 400, fields)
        self.assertEqual(self.fetch(self.item(doc))["version"], 1)

    def test_wrong_content_type_is_415(self):
        path, body = self.new_row()
        before = self.total(self.collection)
        self.assertProblem(self.send("POST", path, body, "text/plain"), 415)
        self.assertProblem(self.send("POST", path, body, "application/merge-patch+json"), 415)
        self.assertProblem(self.send("POST", path, body, None), 415)
        self.assertEqual(self.total(self.collection), before)
        doc = self.make()
        field, value, removed = self.optional
        self.assertProblem(self.send("PATCH", self.item(doc), {field: None}, "text/plain"), 415)
        self.assertProblem(self.send("PUT", self.item(doc), self.replacement(doc), "application/merge-patch+json"), 415)
        self.assertEqual(self.fetch(self.item(doc))["version"], 1)

    def test_malformed_json_and_duplicate_keys_are_400(self):
        path, body = self.new_row()
        text = encode(body).decode("utf-8")
        first = next(iter(body))
        duplicated = text[:-1] + ", " + json.dumps(first) + ": " + json.dumps(body[first], ensure_ascii=False) + "}"
        before = self.total(self.collection)
        for raw in (text[:-1], "{'single': 'quotes'}", duplicated, "[" + text + "]", '"text"', ""):
            with self.subTest(raw=raw[:60]):
                self.assertProblem(self.send("POST", path, raw), 400)
        self.assertEqual(self.total(self.collection), before)
        doc = self.make()
        self.assertProblem(self.send("PATCH", self.item(doc), "{", "application/merge-patch+json"), 400)
        self.assertProblem(self.send("PUT", self.item(doc), duplicated), 400)

    def test_body_over_one_mebibyte_is_413(self):
        path, body = self.new_row()
        base = len(encode({**body, self.long_field: ""}))
        exact = encode({**body, self.long_field: "a" * (MAX_BODY - base)})
        self.assertEqual(len(exact), MAX_BODY)
        # Exactly the limit is read and judged on its merits: the field is too long.
        self.assertFieldErrors(self.send("POST", path, exact), 422, [self.long_field])
        over = encode({**body, self.long_field: "a" * (MAX_BODY - base + 1)})
        before = self.total(self.collection)
        self.assertProblem(self.send("POST", path, over), 413)
        self.assertEqual(self.total(self.collection), before)

    # -- concurrency and caching -----------------------------------------
    def test_if_match_stale_is_412_garbage_is_400_star_matches(self):
        doc = self.make()
        field, value, removed = self.optional
        item = self.item(doc)
        self.assertProblem(self.send("PATCH", item, {field: None}, "application/merge-patch+json",
                                     {"If-Match": '"2"'}), 412)
        self.assertProblem(self.send("PUT", item, self.replacement(doc), headers={"If-Match": '"7"'}), 412)
        self.assertEqual(self.fetch(item)["version"], 1)
        for garbage in ("1", '"abc"', "yesterday", '"1", "2"'):
            with self.subTest(if_match=garbage):
                self.assertProblem(self.send("PATCH", item, {field: None}, headers={"If-Match": garbage}), 400)
        self.assertEqual(self.fetch(item)["version"], 1)
        r = self.send("PATCH", item, {field: None}, headers={"If-Match": '"1"'})
        self.assertEqual((r.status, r.header("etag")), (200, '"2"'), r)
        r = self.send("PUT", item, self.replacement(doc), headers={"If-Match": "*"})
        self.assertEqual((r.status, r.header("etag")), (200, '"3"'), r)
        self.assertProblem(self.request("DELETE", item, headers={"If-Match": '"2"'}), 412)
        self.assertEqual(self.fetch(item)["version"], 3)
        self.assertEqual(self.request("DELETE", item, headers={"If-Match": '"3"'}).status, 204)
        self.gone(item)

    def test_idempotency_key_replays_the_first_answer(self):
        path, body = self.new_row()
        raw = encode(body)
        key = {"Idempotency-Key": tag("key")}
        before = self.total(self.collection)
        first = self.send("POST", path, raw, headers=key)
        self.assertEqual(first.status, 201, first)
        self.assertIsNone(first.header("idempotent-replayed"))
        self.assertEqual(self.total(self.collection), before + 1)
        for _ in range(2):
            again = self.send("POST", path, raw, headers=key)
            self.assertEqual(again.status, 201, again)
            self.assertEqual(again.header("idempotent-replayed"), "true")
            self.assertEqual(again.header("location"), first.header("location"))
            self.assertEqual(again.json(), first.json())
        self.assertEqual(self.total(self.collection), before + 1)
        _, other = self.new_row()
        self.assertProblem(self.send("POST", path, other, headers=key), 422)
        self.assertEqual(self.total(self.collection), before + 1)

    def test_empty_or_overlong_idempotency_key_is_400(self):
        path, body = self.new_row()
        before = self.total(self.collection)
        for key in ("", "k" * 201):
            with self.subTest(length=len(key)):
                self.assertProblem(self.send("POST", path, body, headers={"Idempotency-Key": key}), 400)
        self.assertEqual(self.total(self.collection), before)

    # -- credentials -----------------------------------------------------
    def bearer(self, role, unit_id=None):
        """An Authorization header for a new token of this role."""
        return {"Authorization": "Bearer " + self.make_token(role, unit_id)}

    def test_missing_or_bad_credentials_are_401_with_bearer_challenge(self):
        doc = self.make()
        path, body = self.new_row()
        before = self.total(self.collection)
        for auth in ("", "Bearer", "Bearer not-a-token", "Basic ZHViYW46ZHViYW4="):
            for method, url, data in (("GET", self.collection, None), ("GET", self.item(doc), None),
                                      ("POST", path, body), ("PATCH", self.item(doc), {}),
                                      ("DELETE", self.item(doc), None)):
                with self.subTest(auth=auth, method=method, url=url):
                    r = self.send(method, url, data, headers={"Authorization": auth})
                    self.assertProblem(r, 401)
                    self.assertTrue((r.header("www-authenticate") or "").startswith("Bearer"), r.headers)
                    self.assertNotIn(b"not-a-token", r.body)
        self.assertEqual(self.total(self.collection), before)
        self.assertEqual(self.fetch(self.item(doc)), doc)

    def test_a_reader_reads_but_may_not_write_403(self):
        reader = self.bearer("reader")
        doc = self.make()
        path, body = self.new_row()
        before = self.total(self.collection)
        r = self.request("GET", self.item(doc), headers=reader)
        self.assertEqual((r.status, r.json()), (200, doc))
        self.assertEqual(self.request("GET", self.collection, headers=reader).status, 200)
        field, value, removed = self.optional
        self.assertProblem(self.send("POST", path, body, headers=reader), 403)
        self.assertProblem(self.send("PUT", self.item(doc), self.replacement(doc), headers=reader), 403)
        self.assertProblem(self.send("PATCH", self.item(doc), {field: None}, headers=reader), 403)
        self.assertProblem(self.request("DELETE", self.item(doc), headers=reader), 403)
        self.assertEqual(self.total(self.collection), before)
        self.assertEqual(self.fetch(self.item(doc)), doc)

    editor_writes = True    # api.md: editors write plans, tasks, units and leaders

    def test_an_editor_writes_only_what_its_role_allows(self):
        editor = self.bearer("editor")
        path, body = self.new_row()
        r = self.send("POST", path, body, headers=editor)
        if self.editor_writes:
            self.assertEqual(r.status, 201, r)
            doc = r.json()
            self.assertEqual(self.send("PATCH", self.item(doc), {}, headers=editor).status, 200)
            self.assertEqual(self.request("DELETE", self.item(doc), headers=editor).status, 204)
        else:
            self.assertProblem(r, 403)
            doc = self.make()
            self.assertProblem(self.send("PATCH", self.item(doc), {}, headers=editor), 403)
            self.assertProblem(self.request("DELETE", self.item(doc), headers=editor), 403)
            self.assertEqual(self.fetch(self.item(doc))["version"], 1)

    # -- text ------------------------------------------------------------
    def test_chinese_text_is_stored_and_returned_byte_exactly(self):
        texts = self.chinese()
        path, body = self.new_row(**texts)
        r = self.send("POST", path, body)
        self.assertEqual(r.status, 201, r)
        self.assertNotIn(b"\\u", r.body)
        doc = r.json()
        for field, text in texts.items():
            self.assertEqual(doc[field], text)
            self.assertIn(json.dumps(text, ensure_ascii=False).encode("utf-8"), r.body)
        got = self.request("GET", self.item(doc))
        self.assertNotIn(b"\\u", got.body)
        for field, text in texts.items():
            self.assertIn(json.dumps(text, ensure_ascii=False).encode("utf-8"), got.body)
            self.assertEqual(got.json()[field], text)
