"""The change feed (integration.md: "Change events", "Delta sync",
"Streaming"): one event per changed entity of every committed write, in an
order readers may rely on, read page by page from a cursor and followed as
Server-Sent Events. Waits poll for the expected state; nothing here bounds
how fast duban is (scripts/bench measures that)."""

import base64
import json
import re
import subprocess
import threading
import time
import uuid

from fixtures import API, RFC3339_UTC, Api, day, query, ref, tag
from harness import Database, Server, ServerTest, main, psql
from seeding import TEXT, small_plan
from sse import SseClient

CHANGES = f"{API}/changes"
STREAM = f"{API}/changes/stream"
EVENT_MEMBERS = {"cursor", "id", "type", "entity", "entity_id", "version", "occurred_at", "request_id", "data"}
UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
WAIT = 60   # seconds a test waits for what it expects before failing


def foreign_cursor():
    """A cursor of the same shape issued by another service's feed."""
    return base64.urlsafe_b64encode(b"1.1.0123456789ab").decode().rstrip("=")


class Feed(Api):
    """Reading the feed: pages, a mark at its end, the events of a request."""

    def page(self, after=None, **params):
        if after is not None:
            params["after"] = after
        r = self.request("GET", query(CHANGES, params))
        self.assertEqual(r.status, 200, r)
        page = r.json()
        self.assertEqual(set(page), {"items", "next_cursor", "has_more"}, page)
        self.assertTrue(page["next_cursor"])
        return page

    def read(self, after=None, limit=1000, **params):
        """Every event after `after` readable now, and the cursor to go on from."""
        events = []
        while True:
            page = self.page(after, limit=limit, **params)
            events += page["items"]
            after = page["next_cursor"]
            if not page["has_more"]:
                return events, after

    def mark(self):
        """A cursor at the end of the feed as it is now."""
        type(self).last_mark = self.read(getattr(type(self), "last_mark", None))[1]
        return type(self).last_mark

    def wait_events(self, after, done, **params):
        """Reads from `after` until done(events) holds; returns the events."""
        deadline = time.monotonic() + WAIT
        events = []
        while True:
            events = self.read(after, **params)[0]
            if done(events) or time.monotonic() > deadline:
                return events
            time.sleep(0.05)

    def events_of(self, response, after):
        """The events the request answered by `response` wrote (they become
        readable together: one transaction)."""
        rid = response.header("x-request-id")
        events = self.wait_events(after, lambda evs: any(e["request_id"] == rid for e in evs))
        return [e for e in events if e["request_id"] == rid]

    def kinds(self, events):
        return sorted((e["type"], e["entity_id"]) for e in events)

    def assertEvent(self, e):
        self.assertEqual(set(e), EVENT_MEMBERS, e)
        self.assertRegex(e["id"], UUID)
        self.assertRegex(e["occurred_at"], RFC3339_UTC)
        self.assertTrue(e["cursor"])
        entity, _, action = e["type"].partition(".")
        self.assertEqual(entity, e["entity"])
        self.assertIn(action, ("created", "updated", "deleted"))
        self.assertEqual(e["data"] is None, action == "deleted", e)


