"""Concurrent clients: optimistic concurrency with If-Match loses no update,
an Idempotency-Key creates one row however many retries race, tasks
created side by side in one sibling group all find a place, and rollups
kept by writers at once equal the ones counted."""

import threading

from fixtures import API, Api, day, encode, tag
from harness import ServerTest, main

TASKS = f"{API}/tasks"
UNITS = f"{API}/units"


def run_threads(count, work):
    """Runs work(i) in `count` threads released together; returns what each
    raised (None when nothing), in thread order."""
    gate = threading.Barrier(count)
    errors = [None] * count

    def body(i):
        try:
            gate.wait(30)
            work(i)
        except BaseException as e:  # reported by the test, not lost in the thread
            errors[i] = e

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


class OptimisticConcurrency(Api, ServerTest):
    THREADS = 16
    WRITES_EACH = 4

    def test_if_match_writers_lose_no_update(self):
        plan = self.new_plan()
        task = self.new_task(plan, title="0")
        item = f"{TASKS}/{task['id']}"
        initial = self.task(task)["version"]
        lock = threading.Lock()
        outcomes = {"written": 0, "stale": 0, "other": []}

        def writer(i):
            done = attempts = 0
            while done < self.WRITES_EACH and attempts < 2000:
                attempts += 1
                got = self.request("GET", item)
                if got.status != 200:
                    with lock:
                        outcomes["other"].append(("GET", got.status, got.body[:200]))
                    return
                cur = got.json()
                title = str(int(cur["title"]) + 1)
                body = (cur["body"] or "") + f"[{i}.{done}]"
                if (i + done) % 2:
                    r = self.send("PATCH", item, {"title": title, "body": body}, "application/merge-patch+json",
                                  headers={"If-Match": got.header("etag")})
                else:
                    r = self.send("PUT", item, {"plan_id": cur["plan_id"], "title": title, "body": body},
                                  headers={"If-Match": got.header("etag")})
                with lock:
                    if 200 <= r.status < 300:
                        outcomes["written"] += 1
                        done += 1
                    elif r.status == 412:
                        outcomes["stale"] += 1
                    else:
                        outcomes["other"].append(("write", r.status, r.body[:200]))
                        return

        errors = run_threads(self.THREADS, writer)
        self.assertEqual(errors, [None] * self.THREADS)
        self.assertEqual(outcomes["other"], [])
        total = self.THREADS * self.WRITES_EACH
        self.assertEqual(outcomes["written"], total)
        final = self.task(task)
        self.assertEqual(final["version"] - initial, outcomes["written"])
        self.assertEqual(int(final["title"]), outcomes["written"])
        markers = final["body"].strip("[]").split("][")
        self.assertEqual(len(markers), total, final["body"])
        self.assertEqual(set(markers), {f"{i}.{n}" for i in range(self.THREADS) for n in range(self.WRITES_EACH)})
        # Each thread's own markers appear in the order it wrote them.
        for i in range(self.THREADS):
            mine = [m for m in markers if m.startswith(f"{i}.")]
            self.assertEqual(mine, [f"{i}.{n}" for n in range(self.WRITES_EACH)])

    def test_racing_deletes_with_if_match_succeed_once(self):
        unit = self.new_unit()
        item = f"{UNITS}/{unit['id']}"
        statuses = []
        lock = threading.Lock()

        def deleter(i):
            r = self.request("DELETE", item, headers={"If-Match": '"1"'})
            with lock:
                statuses.append(r.status)

        self.assertEqual(run_threads(8, deleter), [None] * 8)
        self.assertEqual(sorted(statuses), [204] + [404] * 7)
        self.gone(item)


