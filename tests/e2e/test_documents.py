"""Plan documents: importing the seed plan (青西新办发〔2018〕21号), duplicates,
replace and dry runs, export and re-import as text and CSV, malformed
documents, unit merges, statistics, and the import and export commands."""

import json
import os
import tempfile
import uuid
from collections import Counter

from harness import ServerTest, main, psql
from seeding import (API, CSV, MIB, SEED_PATH, TEXT, Client, oversized_text, query, run_duban, seed_text,
                     small_plan, tag)

SEED_COUNTS = {"sections": 3, "subsections": 14, "tasks": 114, "assignments": 100,
               "leaders": {"created": 12, "reused": 0}, "units": {"created": 60, "reused": 0}}
SEED_AGAIN_COUNTS = {**SEED_COUNTS, "leaders": {"created": 0, "reused": 12}, "units": {"created": 0, "reused": 60}}
ONE_SEED = {"plans": 1, "tasks": 114, "units": 60, "leaders": 12}    # what the database holds after one import
SEED_DEADLINES = [
    {"path": "1.5.2", "due_on": "2018-12-31", "due_text": "2018年实现"},
    {"path": "2.3.3", "due_on": "2020-12-31", "due_text": "到2020年"},
    {"path": "3.1.2", "due_on": "2019-02-04", "due_text": "在本方案公布 2 个月内"},   # 2018-12-04 + 2 months
    {"path": "3.1.4", "due_on": "2019-12-31", "due_text": "2019年底前"},
]
SEED_RECURRENCES = [
    {"path": "1.1.3", "recurrence": "yearly", "text": "每年"},
    {"path": "3.1.1", "recurrence": "bimonthly", "text": "每两个月"},
    {"path": "3.1.3", "recurrence": "yearly", "text": "每年"},
    {"path": "3.1.5", "recurrence": "yearly", "text": "每年"},
    {"path": "3.2.2.3", "recurrence": "yearly", "text": "每年"},
]
CSV_HEADER = "path,level,outline,title,body,leaders,lead_unit,units,due_on,due_text,recurrence,recurrence_text"
POVERTY_OFFICE = "区扶贫办"
LI_JINGUO = "李金国"
NO_SUCH_ID = 9000000000000000000


class DocumentCase(Client, ServerTest):
    """A class whose database starts with the seed plan (import_seed = True)."""

    import_seed = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.import_seed:
            self = cls("run")
            cls.seed_answer = self.import_document(seed_text())
            cls.seed_report = cls.seed_answer.json()
            cls.plan_id = cls.seed_report["plan_id"]

    def export(self, plan_id, accept):
        r = self.call("GET", f"{API}/plans/{plan_id}/export", headers={"Accept": accept})
        self.assertEqual(r.status, 200, r)
        return r

    def assertRefused(self, r, status, fields=None):
        """r is a problem with this status (and exactly these error fields)."""
        p = self.assertProblem(r, status)
        if fields is not None:
            self.assertEqual([e["field"] for e in p["errors"]], fields, p)
        return p


