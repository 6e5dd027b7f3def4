"""Retried transactions start from the request as the client sent it.

duban retries a write whose transaction fails with a serialization failure
or a deadlock. These tests force exactly one such failure: a statement
trigger, armed for one request id and one table, raises SQLSTATE 40001 the
first time it fires (a sequence counts the firings: nextval survives the
rollback). The retry must then answer as one clean attempt would, and leave
exactly the rows (and audit rows) one successful attempt writes.

Each operation runs twice on twin rows, once with the injected failure and
once without, and the two are compared. A task create is also raced with a
sibling that commits between the attempts, so that an attempt reusing the
first attempt's position would put the new task before it.

Last, imports that introduce the same new unit and leader at the same
moment both succeed."""

import random
import subprocess
import threading
import time
import uuid
from collections import Counter

from fixtures import API, Api, tag
from harness import ServerTest, main
from seeding import TEXT, small_plan

TABLES = ("plan", "task", "task_unit", "task_leader", "unit", "unit_name", "leader", "idempotency_key")

INJECTOR = """
CREATE TABLE inject (request_id text PRIMARY KEY, tbl text NOT NULL, op text, seq text NOT NULL, gate bigint);
CREATE FUNCTION inject_retry() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE armed inject;
BEGIN
    SELECT * INTO armed FROM inject
    WHERE request_id = current_setting('duban.request_id', true) AND tbl = TG_TABLE_NAME
      AND (op IS NULL OR op = TG_OP);
    IF FOUND AND nextval(armed.seq) = 1 THEN
        IF armed.gate IS NOT NULL THEN
            PERFORM pg_advisory_xact_lock_shared(armed.gate);
        END IF;
        RAISE EXCEPTION 'injected serialization failure' USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN NULL;
END $$;
""" + "".join(f"CREATE TRIGGER inject AFTER INSERT OR UPDATE OR DELETE ON {t} "
              "FOR EACH STATEMENT EXECUTE FUNCTION inject_retry();\n" for t in TABLES)