class IdempotentRetries(Api, ServerTest):
    THREADS = 20

    def test_racing_retries_create_one_row(self):
        name = "并发单位 " + tag()
        raw = encode({"name": name, "aliases": ["别名 " + tag()]})
        key = {"Idempotency-Key": tag("race")}
        before = self.total(UNITS)
        answers = [None] * self.THREADS

        def post(i):
            answers[i] = self.send("POST", UNITS, raw, headers=key)

        self.assertEqual(run_threads(self.THREADS, post), [None] * self.THREADS)
        self.assertEqual([a.status for a in answers], [201] * self.THREADS, answers)
        ids = {a.json()["id"] for a in answers}
        self.assertEqual(len(ids), 1, ids)
        self.assertEqual({a.header("location") for a in answers}, {f"{UNITS}/{ids.pop()}"})
        self.assertEqual(sorted(a.header("idempotent-replayed") or "" for a in answers),
                         [""] + ["true"] * (self.THREADS - 1))
        self.assertEqual(self.total(UNITS), before + 1)
        self.assertEqual(self.total(UNITS, {"name": name}), 1)

    def test_racing_different_bodies_under_one_key(self):
        key = {"Idempotency-Key": tag("race")}
        names = ["并发 " + tag() for _ in range(8)]
        before = self.total(UNITS)
        answers = [None] * 8

        def post(i):
            answers[i] = self.send("POST", UNITS, {"name": names[i]}, headers=key)

        self.assertEqual(run_threads(8, post), [None] * 8)
        self.assertEqual(sorted(a.status for a in answers), [201] + [422] * 7, answers)
        for a in answers:
            if a.status == 422:
                self.assertProblem(a, 422)
        self.assertEqual(self.total(UNITS), before + 1)

    def test_racing_retries_of_a_task_create_one_task(self):
        plan = self.new_plan()
        raw = encode({"plan_id": plan["id"], "title": "任务 " + tag()})
        key = {"Idempotency-Key": tag("race")}
        answers = [None] * 10

        def post(i):
            answers[i] = self.send("POST", TASKS, raw, headers=key)

        self.assertEqual(run_threads(10, post), [None] * 10)
        self.assertEqual([a.status for a in answers], [201] * 10, answers)
        self.assertEqual(len({a.json()["id"] for a in answers}), 1)
        self.assertEqual(self.total(TASKS, {"plan_id": plan["id"]}), 1)


class SiblingRace(Api, ServerTest):
    def test_siblings_created_together_all_get_a_place(self):
        plan = self.new_plan()
        count = 8
        for _ in range(3):  # several rounds, so that a lucky schedule does not hide the race
            parent = self.new_task(plan)
            answers = [None] * count

            def post(i):
                answers[i] = self.send("POST", TASKS, {"plan_id": plan["id"], "parent_id": parent["id"],
                                                       "title": f"并列 {i}"})

            self.assertEqual(run_threads(count, post), [None] * count)
            self.assertEqual([a.status for a in answers], [201] * count, answers)
            self.assertDense(plan, parent)
            self.assertEqual(len(self.children(plan, parent)), count)


class RollupRace(Api, ServerTest):
    def test_rollups_kept_by_writers_at_once_equal_the_counted_ones(self):
        """Each writer adds to its own shard of its ancestors' sums
        (migration 0024): eight clients creating, reporting, moving, closing
        and deleting in one plan at once leave every rollup equal to the one
        counted from its subtree."""
        plan = self.new_plan()
        unit = self.new_unit()
        sections = [self.new_task(plan, units=[unit]) for _ in range(2)]
        groups = [self.new_task(plan, s, units=[unit]) for s in sections for _ in range(2)]

        def work(i):
            mine = [self.new_task(plan, groups[(i + k) % len(groups)], units=[unit], due_on=day(k - 2))
                    for k in range(5)]
            for k, t in enumerate(mine):
                self.new_log(t, unit, percent=10 * k + i, status="in_progress")
            self.changed("PATCH", f"{TASKS}/{mine[0]['id']}", {"parent_id": groups[(i + 1) % len(groups)]["id"]})
            child = self.new_task(plan, mine[1], units=[unit])    # a leaf becomes a parent, then a leaf again
            self.assertEqual(self.request("DELETE", f"{TASKS}/{child['id']}").status, 204)
            self.changed("PATCH", f"{TASKS}/{mine[2]['id']}", {"status": "done"})
            self.assertEqual(self.request("DELETE", f"{TASKS}/{mine[3]['id']}").status, 204)

        self.assertEqual(run_threads(8, work), [None] * 8)
        self.assertRollupsKept(plan)
        self.assertEqual(self.task(sections[0])["rollup"]["tasks"] + self.task(sections[1])["rollup"]["tasks"],
                         len(groups) + 8 * 4)


if __name__ == "__main__":
    main()