class SeedImport(DocumentCase):
    def test_the_answer_is_201_with_location_and_the_counts(self):
        r, report = self.seed_answer, self.seed_report
        self.assertEqual(r.header("location"), f"{API}/plans/{self.plan_id}")
        self.assertEqual(report["counts"], SEED_COUNTS)
        self.assertIs(report["dry_run"], False)
        new_units = [w for w in report["warnings"] if w["message"].startswith("unit ")]
        self.assertEqual(len(new_units), 60)
        self.assertIn({"line": 53, "message": "unit 区农工办（区农发局） is new: created it"}, new_units)
        plan = self.ok("GET", f"{API}/plans/{self.plan_id}")
        self.assertSubset({"doc_number": "青西新办发〔2018〕21号", "issued_on": "2018-12-04",
                           "title": "《关于打赢脱贫攻坚战三年行动的意见》 责任分解方案",
                           "basis": "《关于打赢脱贫攻坚战三年行动的意见》（青发〔2018〕47号）"}, plan)
        self.assertEqual(self.counts(), ONE_SEED)

    def test_the_tree_has_the_documents_levels(self):
        tasks = self.tasks_of(self.plan_id)
        self.assertEqual(Counter(t["level"] for t in tasks.values()), {1: 3, 2: 14, 3: 34, 4: 63})
        self.assertEqual(sum(1 for t in tasks.values() if t["units"]), 100)
        first = tasks["1.1.1"]
        self.assertEqual((first["outline"], first["title"]), ("1.", "摸清摸实精准脱贫底数。"))
        self.assertEqual([l["name"] for l in first["leaders"]], ["解宏劲", LI_JINGUO])
        self.assertEqual([u["role"] for u in first["units"]], ["lead"] + ["partner"] * 10)
        self.assertEqual((first["units"][0]["name"], first["units"][-1]["name"]), (POVERTY_OFFICE, "各镇街（管区）"))

    def test_the_poverty_office_leads_16_tasks(self):
        office = self.unit_named(POVERTY_OFFICE)
        led = self.every(f"{API}/units/{office['id']}/tasks", role="lead")
        self.assertEqual(len(led), 16)
        self.assertEqual(self.total(f"{API}/units/{office['id']}/tasks", role="lead"), 16)
        for task in led:
            self.assertEqual(task["units"][0], {"id": office["id"], "name": POVERTY_OFFICE, "role": "lead", "acknowledged_at": None})

    def test_li_jinguo_is_named_on_69_tasks(self):
        leader = self.leader_named(LI_JINGUO)
        self.assertEqual(self.total(f"{API}/leaders/{leader['id']}/tasks"), 69)
        self.assertEqual(self.total(f"{API}/tasks", leader_id=leader["id"]), 69)

    def test_an_alias_finds_the_same_unit(self):
        by_alias, by_name = self.unit_named("区农发局"), self.unit_named("区农工办")
        self.assertEqual(by_alias, by_name)
        self.assertEqual(by_name["aliases"], ["区农发局"])

    def test_deadlines_are_on_the_right_tasks(self):
        self.assertEqual(self.seed_report["deadlines"], SEED_DEADLINES)
        tasks = self.tasks_of(self.plan_id)
        for d in SEED_DEADLINES:
            with self.subTest(path=d["path"]):
                task = tasks[d["path"]]
                self.assertEqual((task["due_on"], task["due_text"]), (d["due_on"], d["due_text"]))
                self.assertIn(d["due_text"], task["body"])
        self.assertEqual(sorted(p for p, t in tasks.items() if t["due_on"] or t["due_text"]),
                         [d["path"] for d in SEED_DEADLINES])

    def test_recurrences_are_on_the_right_tasks(self):
        self.assertEqual(self.seed_report["recurrences"], SEED_RECURRENCES)
        tasks = self.tasks_of(self.plan_id)
        self.assertEqual({p: t["recurrence"] for p, t in tasks.items() if t["recurrence"]},
                         {r["path"]: r["recurrence"] for r in SEED_RECURRENCES})
        for r in SEED_RECURRENCES:
            self.assertIn(r["text"], tasks[r["path"]]["body"])

    def test_importing_it_again_is_409_naming_the_plan(self):
        before = self.counts()
        for params in ({}, {"dry_run": "true"}):
            with self.subTest(params=params):
                p = self.assertRefused(self.import_document(seed_text(), 409, **params), 409)
                self.assertIn(f"plan {self.plan_id}", p["detail"])
        self.assertEqual(self.counts(), before)

    def test_a_dry_run_answers_200_with_the_report_and_writes_nothing(self):
        before, plan = self.counts(), self.ok("GET", f"{API}/plans/{self.plan_id}")
        journal = self.total(f"{API}/audit")
        r = self.import_document(seed_text(), 200, dry_run="true", replace="true")
        report = r.json()
        self.assertIsNone(r.header("location"))
        self.assertEqual((report["dry_run"], report["plan_id"], report["replaced_plan_id"]), (True, None, self.plan_id))
        self.assertEqual(report["counts"], SEED_AGAIN_COUNTS)
        self.assertEqual((report["deadlines"], report["recurrences"], report["warnings"]),
                         (SEED_DEADLINES, SEED_RECURRENCES, []))
        self.assertEqual(self.counts(), before)
        self.assertEqual(self.ok("GET", f"{API}/plans/{self.plan_id}"), plan)
        self.assertEqual(self.total(f"{API}/audit"), journal)