class Session:
    """A psql session kept open, fed statements one by one."""

    def __init__(self, url):
        self.proc = subprocess.Popen(["psql", url, "-XAtq", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def run(self, sql):
        self.proc.stdin.write(sql + "\n")
        self.proc.stdin.flush()

    def close(self):
        """Ends the session; returns its exit status and what it wrote to stderr."""
        _, errors = self.proc.communicate(timeout=60)
        return self.proc.returncode, errors


class RetryCase(Api, ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db.query(INJECTOR)

    def arm(self, table, gate=None, op=None):
        """A request id whose transaction fails once at its first write of
        table (op: only an INSERT, UPDATE or DELETE); with gate, the failure
        waits for that advisory lock first."""
        rid = "retry-" + uuid.uuid4().hex[:16]
        seq = "inject_" + rid.replace("-", "_")
        self.db.query(f"CREATE SEQUENCE {seq}")
        op_sql = f"'{op}'" if op else "NULL"
        self.db.query(f"INSERT INTO inject VALUES ('{rid}', '{table}', {op_sql}, '{seq}', {gate or 'NULL'})")
        return rid

    def assertRetried(self, rid):
        """The armed trigger failed the first attempt and fired again in a later one."""
        seq = "inject_" + rid.replace("-", "_")
        fired = int(self.db.query(f"SELECT last_value FROM {seq}")[0][0])
        self.assertGreaterEqual(fired, 2, "the injected failure did not happen, or nothing was retried")

    def journal(self, rid):
        """What the request wrote, as counted (action, entity) pairs of its audit rows."""
        return Counter((a, e) for a, e in self.db.query(
            f"SELECT action, entity FROM audit_log WHERE request_id = '{rid}'"))

    def post(self, path, body, rid, content_type="application/json", headers=None):
        return self.send("POST", path, body, content_type, headers={"X-Request-Id": rid, **(headers or {})})


class TaskRetries(RetryCase):
    # The first attempt of a create waits at the gate while the test adds a
    # sibling: lock waits (3/4 of a statement's) must outlast a loaded machine.
    server_env = {"DUBAN_STATEMENT_TIMEOUT_MS": 60000, "DUBAN_REQUEST_TIMEOUT_MS": 120000}

    def test_a_create_retried_after_a_sibling_arrived_is_appended_after_it(self):
        unit_a, unit_b, leader = self.new_unit(), self.new_unit(), self.new_leader()
        control_plan, plan = self.new_plan(), self.new_plan()
        for p in (control_plan, plan):
            self.new_task(p)
            self.new_task(p)
        body = {"title": "新任务 " + tag(), "unit_ids": [unit_a["id"], unit_b["id"]], "leader_ids": [leader["id"]]}

        # The sibling that a concurrent writer adds between the two attempts.
        self.new_task(control_plan)
        control_rid = "control-" + uuid.uuid4().hex[:16]
        control = self.post(f"{API}/tasks", {**body, "plan_id": control_plan["id"]}, control_rid)
        self.assertEqual(control.status, 201, control)

        gate = random.randrange(1, 1 << 31)
        rid = self.arm("task", gate)
        session = Session(self.db.url)
        session.run(f"SELECT pg_advisory_lock({gate});")
        self.waitFor(f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = {gate} "
                     "AND granted", "the gate was not taken")
        answer = {}
        worker = threading.Thread(target=lambda: answer.update(
            r=self.post(f"{API}/tasks", {**body, "plan_id": plan["id"]}, rid)))
        worker.start()
        try:
            self.waitFor(f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = {gate} "
                         "AND NOT granted", "the first attempt did not reach the gate")
            session.run(f"INSERT INTO task (plan_id, level, position, title) VALUES ({plan['id']}, 1, 3, 'sibling');")
        finally:
            session.run(f"SELECT pg_advisory_unlock({gate});")
            status, errors = session.close()
            self.assertEqual(status, 0, errors)
            worker.join(120)
        r = answer["r"]
        self.assertEqual(r.status, 201, r)
        self.assertRetried(rid)
        doc = r.json()
        self.assertSubset({"level": 1, "position": 4, "path": "4", "unit_ids": [unit_a["id"], unit_b["id"]],
                           "units": [{"id": unit_a["id"], "role": "lead"}, {"id": unit_b["id"], "role": "partner"}],
                           "leader_ids": [leader["id"]]}, doc)
        group = self.assertDense(plan)
        self.assertEqual([t["title"] for t in group[2:]], ["sibling", body["title"]])
        self.assertEqual(self.db.query(f"SELECT count(*) FROM task WHERE title = '{body['title']}'"), [["2"]])
        self.assertEqual(self.db.query(f"SELECT unit_id, position FROM task_unit WHERE task_id = {doc['id']} "
                                       "ORDER BY position"),
                         [[str(unit_a["id"]), "1"], [str(unit_b["id"]), "2"]])
        self.assertEqual(self.journal(rid), self.journal(control_rid))

    def test_a_create_with_an_idempotency_key_retried_at_the_last_write_answers_once(self):
        plan = self.new_plan()
        rid = self.arm("idempotency_key", op="UPDATE")
        key = {"Idempotency-Key": tag("key")}
        body = {"plan_id": plan["id"], "title": "任务 " + tag()}
        r = self.post(f"{API}/tasks", body, rid, headers=key)
        self.assertEqual(r.status, 201, r)
        self.assertRetried(rid)
        again = self.post(f"{API}/tasks", body, "again-" + uuid.uuid4().hex[:8], headers=key)
        self.assertEqual((again.status, again.header("idempotent-replayed")), (201, "true"), again)
        self.assertEqual(again.json(), r.json())
        self.assertEqual(self.journal(rid), Counter({("insert", "task"): 1}))
        self.assertEqual(len(self.children(plan)), 1)

    def test_a_move_retried_lands_where_one_attempt_puts_it(self):
        control_tree, tree = self.new_tree(), self.new_tree()
        results = []
        for (plan, top, mid, leaf), rid in ((control_tree, "control-" + uuid.uuid4().hex[:16]),
                                            (tree, self.arm("task"))):
            other = self.new_task(plan, top, title="（二） " + tag())
            self.new_task(plan, other, title="1. " + tag())
            r = self.send("PATCH", f"{API}/tasks/{mid['id']}", {"parent_id": other["id"], "position": 1, "level": 3},
                          "application/merge-patch+json", headers={"X-Request-Id": rid})
            self.assertEqual(r.status, 200, r)
            doc = r.json()
            self.assertSubset({"parent_id": other["id"], "position": 1, "level": 3, "path": "1.1.1"}, doc)
            self.assertEqual(self.task(leaf)["level"], 4)
            self.assertEqual(self.task(leaf)["path"], "1.1.1.1")
            self.assertDense(plan, other)
            self.assertDense(plan, top, [other])
            results.append(self.journal(rid))
            last = rid
        self.assertRetried(last)
        self.assertEqual(results[1], results[0])


class ImportAndMergeRetries(RetryCase):
    def import_plan(self, text, rid, headers=None):
        return self.post(f"{API}/plans/import", text, rid, content_type=TEXT, headers=headers)

    def check_import(self, text, rid, units, leader):
        r = self.import_plan(text, rid)
        self.assertEqual(r.status, 201, r)
        report = r.json()
        self.assertEqual(report["counts"]["units"], {"created": 2, "reused": 0})
        self.assertEqual(report["counts"]["leaders"], {"created": 1, "reused": 0})
        self.assertEqual(len([w for w in report["warnings"] if w["message"].startswith("unit ")]), 2, report)
        names = "', '".join(units)
        self.assertEqual(self.db.query(f"SELECT count(*) FROM unit WHERE name IN ('{names}')"), [["2"]])
        self.assertEqual(self.db.query(f"SELECT count(*) FROM leader WHERE name = '{leader}'"), [["1"]])
        task = self.listing(f"{API}/tasks", {"plan_id": report["plan_id"], "level": 3})["items"][0]
        self.assertEqual([u["name"] for u in task["units"]], list(units))
        self.assertEqual([l["name"] for l in task["leaders"]], [leader])
        return report

    def new_names(self):
        marker = uuid.uuid4().hex[:8]
        return (f"甲局{marker}", f"乙局{marker}"), f"领导{marker}"

    def test_an_import_retried_after_creating_units_creates_them_once(self):
        journals = []
        for table in (None, "task_unit"):
            units, leader = self.new_names()
            rid = self.arm(table) if table else "control-" + uuid.uuid4().hex[:16]
            self.check_import(small_plan(units=units, leaders=(leader,)), rid, units, leader)
            if table:
                self.assertRetried(rid)
            journals.append(self.journal(rid))
        self.assertEqual(journals[1], journals[0])
        orphans = self.db.query("SELECT count(*) FROM unit u WHERE (name LIKE '甲局%' OR name LIKE '乙局%') "
                                "AND NOT EXISTS (SELECT 1 FROM task_unit tu WHERE tu.unit_id = u.id)")
        self.assertEqual(orphans, [["0"]])

    def test_an_import_with_an_idempotency_key_retried_replays_one_answer(self):
        units, leader = self.new_names()
        text = small_plan(units=units, leaders=(leader,))
        key = {"Idempotency-Key": tag("key")}
        rid = self.arm("idempotency_key", op="UPDATE")
        r = self.import_plan(text, rid, headers=key)
        self.assertEqual(r.status, 201, r)
        self.assertRetried(rid)
        again = self.import_plan(text, "again-" + uuid.uuid4().hex[:8], headers=key)
        self.assertEqual((again.status, again.header("idempotent-replayed")), (201, "true"), again)
        self.assertEqual(again.json(), r.json())
        self.assertEqual(self.db.query(f"SELECT count(*) FROM unit WHERE name IN ('{units[0]}', '{units[1]}')"),
                         [["2"]])
        self.assertEqual(self.journal(rid)[("insert", "plan")], 1)

    def test_a_merge_retried_moves_everything_once(self):
        journals = []
        for table in (None, "unit"):
            into, gone = self.new_unit(), self.new_unit(aliases=["别名 " + tag()])
            other = self.new_unit()
            plan = self.new_plan()
            both = self.new_task(plan, units=[gone, into])
            alone = self.new_task(plan, units=[other, gone])
            rid = self.arm(table) if table else "control-" + uuid.uuid4().hex[:16]
            r = self.post(f"{API}/units/{into['id']}/merge", {"from": gone["id"]}, rid)
            self.assertEqual(r.status, 200, r)
            if table:
                self.assertRetried(rid)
            self.assertEqual(sorted(r.json()["aliases"]), sorted([gone["name"]] + gone["aliases"]))
            self.assertEqual(self.task(both)["unit_ids"], [into["id"]])
            self.assertEqual(self.task(alone)["unit_ids"], [other["id"], into["id"]])
            self.gone(f"{API}/units/{gone['id']}")
            journals.append(self.journal(rid))
        self.assertEqual(journals[1], journals[0])


class ConcurrentImports(RetryCase):
    ROUNDS = 4

    def import_together(self, texts):
        """Posts the documents as imports started at the same moment; their answers."""
        gate = threading.Barrier(len(texts))
        answers = [None] * len(texts)

        def send(i):
            gate.wait(30)
            answers[i] = self.send("POST", f"{API}/plans/import", texts[i], TEXT)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(texts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        return answers

    def test_imports_naming_the_same_new_unit_and_leader_both_succeed(self):
        for _ in range(self.ROUNDS):
            marker = uuid.uuid4().hex[:8]
            unit, alias, leader = f"区新{marker}局", f"区新{marker}办", f"新领导{marker}"
            texts = [small_plan(units=(f"{unit}（{alias}）", f"其他局{marker}{i}"), leaders=(leader,))
                     for i in range(2)]
            answers = self.import_together(texts)
            self.assertEqual([a.status for a in answers], [201, 201], answers)
            self.assertEqual(self.db.query(f"SELECT count(*) FROM unit WHERE name = '{unit}'"), [["1"]])
            self.assertEqual(self.db.query(f"SELECT count(*) FROM leader WHERE name = '{leader}'"), [["1"]])
            self.assertEqual(self.db.query(f"SELECT count(DISTINCT unit_id) FROM unit_name WHERE name IN "
                                           f"('{unit}', '{alias}')"), [["1"]])
            created = [a.json()["counts"]["units"]["created"] for a in answers]
            self.assertEqual(sorted(created), [1, 2], answers)

    def test_a_new_unit_named_like_a_concurrent_alias_is_reused(self):
        for _ in range(self.ROUNDS):
            marker = uuid.uuid4().hex[:8]
            unit, alias = f"区本{marker}局", f"区别{marker}办"
            leader = self.new_leader()["name"]    # not new: only the unit races
            texts = [small_plan(units=(f"{unit}（{alias}）",), leaders=(leader,)),
                     small_plan(units=(alias,), leaders=(leader,))]
            answers = self.import_together(texts)
            self.assertEqual([a.status for a in answers], [201, 201], answers)
            # whichever came first, the second document's unit is the one known by that name now
            named = self.db.query(f"SELECT unit_id FROM unit_name WHERE name = '{alias}'")[0][0]
            task = self.listing(f"{API}/tasks", {"plan_id": answers[1].json()["plan_id"], "level": 3})["items"][0]
            self.assertEqual(task["unit_ids"], [int(named)])


def wait_for(db, sql, message, test, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if db.query(sql) != [["0"]]:
            return
        time.sleep(0.05)
    test.fail(message)


RetryCase.waitFor = lambda self, sql, message: wait_for(self.db, sql, message, self)

if __name__ == "__main__":
    main()