class ChangeEvents(Feed, ServerTest):
    """Every committed write: one event per changed entity."""

    def setUp(self):
        self.start = self.mark()

    def write(self, method, path, body=None, status=None):
        r = self.send(method, path, body)
        if status:
            self.assertEqual(r.status, status, r)
        return r

    def test_create_update_delete_of_plans_units_and_leaders(self):
        for path, body, change in ((f"{API}/plans", {"title": "方案 " + tag()}, {"issuer": "区政府"}),
                                   (f"{API}/units", {"name": "单位 " + tag()}, {"kind": "township"}),
                                   (f"{API}/leaders", {"name": "领导 " + tag()}, {"title": "副区长"})):
            with self.subTest(path=path):
                created = self.write("POST", path, body, 201)
                doc = created.json()
                entity = {"plans": "plan", "units": "unit", "leaders": "leader"}[path.rsplit("/", 1)[1]]
                [e] = self.events_of(created, self.start)
                self.assertEvent(e)
                self.assertEqual((e["type"], e["entity_id"], e["version"]), (f"{entity}.created", doc["id"], 1))
                self.assertEqual(e["data"], self.fetch(f"{path}/{doc['id']}"))
                self.assertEqual(e["request_id"], created.header("x-request-id"))
                patched = self.write("PATCH", f"{path}/{doc['id']}", change, 200)
                [e] = self.events_of(patched, self.start)
                self.assertEqual((e["type"], e["version"]), (f"{entity}.updated", 2))
                self.assertEqual(e["data"], patched.json())
                deleted = self.write("DELETE", f"{path}/{doc['id']}", None, 204)
                [e] = self.events_of(deleted, self.start)
                self.assertEvent(e)
                self.assertEqual((e["type"], e["entity_id"], e["version"], e["data"]),
                                 (f"{entity}.deleted", doc["id"], 3, None))

    def test_a_task_write_is_one_event_with_the_task_as_it_reads(self):
        plan, unit, leader = self.new_plan(), self.new_unit(), self.new_leader()
        r = self.write("POST", f"{API}/tasks", {"plan_id": plan["id"], "title": "任务 " + tag(), "due_on": day(40),
                                                 "unit_ids": [unit["id"]], "leader_ids": [leader["id"]]}, 201)
        [e] = self.events_of(r, self.start)
        self.assertEqual((e["type"], e["version"]), ("task.created", 1))
        self.assertEqual(e["data"], self.fetch(f"{API}/tasks/{e['entity_id']}"))
        self.assertEqual(e["data"]["units"][0]["name"], unit["name"])

    def test_a_progress_log_changes_its_task_too(self):
        unit = self.new_unit()
        task = self.new_task(self.new_plan(), units=[unit])
        r = self.write("POST", f"{API}/tasks/{task['id']}/progress-logs",
                       {"unit_id": unit["id"], "percent": 40, "summary": "进展 " + tag()}, 201)
        events = self.events_of(r, self.start)
        self.assertEqual(self.kinds(events), [("progress_log.created", r.json()["id"]), ("task.updated", task["id"])])
        now = self.fetch(f"{API}/tasks/{task['id']}")
        by_type = {e["type"]: e for e in events}
        self.assertEqual(by_type["task.updated"]["data"], now)
        self.assertEqual(by_type["task.updated"]["version"], now["version"])
        self.assertEqual(now["progress"], 40)
        self.assertEqual(by_type["progress_log.created"]["data"], r.json())

    def test_a_rename_gives_the_tasks_that_show_it_new_versions(self):
        unit = self.new_unit()
        plan = self.new_plan()
        tasks = [self.new_task(plan, units=[unit]) for _ in range(2)]
        r = self.write("PATCH", f"{API}/units/{unit['id']}", {"name": "改名 " + tag()}, 200)
        events = self.events_of(r, self.start)
        self.assertEqual(self.kinds(events), sorted([("unit.updated", unit["id"])] +
                                                    [("task.updated", t["id"]) for t in tasks]))
        for e in events:
            if e["entity"] == "task":
                self.assertEqual(e["data"]["units"][0]["name"], r.json()["name"])
                self.assertEqual(e["version"], 2)

    def test_every_supervision_action_is_an_event(self):
        lead, partner = self.new_unit(), self.new_unit()
        plan = self.new_plan()
        task = self.new_task(plan, units=[lead, partner], due_on=day(90))
        t = f"{API}/tasks/{task['id']}"
        ack = self.write("POST", f"{t}/acknowledgements", {"unit_id": partner["id"]}, 201)
        events = self.events_of(ack, self.start)
        self.assertEqual(self.kinds(events), [("acknowledgement.created", task["id"]), ("task.updated", task["id"])])
        [a] = [e for e in events if e["entity"] == "acknowledgement"]
        self.assertEqual((a["version"], a["data"]), (1, ack.json()))
        req = self.write("POST", f"{t}/closure-requests", {"unit_id": lead["id"], "summary": "完成 " + tag()}, 201)
        self.assertEqual(self.kinds(self.events_of(req, self.start)),
                         [("closure_request.created", req.json()["id"]), ("task.updated", task["id"])])
        decided = self.write("POST", f"{API}/closure-requests/{req.json()['id']}/decision",
                             {"decision": "reject", "comment": "材料不全"}, 200)
        events = self.events_of(decided, self.start)
        self.assertEqual(self.kinds(events), [("closure_request.updated", req.json()["id"]), ("task.updated", task["id"])])
        self.assertEqual([e["data"]["state"] for e in events if e["entity"] == "closure_request"], ["rejected"])
        urged = self.write("POST", f"{t}/urges", {"unit_id": lead["id"], "message": "请加快 " + tag(),
                                                  "reply_by": day(7)}, 201)
        self.assertEqual(self.kinds(self.events_of(urged, self.start)),
                         [("task.updated", task["id"]), ("urge.created", urged.json()["id"])])
        replied = self.write("POST", f"{API}/urges/{urged.json()['id']}/reply", {"message": "已推进"}, 200)
        events = self.events_of(replied, self.start)
        self.assertEqual(self.kinds(events), [("task.updated", task["id"]), ("urge.updated", urged.json()["id"])])
        self.assertEqual([e["version"] for e in events if e["entity"] == "urge"], [2])
        for e in self.read(self.start, plan_id=plan["id"])[0]:
            self.assertIn(e["entity"], ("plan", "task", "acknowledgement", "closure_request", "urge"))

    def test_a_cascade_leaves_a_tombstone_for_each_entity_it_took(self):
        unit = self.new_unit()
        plan = self.new_plan()
        parent = self.new_task(plan, units=[unit])
        child = self.new_task(plan, parent, units=[unit])
        log = self.new_log(child, unit)
        self.write("POST", f"{API}/tasks/{child['id']}/acknowledgements", {"unit_id": unit["id"]}, 201)
        last = {t["id"]: self.fetch(f"{API}/tasks/{t['id']}")["version"] for t in (parent, child)}
        mark = self.mark()
        r = self.write("DELETE", query(f"{API}/plans/{plan['id']}", {"cascade": "true"}), None, 204)
        events = self.events_of(r, mark)
        self.assertEqual(self.kinds(events), sorted([("plan.deleted", plan["id"]), ("task.deleted", parent["id"]),
                                                     ("task.deleted", child["id"]), ("progress_log.deleted", log["id"]),
                                                     ("acknowledgement.deleted", child["id"])]))
        for e in events:
            self.assertIsNone(e["data"])
            if e["entity"] == "task":
                self.assertEqual(e["version"], last[e["entity_id"]] + 1)
        self.assertEqual(self.kinds(self.read(mark, plan_id=plan["id"])[0]), self.kinds(events))

    def test_an_import_is_one_event_per_entity_and_a_dry_run_none(self):
        text = small_plan(units=("区" + tag() + "局",), leaders=("领导" + tag(),))
        dry = self.send("POST", query(f"{API}/plans/import", {"dry_run": "true"}), text, content_type=TEXT)
        self.assertEqual(dry.status, 200, dry)
        r = self.send("POST", f"{API}/plans/import", text, content_type=TEXT)
        self.assertEqual(r.status, 201, r)
        events = self.events_of(r, self.start)
        counts = {}
        for e in events:
            counts[e["type"]] = counts.get(e["type"], 0) + 1
        self.assertEqual(counts, {"plan.created": 1, "task.created": 2, "unit.created": 1, "leader.created": 1})
        self.assertEqual(len({(e["entity"], e["entity_id"]) for e in events}), len(events))
        for e in events:
            path = {"plan": "plans", "task": "tasks", "unit": "units", "leader": "leaders"}[e["entity"]]
            self.assertEqual(e["data"], self.fetch(f"{API}/{path}/{e['entity_id']}"))
        self.assertEqual([e for e in self.read(self.start)[0] if e["request_id"] == dry.header("x-request-id")], [])

    def test_tokens_refused_and_rolled_back_writes_leave_no_event_and_webhook_events_stay_out(self):
        quiet = [self.send("POST", f"{API}/tokens", {"name": "t-" + tag(), "role": "reader"}),
                 self.send("POST", f"{API}/units", {"name": ""}),
                 self.send("POST", f"{API}/tasks", {"plan_id": 9000000000000000000, "title": "x"})]
        self.assertEqual([r.status for r in quiet], [201, 422, 422])
        psql(self.db.url, "BEGIN; INSERT INTO leader (name) VALUES ('回滚 " + tag() + "'); ROLLBACK")
        # a webhook's own event (webhook.disabled) is its subscribers' business, not the feed's
        psql(self.db.url, "INSERT INTO change_event (type, entity, entity_id, version, data) "
                          "VALUES ('webhook.disabled', 'webhook', 1, 2, '{}')")
        after = self.write("POST", f"{API}/leaders", {"name": "领导 " + tag()}, 201)
        self.events_of(after, self.start)
        events = self.read(self.start)[0]
        self.assertEqual([e["type"] for e in events], ["leader.created"])

    def test_duban_announces_its_writes_once_committed_and_other_writers_notify_themselves(self):
        """A write through duban is announced on duban_changes by its change
        hub's connection, not by the writing transaction (migration 0016); a
        write made in SQL notifies from its own session."""
        hub = psql(self.db.url, "SELECT pid FROM pg_stat_activity WHERE application_name = 'duban-change-hub'")
        self.assertEqual(len(hub), 1, hub)
        listener = subprocess.Popen(["psql", self.db.url, "-XAtq", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            listener.stdin.write("LISTEN duban_changes; SELECT 'listening';\n")
            listener.stdin.flush()
            self.assertEqual(listener.stdout.readline().strip(), "listening")
            self.write("POST", f"{API}/units", {"name": "单位 " + tag()}, 201)
            sql_pid = psql(self.db.url, "INSERT INTO leader (name) VALUES ('直写 " + tag() + "'); "
                                        "SELECT pg_backend_pid()")[0][0]
            # psql shows what arrived at its next command; the hub's NOTIFY
            # follows the commit by at most its 20 ms gap: 10 s is margin
            time.sleep(10)
            listener.stdin.write("SELECT 'done';\n")
            listener.stdin.close()
            out = listener.stdout.read()
            self.assertEqual(listener.wait(30), 0, out)
        finally:
            if listener.poll() is None:
                listener.kill()
                listener.wait()
        senders = set(re.findall(r'notification "duban_changes" received from server process with PID (\d+)', out))
        self.assertEqual(senders, {hub[0][0], sql_pid}, out)

    def test_a_transaction_that_commits_later_with_a_smaller_xid_is_not_skipped(self):
        held = subprocess.Popen(["psql", self.db.url, "-XAtq", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        name = "先开始 " + tag()
        try:
            held.stdin.write(f"BEGIN; INSERT INTO leader (name) VALUES ('{name}'); SELECT 'ready';\n")
            held.stdin.flush()
            self.assertEqual(held.stdout.readline().strip(), "ready")
            later = self.write("POST", f"{API}/units", {"name": "后提交 " + tag()}, 201)
            # while the older transaction runs, what committed after it waits
            # behind it: a reader's cursor never passes it
            for _ in range(5):
                page = self.page(self.start)
                self.assertEqual(page["items"], [])
                cursor = page["next_cursor"]
                time.sleep(0.2)
            held.stdin.write("COMMIT;\n")
            held.stdin.close()
            self.assertEqual(held.wait(30), 0)
            held.stdout.close()
            events = self.wait_events(cursor, lambda evs: len(evs) >= 2)
            self.assertEqual([e["type"] for e in events], ["leader.created", "unit.created"])
            self.assertEqual(events[0]["data"]["name"], name)   # written outside duban: rendered when read
            self.assertEqual(events[1]["entity_id"], later.json()["id"])
        finally:
            if held.poll() is None:
                held.kill()
                held.wait()


class DeltaSync(Feed, ServerTest):
    """GET /api/v1/changes: cursors, pages, filters, refusals."""

    def test_a_to_an_empty_feed_answers_a_valid_cursor(self):
        page = self.page()
        self.assertEqual((page["items"], page["has_more"]), ([], False))
        again = self.page(page["next_cursor"])
        self.assertEqual((again["items"], again["next_cursor"]), ([], page["next_cursor"]))
        unit = self.new_unit()
        events = self.wait_events(page["next_cursor"], lambda evs: len(evs) >= 1)
        self.assertEqual([(e["type"], e["entity_id"]) for e in events], [("unit.created", unit["id"])])
        type(self).last_mark = None

    def test_b_pages_follow_each_other_and_nothing_new_keeps_the_cursor(self):
        start = self.mark()
        made = [self.new_leader() for _ in range(7)]
        everything = self.wait_events(start, lambda evs: len(evs) >= 7)
        self.assertEqual([e["entity_id"] for e in everything], [m["id"] for m in made])
        paged, after = [], start
        while True:
            page = self.page(after, limit=3)
            self.assertLessEqual(len(page["items"]), 3)
            paged += page["items"]
            if not page["has_more"]:
                break
            self.assertEqual(page["next_cursor"], page["items"][-1]["cursor"])
            after = page["next_cursor"]
        self.assertEqual(paged, everything)
        idle = self.page(page["next_cursor"])
        self.assertEqual((idle["items"], idle["next_cursor"], idle["has_more"]), ([], page["next_cursor"], False))

    def test_c_limit_is_100_by_default_and_1000_at_most(self):
        start = self.mark()
        r = self.send("POST", f"{API}/plans/import", small_plan(units=tuple(f"区{tag()}局" for _ in range(120))),
                      content_type=TEXT)
        self.assertEqual(r.status, 201, r)
        # the plan, its two tasks, 120 units and a leader
        self.wait_events(start, lambda evs: len(evs) >= 124)
        self.assertEqual((len(self.page(start)["items"]), self.page(start)["has_more"]), (100, True))
        self.assertEqual((len(self.page(start, limit=1000)["items"]), self.page(start, limit=1000)["has_more"]),
                         (124, False))

    def test_d_a_reader_that_stops_and_resumes_misses_nothing(self):
        start = self.mark()
        seen, cursor = [], start
        for round_ in range(6):
            for _ in range(3):
                self.new_unit()
            page = self.page(cursor, limit=2)   # a reader that reads a little, then stops
            seen += page["items"]
            cursor = page["next_cursor"]
        made = 18
        rest = self.wait_events(cursor, lambda evs: len(seen) + len(evs) >= made)
        everything = self.read(start)[0]
        self.assertEqual([e["id"] for e in seen + rest], [e["id"] for e in everything])
        self.assertEqual(len(everything), made)

    def test_e_filters_by_entity_and_plan(self):
        start = self.mark()
        unit = self.new_unit()
        plan, other = self.new_plan(), self.new_plan()
        task = self.new_task(plan, units=[unit])
        foreign = self.new_task(other, units=[unit])
        log = self.new_log(task, unit)
        self.new_log(foreign, unit)
        everything = self.wait_events(start, lambda evs: len(evs) >= 9)
        picked = self.read(start, entity="task,progress_log")[0]
        self.assertEqual(picked, [e for e in everything if e["entity"] in ("task", "progress_log")])
        mine = self.read(start, plan_id=plan["id"])[0]
        self.assertEqual(self.kinds(mine), sorted([("plan.created", plan["id"]), ("task.created", task["id"]),
                                                   ("progress_log.created", log["id"]), ("task.updated", task["id"])]))
        both = self.read(start, plan_id=plan["id"], entity="progress_log")[0]
        self.assertEqual(self.kinds(both), [("progress_log.created", log["id"])])
        # a filtered reader's cursor moves past the events it was not shown
        page = self.page(start, entity="leader")
        self.assertEqual(page["items"], [])
        self.assertEqual(page["next_cursor"], everything[-1]["cursor"])

    def test_f_bad_parameters_are_400_naming_each(self):
        cases = [({"after": "not a cursor!"}, ["after"]), ({"limit": "0"}, ["limit"]), ({"limit": "1001"}, ["limit"]),
                 ({"limit": "ten"}, ["limit"]), ({"entity": "task,tokens"}, ["entity"]), ({"entity": ""}, ["entity"]),
                 ({"plan_id": "x"}, ["plan_id"]), ({"entity": "webhook", "plan_id": "0"}, ["entity", "plan_id"])]
        for params, fields in cases:
            with self.subTest(params=params):
                self.assertFieldErrors(self.request("GET", query(CHANGES, params)), 400, fields)
        self.assertProblem(self.request("GET", query(CHANGES, {"since": "1"})), 400)

    def test_g_a_cursor_of_another_feed_is_410(self):
        p = self.assertProblem(self.request("GET", query(CHANGES, {"after": foreign_cursor()})), 410)
        self.assertIn("resynchronise", p["detail"])

    def test_h_every_token_that_may_read_may_follow(self):
        unit = self.new_unit()
        for role in ("reader", "editor", "reporter"):
            token = self.make_token(role, unit_id=unit["id"] if role == "reporter" else None)
            r = self.request("GET", CHANGES, headers={"Authorization": "Bearer " + token})
            self.assertEqual(r.status, 200, (role, r))
        self.assertProblem(self.request("GET", CHANGES, headers={"Authorization": "Bearer nope"}), 401)


class Retention(Feed, ServerTest):
    """Purged events: a cursor before them is 410; the feed goes on."""

    def test_events_past_the_retention_are_purged_and_older_cursors_are_410(self):
        old = self.mark()
        for _ in range(3):
            self.new_leader()
        self.wait_events(old, lambda evs: len(evs) >= 3)
        middle = self.page(old, limit=1)["next_cursor"]
        kept = self.new_unit()
        self.wait_events(old, lambda evs: len(evs) >= 4)
        self.db.query("UPDATE change_event SET occurred_at = now() - interval '3 days' WHERE entity = 'leader'")
        # a duban keeping one day purges at its start (and each minute)
        other = Server(self.db.url, DUBAN_CHANGES_RETENTION_DAYS="1")
        try:
            deadline = time.monotonic() + WAIT
            while self.db.query("SELECT count(*) FROM change_event WHERE entity = 'leader'")[0][0] != "0":
                self.assertLess(time.monotonic(), deadline, "the old events were not purged")
                time.sleep(0.1)
        finally:
            self.assertEqual(other.stop(), 0)
        for cursor in (old, middle):
            p = self.assertProblem(self.request("GET", query(CHANGES, {"after": cursor})), 410)
            self.assertIn("older than", p["detail"])
        first = self.page()
        self.assertEqual([(e["type"], e["entity_id"]) for e in first["items"]], [("unit.created", kept["id"])])
        self.assertEqual(self.page(first["next_cursor"])["items"], [])


class Concurrent(Feed, ServerTest):
    """1,000 writes from 8 clients reach a feed reader and a stream."""

    CLIENTS = 8
    WRITES = 1000

    def test_every_write_reaches_the_feed_and_the_stream_complete_and_in_order(self):
        unit = self.new_unit()
        plan = self.new_plan()
        shared = [self.new_task(plan, units=[unit]) for _ in range(2)]
        start = self.mark()
        stream = SseClient(self.server.port, query(STREAM, {"after": start}),
                           {"Authorization": "Bearer " + self.server.token})
        self.assertEqual(stream.status, 200, stream.body)
        wrote, failures = [], []
        lock = threading.Lock()

        def client(n):
            own = self.new_task(plan, units=[unit])
            for i in range(self.WRITES // self.CLIENTS):
                kind = i % 3
                if kind == 0:
                    path, body, method = f"{API}/tasks/{shared[i % 2]['id']}/progress-logs", \
                        {"unit_id": unit["id"], "percent": i % 101, "summary": f"进展 {n}-{i}"}, "POST"
                elif kind == 1:
                    path, body, method = f"{API}/tasks/{own['id']}", {"title": f"任务 {n}-{i}"}, "PATCH"
                else:
                    path, body, method = f"{API}/leaders", {"name": f"领导 {n}-{i}-{tag()}"}, "POST"
                for _ in range(20):   # 503: not written (a serialization retry ran out), send again
                    r = self.send(method, path, body)
                    if r.status != 503:
                        break
                    time.sleep(0.1)
                with lock:
                    if r.status in (200, 201):
                        doc = r.json()
                        entity = "progress_log" if kind == 0 else "task" if kind == 1 else "leader"
                        wrote.append((entity, doc["id"], doc["version"]))
                    else:
                        failures.append(r)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(self.CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])
        self.assertEqual(len(wrote), self.WRITES)
        want = set(wrote)
        feed = self.wait_events(start, lambda evs: want <= {(e["entity"], e["entity_id"], e["version"]) for e in evs})
        self.assertLessEqual(want, {(e["entity"], e["entity_id"], e["version"]) for e in feed})
        try:
            self.assertTrue(stream.wait_for(lambda s: len(s.events) >= len(feed), timeout=WAIT),
                            (len(stream.snapshot()), len(feed)))
            streamed = [json.loads(e["data"]) for e in stream.snapshot()]
        finally:
            stream.close()
        self.assertEqual([e["id"] for e in streamed[:len(feed)]], [e["id"] for e in feed])
        self.assertEqual(streamed[:len(feed)], feed)
        last = {}
        for e in feed:   # each entity's versions grow in feed order
            key = (e["entity"], e["entity_id"])
            self.assertGreater(e["version"], last.get(key, 0), e)
            last[key] = e["version"]
        self.assertEqual(len({e["id"] for e in feed}), len(feed))


class Streaming(Feed, ServerTest):
    """GET /api/v1/changes/stream: Server-Sent Events."""

    def open(self, path=STREAM, headers=None, **params):
        headers = {"Authorization": "Bearer " + self.server.token, **(headers or {})}
        s = SseClient(self.server.port, query(path, params), headers)
        self.addCleanup(s.close)
        return s

    def test_events_come_as_they_are_committed_after_retry(self):
        s = self.open()
        self.assertEqual(s.status, 200)
        self.assertEqual(s.headers["content-type"], "text/event-stream")
        self.assertEqual(s.headers["cache-control"], "no-store")
        self.assertEqual(s.headers["x-accel-buffering"], "no")
        self.assertNotIn("content-encoding", s.headers)
        self.assertTrue(s.wait_for(lambda c: c.retry is not None))
        self.assertEqual((s.first_field, s.retry), (("retry", "2000"), 2000))
        start = self.mark()
        unit = self.new_unit()
        self.assertTrue(s.wait_for(lambda c: any(json.loads(e["data"])["entity_id"] == unit["id"] for e in c.events)))
        [e] = [e for e in s.snapshot() if json.loads(e["data"])["entity_id"] == unit["id"]]
        [item] = self.wait_events(start, lambda evs: len(evs) >= 1)
        self.assertEqual((e["id"], e["event"], json.loads(e["data"])), (item["cursor"], "unit.created", item))
        self.assertNotIn("\n", e["data"])

    def test_a_comment_keeps_an_idle_stream_alive(self):
        s = self.open()
        self.assertTrue(s.wait_for(lambda c: c.comments, timeout=45), "no comment line came")
        self.assertTrue(s.wait_for(lambda c: len(c.comments) >= 2, timeout=45), "no second comment line came")

    def test_a_stream_resumes_after_last_event_id_or_after(self):
        start = self.mark()
        made = [self.new_leader() for _ in range(4)]
        items = self.wait_events(start, lambda evs: len(evs) >= 4)
        expect = [m["id"] for m in made[2:]]
        for how in ("after", "last-event-id", "both"):
            with self.subTest(how=how):
                params = {"after": items[1]["cursor"]} if how == "after" else \
                    {"after": start} if how == "both" else {}
                headers = {} if how == "after" else {"Last-Event-ID": items[1]["cursor"]}
                s = self.open(headers=headers, **params)
                self.assertEqual(s.status, 200, s.body)
                self.assertTrue(s.wait_for(lambda c: len(c.events) >= 2))
                self.assertEqual([json.loads(e["data"])["entity_id"] for e in s.snapshot()], expect)
                self.assertEqual([e["id"] for e in s.snapshot()], [i["cursor"] for i in items[2:]])

    def test_a_stream_takes_the_filters(self):
        start = self.mark()
        s = self.open(entity="unit", after=start)
        plan = self.new_plan()
        unit = self.new_unit()
        self.new_leader()
        second = self.new_unit()
        self.assertTrue(s.wait_for(lambda c: len(c.events) >= 2))
        self.assertEqual([(e["event"], json.loads(e["data"])["entity_id"]) for e in s.snapshot()],
                         [("unit.created", unit["id"]), ("unit.created", second["id"])])
        p = self.open(plan_id=plan["id"], after=start)
        task = self.new_task(plan)
        self.assertTrue(p.wait_for(lambda c: len(c.events) >= 2))
        self.assertEqual([e["event"] for e in p.snapshot()], ["plan.created", "task.created"])
        self.assertEqual(json.loads(p.snapshot()[1]["data"])["entity_id"], task["id"])

    def test_a_bad_cursor_is_refused_before_the_stream_starts(self):
        for params, headers, status in (({"after": foreign_cursor()}, {}, 410), ({}, {"Last-Event-ID": foreign_cursor()}, 410),
                                        ({"after": "%%%"}, {}, 400), ({"entity": "token"}, {}, 400)):
            with self.subTest(params=params, headers=headers):
                s = self.open(headers=headers, **params)
                self.assertEqual(s.status, status, s.body)
                self.assertTrue(s.headers["content-type"].startswith("application/problem+json"))
                self.assertEqual(json.loads(s.body)["status"], status)

    def test_a_stream_is_never_compressed_and_is_text_event_stream_only(self):
        s = self.open(headers={"Accept-Encoding": "gzip, deflate"})
        self.assertEqual(s.status, 200)
        self.assertNotIn("content-encoding", s.headers)
        self.assertTrue(s.wait_for(lambda c: c.retry == 2000))
        refused = self.request("GET", STREAM, headers={"Accept": "application/json"})
        self.assertProblem(refused, 406)
        head = self.request("HEAD", STREAM)   # the stream's headers, no stream
        self.assertEqual((head.status, head.header("content-type"), head.body), (200, "text/event-stream", b""))


class StreamingFromAPool(Streaming):
    """The same, served by a pool of epoll threads (DUBAN_THREADS): a
    stream's connection is suspended between its events."""

    server_env = {"DUBAN_THREADS": "2"}
    last_mark = None   # its own database: Streaming's cursors are another feed's

    def test_streams_take_no_worker_of_the_pool(self):
        streams = [self.open() for _ in range(6)]   # more streams than the pool has threads
        for s in streams:
            self.assertEqual(s.status, 200, s.body)
        for _ in range(10):
            self.assertEqual(self.request("GET", f"{API}/plans").status, 200)
        unit = self.new_unit()
        for s in streams:
            self.assertTrue(s.wait_for(lambda c: any(json.loads(e["data"])["entity_id"] == unit["id"] for e in c.events)))


class StreamLimit(Feed, ServerTest):
    """DUBAN_MAX_STREAMS open at most; one more is 503; ordinary requests go on."""

    server_env = {"DUBAN_MAX_STREAMS": "3"}

    def test_one_stream_more_than_the_limit_is_503_and_requests_still_answer(self):
        streams = []
        try:
            for _ in range(3):
                s = SseClient(self.server.port, STREAM, {"Authorization": "Bearer " + self.server.token})
                streams.append(s)
                self.assertEqual(s.status, 200, s.body)
            extra = SseClient(self.server.port, STREAM, {"Authorization": "Bearer " + self.server.token})
            self.assertEqual(extra.status, 503, extra.body)
            self.assertTrue(extra.headers.get("retry-after"))
            self.assertEqual(json.loads(extra.body)["status"], 503)
            for _ in range(20):   # with every stream open, ordinary requests answer
                self.assertEqual(self.request("GET", f"{API}/plans").status, 200)
            unit = self.new_unit()
            for s in streams:
                self.assertTrue(s.wait_for(lambda c: any(json.loads(e["data"])["entity_id"] == unit["id"]
                                                         for e in c.events)))
            streams.pop().close()
            deadline = time.monotonic() + WAIT
            while True:   # the closed stream's place is given back once duban sees it gone
                again = SseClient(self.server.port, STREAM, {"Authorization": "Bearer " + self.server.token})
                if again.status == 200:
                    streams.append(again)
                    break
                self.assertEqual(again.status, 503)
                self.assertLess(time.monotonic(), deadline, "the closed stream's place was not given back")
                time.sleep(0.5)
        finally:
            for s in streams:
                s.close()


if __name__ == "__main__":
    main()