class Reimport(DocumentCase):
    import_seed = False

    def test_a_retry_replays_then_replace_makes_a_new_plan(self):
        key = tag("import")
        first = self.call("POST", f"{API}/plans/import", seed_text(), content_type=TEXT,
                          headers={"Idempotency-Key": key})
        self.assertEqual(first.status, 201, first)
        plan_id = first.json()["plan_id"]
        tree = self.tree(plan_id)
        retry = self.call("POST", f"{API}/plans/import", seed_text(), content_type=TEXT,
                          headers={"Idempotency-Key": key})
        self.assertEqual((retry.status, retry.json(), retry.header("location"), retry.header("idempotent-replayed")),
                         (201, first.json(), f"{API}/plans/{plan_id}", "true"))
        self.assertIsNone(first.header("idempotent-replayed"))
        other = self.call("POST", f"{API}/plans/import", small_plan(), content_type=TEXT,
                          headers={"Idempotency-Key": key})
        self.assertRefused(other, 422)
        self.assertEqual(self.counts(), ONE_SEED)

        p = self.assertRefused(self.import_document(seed_text(), 409), 409)
        self.assertIn(f"plan {plan_id}", p["detail"])
        replaced = self.import_document(seed_text(), replace="true").json()
        self.assertNotEqual(replaced["plan_id"], plan_id)
        self.assertEqual(replaced["replaced_plan_id"], plan_id)
        self.assertEqual(replaced["counts"], SEED_AGAIN_COUNTS)
        self.assertProblem(self.call("GET", f"{API}/plans/{plan_id}"), 404)
        self.assertEqual(self.counts(), ONE_SEED)
        self.assertEqual(self.tree(replaced["plan_id"]), tree)

    def test_bad_flags_are_400(self):
        for params in ({"dry_run": "yes"}, {"replace": "1"}, {"force": "true"}):
            with self.subTest(params=params):
                self.assertRefused(self.import_document(small_plan(), 400, **params), 400)


class RoundTrip(DocumentCase):
    """Export, then import the export: the same tree, node by node."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.original = cls("run").tree(cls.plan_id)

    def round_trip(self, accept, content_type, make_room):
        """Exports the current plan, makes room for the copy (delete or
        replace), imports it, and compares the trees."""
        exported = self.export(self.plan_id, accept)
        self.assertEqual(exported.header("content-type"), accept + "; charset=utf-8")
        self.assertRefused(self.import_document(exported.body, 409, content_type=content_type), 409)
        params = make_room(self.plan_id)
        report = self.import_document(exported.body, content_type=content_type, **params).json()
        type(self).plan_id = report["plan_id"]
        self.assertEqual(report["counts"], SEED_AGAIN_COUNTS)
        self.assertEqual(report["deadlines"], SEED_DEADLINES)
        self.assertEqual([(r["path"], r["recurrence"]) for r in report["recurrences"]],
                         [(r["path"], r["recurrence"]) for r in SEED_RECURRENCES])
        copy = self.tree(report["plan_id"])
        self.assertEqual(len(copy), len(self.original))
        for mine, theirs in zip(copy, self.original):
            with self.subTest(path=theirs["path"]):
                self.assertEqual(mine, theirs)
        self.assertEqual(self.counts(), ONE_SEED)
        self.assertEqual(self.export(self.plan_id, accept).body, exported.body)   # a fixed point

    def delete_first(self, plan_id):
        self.ok("DELETE", query(f"{API}/plans/{plan_id}", cascade="true"), status=204)
        return {}

    def test_text_export_imports_as_the_same_tree(self):
        self.round_trip("text/plain", TEXT, self.delete_first)

    def test_csv_export_imports_as_the_same_tree(self):
        self.round_trip("text/csv", CSV, lambda plan_id: {"replace": "true"})

    def test_the_csv_has_one_row_per_task(self):
        body = self.export(self.plan_id, "text/csv").body
        rows = body.decode("utf-8").split("\r\n")          # RFC 4180 line ends
        self.assertEqual(rows.pop(), "")
        self.assertEqual(rows[0], CSV_HEADER)
        self.assertEqual(rows[1], "#doc_number,青西新办发〔2018〕21号,,,,,,,,,,")
        self.assertEqual(len([r for r in rows[1:] if not r.startswith("#")]), 114)
        self.assertEqual(self.call("GET", query(f"{API}/plans/{self.plan_id}/export", format="csv")).body, body)

    def test_export_formats_and_missing_plans(self):
        self.assertProblem(self.call("GET", f"{API}/plans/{self.plan_id}/export",
                                     headers={"Accept": "application/json"}), 406)
        self.assertProblem(self.call("GET", query(f"{API}/plans/{self.plan_id}/export", format="pdf")), 400)
        self.assertProblem(self.call("GET", f"{API}/plans/{NO_SUCH_ID}/export", headers={"Accept": "text/plain"}), 404)


class ApiTreeRoundTrip(DocumentCase):
    """A tree made with POST /api/v1/tasks, as a client builds it (headings
    without outlines, a titled paragraph), exports and imports back to the
    same tree. What the document layout cannot hold is written so that
    nothing is lost: a missing heading outline becomes the conventional one
    for its position, a paragraph's title the first line of its text."""

    import_seed = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        self = cls("run")
        cls.units = [self.ok("POST", f"{API}/units", {"name": f"区{n}局"}, status=201)["id"]
                     for n in ("接口甲", "接口乙", "接口丙")]
        cls.leaders = [self.ok("POST", f"{API}/leaders", {"name": n}, status=201)["id"] for n in ("接口张", "接口李")]

    def build(self):
        doc_number = f"测试〔2099〕{uuid.uuid4().int % 10 ** 9}号"
        plan = self.ok("POST", f"{API}/plans", {"title": "接口方案 " + tag(), "doc_number": doc_number}, status=201)
        units, leaders = self.units, self.leaders

        def task(**fields):
            return self.ok("POST", f"{API}/tasks", {"plan_id": plan["id"], **fields}, status=201)["id"]

        one = task(title="总体要求")                                        # outline null
        sub = task(parent_id=one, title="工作目标")                           # outline null
        task(parent_id=sub, outline="1.", title="推进第一项工作。", body="2099年底前完成第一项。",
             unit_ids=units[:2], leader_ids=leaders, due_on="2099-12-31", due_text="2099年底前")
        three = task(parent_id=sub, title="推进第二项工作", unit_ids=[units[2]])  # outline null, no 。
        task(parent_id=three, title="一段的标题。", body="这一段的正文。", unit_ids=[units[1], units[0]],
             leader_ids=[leaders[1]])
        task(parent_id=three, body="只有正文的一段。", unit_ids=[units[0]])
        task(outline="二", title="保障措施", body="加强组织领导。", unit_ids=[units[2]], leader_ids=[leaders[0]])
        return plan

    def expected(self, original):
        """The tree an import of the export holds: outlines filled in, a
        paragraph's title (here ending a sentence) moved into its text."""
        conventional = {"1": "一", "1.1": "（一）", "1.1.2": "2."}
        out = []
        for row in original:
            row = dict(row)
            if row["outline"] is None and row["level"] < 4:
                row["outline"] = conventional[row["path"]]
            if row["level"] == 4 and row["title"] is not None:
                row["body"] = row["title"] + ("\n" + row["body"] if row["body"] else "")
                row["title"] = None
            out.append(row)
        return out

    def test_text_and_csv_exports_import_as_the_same_tree(self):
        for accept, content_type in (("text/plain", TEXT), ("text/csv", CSV)):
            with self.subTest(format=accept):
                plan = self.build()
                original = self.tree(plan["id"])
                self.assertEqual([r["path"] for r in original], ["1", "1.1", "1.1.1", "1.1.2", "1.1.2.1", "1.1.2.2", "2"])
                exported = self.export(plan["id"], accept).body
                self.assertRefused(self.import_document(exported, 409, content_type=content_type), 409)
                report = self.import_document(exported, content_type=content_type, replace="true").json()
                self.assertEqual(report["replaced_plan_id"], plan["id"], report)
                self.assertEqual(self.ok("GET", f"{API}/plans/{report['plan_id']}")["doc_number"], plan["doc_number"])
                copy = self.tree(report["plan_id"])
                want = self.expected(original)
                self.assertEqual(len(copy), len(want), exported.decode("utf-8"))
                for mine, theirs in zip(copy, want):
                    with self.subTest(path=theirs["path"]):
                        self.assertEqual(mine, theirs)
                self.assertEqual(self.export(report["plan_id"], accept).body, exported)   # a fixed point
                self.ok("DELETE", query(f"{API}/plans/{report['plan_id']}", cascade="true"), status=204)


OVER_PARSER_LIMIT = oversized_text(5 * MIB).encode("utf-8")[:5 * MIB]
PARSER_LIMIT = 4 * MIB


def line_of(data, offset):
    """The field naming the line that holds byte offset of data."""
    return "line %d" % (data[:offset].count(b"\n") + 1)


MALFORMED = {
    # name: (document, the fields of its errors)
    "no headings": ("某区文件\n\n这是一段说明文字。\n\n另一段文字。\n", ["line 5"]),   # where it ends
    "assignment with no text": ("测试〔2099〕901号\n\n测试方案\n\n一、第一部分\n\n责任领导：张三\n\n责任单位：区甲局\n\n"
                                "责任领导：李四\n\n责任单位：区乙局\n", ["line 11", "line 13"]),
    "responsibility lines before any heading": ("测试〔2099〕902号\n\n责任单位：区甲局\n\n一、第一部分\n\n1. 任务。\n",
                                                ["line 3"]),
    "责任单位 line with no units": ("测试〔2099〕903号\n\n一、第一部分\n\n1. 做一件事。\n\n责任领导：张三\n\n责任单位：\n",
                                    ["line 9"]),
    "binary garbage": (b"\x00\x01\x02\x89PNG\r\n\x1a\n\xff\xfe", ["line 1"]),
    "a NUL byte on line 3": ("一、标题\n\n".encode("utf-8") + b"1. abc\x00def", ["line 3"]),
    "invalid UTF-8 on line 4": ("一、标题\n\n1. 事情。\n".encode("utf-8") + b"\xc3\x28", ["line 4"]),
    "over the parser's 4 MiB": (OVER_PARSER_LIMIT, [line_of(OVER_PARSER_LIMIT, PARSER_LIMIT)]),
}


class MalformedDocuments(DocumentCase):
    import_seed = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls("run").import_document(small_plan())

    def test_each_is_422_naming_its_line_and_writes_nothing(self):
        before = self.counts()
        for name, (document, fields) in MALFORMED.items():
            with self.subTest(document=name):
                p = self.assertRefused(self.import_document(document, 422), 422, fields)
                for e in p["errors"]:
                    self.assertTrue(e["message"], e)
                    if e["field"] != "document":
                        self.assertTrue(e["message"].startswith(e["field"] + ": "), e)
        self.assertEqual(self.counts(), before)

    def test_ten_mebibytes_are_413(self):
        before = self.counts()
        p = self.assertRefused(self.import_document(oversized_text(10 * MIB), 413), 413)
        self.assertIn("8388608", p["detail"])
        self.assertEqual(self.counts(), before)

    def test_the_command_refuses_ten_mebibytes(self):
        before = self.counts()
        with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as f:
            f.write(oversized_text(10 * MIB))
        try:
            out = run_duban(self.db.url, "import", f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertRegex(out.stderr, r"line \d+: .*4194304")
        self.assertEqual(out.stdout, "")
        self.assertEqual(self.counts(), before)

    def test_a_wrong_content_type_is_415(self):
        before = self.counts()
        for content_type in ("application/json", "application/octet-stream", "text/html", "text/plainx", None):
            with self.subTest(content_type=content_type):
                self.assertRefused(self.import_document(small_plan(), 415, content_type=content_type), 415)
        self.assertEqual(self.counts(), before)


class UnitMerge(DocumentCase):
    """The seed's OCR slip 区域管局 (for 区城管局) and its two spellings of the
    poverty group's member units, merged; then the seed imported again."""

    def merge(self, into_name, from_name):
        """Merges from_name into into_name and checks everything moved."""
        into, gone = self.unit_named(into_name), self.unit_named(from_name)
        theirs = self.every(f"{API}/units/{gone['id']}/tasks")
        mine = self.every(f"{API}/units/{into['id']}/tasks")
        self.assertTrue(theirs)
        log = self.ok("POST", f"{API}/tasks/{theirs[0]['id']}/progress-logs",
                      {"unit_id": gone["id"], "percent": 30, "summary": "已开展摸底"}, status=201)
        r = self.call("POST", f"{API}/units/{into['id']}/merge", {"from": gone["id"]})
        self.assertEqual(r.status, 200, r)
        merged = r.json()
        self.assertEqual((merged["id"], merged["name"], merged["aliases"], merged["version"]),
                         (into["id"], into_name, sorted(into["aliases"] + [from_name]), into["version"] + 1))
        self.assertEqual(r.header("etag"), f'"{merged["version"]}"')
        self.assertProblem(self.call("GET", f"{API}/units/{gone['id']}"), 404)
        self.assertEqual(self.unit_named(from_name)["id"], into["id"])
        for before in theirs:
            with self.subTest(task=before["path"]):
                expected = [{**u, "id": into["id"], "name": into_name} if u["id"] == gone["id"] else u
                            for u in before["units"]]
                self.assertEqual(self.ok("GET", f"{API}/tasks/{before['id']}")["units"], expected)
        self.assertEqual(sorted(t["id"] for t in self.every(f"{API}/units/{into['id']}/tasks")),
                         sorted(t["id"] for t in mine + theirs))
        self.assertEqual(self.ok("GET", f"{API}/progress-logs/{log['id']}")["unit_id"], into["id"])
        return into, {t["path"] for t in theirs}

    def test_merging_the_seeds_duplicates_then_importing_again(self):
        units = self.total(f"{API}/units")
        city, city_paths = self.merge("区城管局", "区域管局")
        group, group_paths = self.merge("区扶贫开发领导小组成员单位", "区扶贫开发工作领导小组成员单位")
        self.assertEqual(city_paths, {"2.2.1.4", "2.2.1.5", "2.2.1.6"})
        self.assertEqual(group_paths, {"2.4.2.5", "3.1.2", "3.2.2.3"})
        self.assertEqual(self.total(f"{API}/units"), units - 2)
        report = self.import_document(seed_text(), replace="true").json()
        self.assertEqual(report["warnings"], [])
        self.assertEqual(self.total(f"{API}/units"), units - 2)
        tasks = self.tasks_of(report["plan_id"])
        for paths, unit in ((city_paths, city), (group_paths, group)):
            for path in paths:
                with self.subTest(path=path):
                    self.assertIn(unit["id"], [u["id"] for u in tasks[path]["units"]])
        self.assertEqual(tasks["2.2.1.6"]["units"][0], {"id": city["id"], "name": "区城管局", "role": "lead", "acknowledged_at": None})

    def test_a_merge_keeps_one_assignment_when_both_units_were_on_a_task(self):
        plan = self.ok("POST", f"{API}/plans", {"title": "方案 " + tag()}, status=201)
        a, b, c = (self.ok("POST", f"{API}/units", {"name": f"单位{x} " + tag()}, status=201) for x in "ABC")
        task = self.ok("POST", f"{API}/tasks", {"plan_id": plan["id"], "title": "任务 " + tag(),
                                                "unit_ids": [b["id"], c["id"], a["id"]]}, status=201)
        self.ok("POST", f"{API}/units/{a['id']}/merge", {"from": b["id"]})
        self.assertEqual([(u["id"], u["role"]) for u in self.ok("GET", f"{API}/tasks/{task['id']}")["units"]],
                         [(a["id"], "lead"), (c["id"], "partner")])

    def test_bad_merges_are_refused(self):
        unit = self.ok("POST", f"{API}/units", {"name": "单位 " + tag()}, status=201)
        path = f"{API}/units/{unit['id']}/merge"
        self.assertRefused(self.call("POST", path, {"from": unit["id"]}), 422, ["from"])
        self.assertRefused(self.call("POST", path, {"from": NO_SUCH_ID}), 422, ["from"])
        self.assertRefused(self.call("POST", path, {"from": 0}), 422)
        for body in ({}, {"from": str(unit["id"])}, {"from": 1, "into": 2}, [1], "{not json"):
            with self.subTest(body=body):
                self.assertRefused(self.call("POST", path, body, content_type="application/json"), 400)
        self.assertRefused(self.call("POST", path, "from=1", content_type="application/x-www-form-urlencoded"), 415)
        self.assertRefused(self.call("POST", f"{API}/units/{NO_SUCH_ID}/merge", {"from": unit["id"]}), 404)
        self.assertEqual(self.ok("GET", f"{API}/units/{unit['id']}")["version"], 1)


class Statistics(DocumentCase):
    def stats(self, kind):
        return {row[f"{kind}_id"]: row for row in self.page(f"{API}/stats/{kind}s", plan_id=self.plan_id)["items"]}

    def summary(self):
        return self.ok("GET", f"{API}/plans/{self.plan_id}/summary")

    def test_unit_statistics_agree_with_the_assignments(self):
        led, cooperated = Counter(), Counter()
        for task in self.tasks_of(self.plan_id).values():
            for u in task["units"]:
                (led if u["role"] == "lead" else cooperated)[u["id"]] += 1
        stats = self.stats("unit")
        self.assertEqual({k: (v["led"], v["cooperated"]) for k, v in stats.items()},
                         {k: (led[k], cooperated[k]) for k in led | cooperated})
        office = self.unit_named(POVERTY_OFFICE)
        self.assertEqual(stats[office["id"]]["led"], 16)
        order = [(-v["led"], k) for k, v in stats.items()]
        self.assertEqual(list(stats), [k for _, k in sorted(order)])

    def test_leader_statistics_agree_with_the_assignments(self):
        named = Counter(l["id"] for task in self.tasks_of(self.plan_id).values() for l in task["leaders"])
        stats = self.stats("leader")
        self.assertEqual({k: v["tasks"] for k, v in stats.items()}, dict(named))
        self.assertEqual(stats[self.leader_named(LI_JINGUO)["id"]]["tasks"], 69)
        self.assertEqual(len(stats), 12)

    def test_the_summary_counts_every_task_once(self):
        summary, tasks = self.summary(), self.tasks_of(self.plan_id)
        self.assertEqual(summary["tasks"], 114)
        self.assertEqual(summary["by_status"], {s: sum(t["status"] == s for t in tasks.values())
                                                for s in ("not_started", "in_progress", "done", "cancelled")})
        self.assertEqual(summary["by_warning"], {w: sum(t["warning"] == w for t in tasks.values())
                                                 for w in ("none", "blue", "yellow", "red")})
        self.assertEqual(sum(summary["by_status"].values()), 114)
        self.assertEqual([(s["path"], s["tasks"]) for s in summary["sections"]],
                         [(p, sum(1 for k in tasks if k.split(".")[0] == p)) for p in ("1", "2", "3")])
        self.assertEqual(sum(s["tasks"] for s in summary["sections"]), 114)
        for section in summary["sections"]:
            self.assertEqual(sum(section["by_status"].values()), section["tasks"])

    def test_a_done_report_raises_the_done_counts(self):
        office = self.unit_named(POVERTY_OFFICE)
        task = next(t for t in self.every(f"{API}/units/{office['id']}/tasks", role="lead")
                    if t["status"] == "not_started" and t["due_on"] is None)
        section = task["path"].split(".")[0]
        before = (self.summary(), self.stats("unit"), self.stats("leader"))
        self.ok("POST", f"{API}/tasks/{task['id']}/progress-logs",
                {"unit_id": office["id"], "percent": 100, "status": "done", "summary": "全部完成",
                 "reported_on": "2019-06-30"}, status=201)
        # the plan requires verification: the report files a closure request, which an editor accepts
        waiting = self.ok("GET", query(f"{API}/closure-requests", task_id=task["id"], state="requested"))["items"]
        self.ok("POST", f"{API}/closure-requests/{waiting[0]['id']}/decision", {"decision": "accept"})
        summary, units, leaders = self.summary(), self.stats("unit"), self.stats("leader")
        self.assertEqual(summary["by_status"], {**before[0]["by_status"], "done": before[0]["by_status"]["done"] + 1,
                                                "not_started": before[0]["by_status"]["not_started"] - 1})
        sec_before = next(s for s in before[0]["sections"] if s["path"] == section)
        sec_after = next(s for s in summary["sections"] if s["path"] == section)
        self.assertEqual(sec_after["by_status"]["done"], sec_before["by_status"]["done"] + 1)
        for u in task["units"]:
            self.assertEqual(units[u["id"]]["done"], before[1][u["id"]]["done"] + 1, u)
        for l in task["leaders"]:
            self.assertEqual(leaders[l["id"]]["done"], before[2][l["id"]]["done"] + 1, l)
        untouched = set(units) - {u["id"] for u in task["units"]}
        self.assertEqual({k: units[k]["done"] for k in untouched}, {k: before[1][k]["done"] for k in untouched})
        self.assertEqual(units[office["id"]]["latest_report_on"], max(filter(None, [
            before[1][office["id"]]["latest_report_on"], "2019-06-30"])))
        self.assertGreater(units[office["id"]]["average_progress"], before[1][office["id"]]["average_progress"])
        self.assertEqual((self.ok("GET", f"{API}/tasks/{task['id']}")["status"]), "done")

    def test_a_bad_plan_id_is_400_and_a_missing_plan_404(self):
        for kind in ("units", "leaders"):
            for value in ("abc", "0", "-1", "", "1.5"):
                with self.subTest(kind=kind, plan_id=value):
                    self.assertRefused(self.call("GET", query(f"{API}/stats/{kind}", plan_id=value)), 400, ["plan_id"])
            self.assertRefused(self.call("GET", query(f"{API}/stats/{kind}", plan=1)), 400, ["plan"])
            self.assertRefused(self.call("GET", query(f"{API}/stats/{kind}", plan_id=NO_SUCH_ID)), 404)
        self.assertRefused(self.call("GET", f"{API}/plans/{NO_SUCH_ID}/summary"), 404)


class DryRunOnAnEmptyDatabase(DocumentCase):
    import_seed = False

    def test_an_http_dry_run_answers_200_with_the_report_and_writes_nothing(self):
        journal = psql(self.db.url, "SELECT count(*) FROM audit_log")
        r = self.import_document(seed_text(), 200, dry_run="true")
        report = r.json()
        self.assertIsNone(r.header("location"))
        self.assertEqual((report["dry_run"], report["plan_id"], report["counts"]), (True, None, SEED_COUNTS))
        self.assertEqual((report["deadlines"], report["recurrences"]), (SEED_DEADLINES, SEED_RECURRENCES))
        self.assertEqual(len(report["warnings"]), 60)
        self.assertEqual(self.counts(), {"plans": 0, "tasks": 0, "units": 0, "leaders": 0})
        self.assertEqual(psql(self.db.url, "SELECT count(*) FROM audit_log"), journal)

    def test_the_import_command_dry_run_prints_the_report_and_writes_nothing(self):
        journal = psql(self.db.url, "SELECT count(*) FROM audit_log")
        out = run_duban(self.db.url, "import", SEED_PATH, "--dry-run")
        self.assertEqual(out.returncode, 0, out.stderr)
        report = json.loads(out.stdout)
        self.assertEqual((report["dry_run"], report["plan_id"], report["counts"]), (True, None, SEED_COUNTS))
        self.assertEqual((report["deadlines"], report["recurrences"]), (SEED_DEADLINES, SEED_RECURRENCES))
        self.assertEqual(self.counts(), {"plans": 0, "tasks": 0, "units": 0, "leaders": 0})
        self.assertEqual(psql(self.db.url, "SELECT count(*) FROM audit_log"), journal)


class CommandLine(DocumentCase):
    import_seed = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        out = run_duban(cls.db.url, "import", SEED_PATH)
        if out.returncode != 0:
            raise AssertionError(out.stderr)
        cls.report = json.loads(out.stdout)
        cls.plan_id = cls.report["plan_id"]

    def test_the_import_command_prints_the_report_of_a_real_import(self):
        self.assertEqual((self.report["dry_run"], self.report["counts"]), (False, SEED_COUNTS))
        self.assertEqual(self.total(f"{API}/tasks", plan_id=self.plan_id), 114)
        again = run_duban(self.db.url, "import", SEED_PATH, "--if-empty")
        self.assertEqual((again.returncode, again.stdout), (0, ""))
        self.assertIn("nothing imported", again.stderr)
        self.assertEqual(self.total(f"{API}/plans"), 1)

    def test_the_export_command_writes_what_http_answers(self):
        for args, accept in ((["--format", "csv"], "text/csv"), (["--format", "text"], "text/plain"), ([], "text/plain")):
            with self.subTest(args=args):
                out = run_duban(self.db.url, "export", str(self.plan_id), *args, raw=True)
                self.assertEqual(out.returncode, 0, out.stderr)
                self.assertEqual(out.stdout, self.export(self.plan_id, accept).body)

    def test_the_export_command_refuses_bad_arguments(self):
        self.assertEqual(run_duban(self.db.url, "export", str(self.plan_id), "--format", "pdf").returncode, 2)
        self.assertEqual(run_duban(self.db.url, "export", "abc").returncode, 2)
        missing = run_duban(self.db.url, "export", str(NO_SUCH_ID))
        self.assertEqual((missing.returncode, missing.stdout), (1, ""))
        self.assertIn("does not exist", missing.stderr)


if __name__ == "__main__":
    main()
