"""The reports of the supervision loop (supervision.md): missing reports,
unit and leader scorecards with their ranking, and a plan's bulletin, each
as of a day. Histories are built through the API where it writes them
(plans, units, leaders, tasks, reports, urges and replies, closure requests
and decisions, all dated today) and straight into the tables where a past
day must be written (the day a report or an urge was made, the day a task
was closed), as the routes would have written them then. The exact answers
are worked out by hand; the property tests draw random histories with fixed
seeds and compare every answer with a model of the rules written here, in
Python, independently of the SQL."""

import datetime
import math
import random
from fractions import Fraction

from fixtures import API, Api, SharedRows, day, query, ref, tag
from harness import ServerTest, main

MISSING = f"{API}/supervision/missing-reports"
UNITS = f"{API}/scorecards/units"
LEADERS = f"{API}/scorecards/leaders"
CARD_MEMBERS = ["name", "led", "open", "done_on_time", "done_late", "overdue_open", "reports_expected",
                "reports_on_time", "reports_late", "reports_missing", "urges_received", "urges_answered_on_time",
                "score", "rank"]
D = datetime.date.fromisoformat
ONE_DAY = datetime.timedelta(days=1)


def bulletin(plan):
    return f"{API}/plans/{ref(plan)}/bulletin"


# -- reporting periods, counted here on the calendar ------------------------

def month_start(d, back=0):
    """The first day of d's month, `back` months earlier."""
    m = d.year * 12 + d.month - 1 - back
    return datetime.date(m // 12, m % 12 + 1, 1)


def period_start(cadence, d):
    if cadence == "weekly":
        return d - datetime.timedelta(days=d.weekday())
    if cadence == "quarterly":
        return datetime.date(d.year, (d.month - 1) // 3 * 3 + 1, 1)
    return datetime.date(d.year, d.month, 1)


def period_next(cadence, start):
    if cadence == "weekly":
        return start + datetime.timedelta(days=7)
    return month_start(start, -3 if cadence == "quarterly" else -1)


def period_end(cadence, start):
    return period_next(cadence, start) - ONE_DAY


def period_due(cadence, report_day, start):
    """The report day: weekday report_day, or day report_day of the month
    (of the quarter's last month), never past the period's end."""
    first = month_start(start, -2) if cadence == "quarterly" else start
    return min(first + datetime.timedelta(days=report_day - 1), period_end(cadence, start))


def period_label(cadence, start):
    if cadence == "weekly":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if cadence == "quarterly":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}-{start.month:02d}"


# -- a history and the rules over it ----------------------------------------

class History:
    """What the rules read: the plan's settings, and per task its lead unit,
    partners, leaders, due day, status, closing day and cadence; the reports
    (task, unit, reported_on, written on); the urges (task, unit, made on,
    reply_by, replied on or None). Days are datetime.date."""

    def __init__(self, start, cadence="monthly", report_day=28):
        self.start, self.cadence, self.report_day = start, cadence, report_day
        self.tasks, self.logs, self.urges = [], [], []

    def cadence_of(self, t):
        return t.get("cadence") or self.cadence

    def is_open(self, t, on):
        return t["status"] not in ("done", "cancelled") or t["closed_on"] > on

    def periods(self, t, lo, hi, as_of):
        """[(start, end, due, state)] of the periods t's lead owed that end in lo..hi before as_of."""
        cadence = self.cadence_of(t)
        if cadence == "none" or t["lead"] is None:
            return []
        out, start = [], period_start(cadence, max(lo, self.start))
        while start <= min(hi, as_of - ONE_DAY):
            end, due = period_end(cadence, start), period_due(cadence, self.report_day, start)
            closed = t["status"] in ("done", "cancelled") and t["closed_on"] < start
            if lo <= end <= min(hi, as_of - ONE_DAY) and not closed:
                dated = [r for (task, unit, r, written) in self.logs
                         if task is t and unit == t["lead"] and start <= r <= end and written <= as_of]
                state = ("on_time" if any(r <= due for r in dated) else "late") if dated else "missing"
                out.append((start, end, due, state))
            start = period_next(cadence, start)
        return out

    def missing(self, cadence, start, as_of):
        """The missing reports of the period, as the API lists them (path order = task order)."""
        items = []
        for t in self.tasks:
            if self.cadence_of(t) != cadence:
                continue
            for (s, e, due, state) in self.periods(t, start, period_end(cadence, start), as_of):
                if s == start and state == "missing":
                    items.append({"task_id": t["id"], "path": t["path"], "unit_id": t["lead"],
                                  "unit_name": self.unit_names[t["lead"]], "period": period_label(cadence, s),
                                  "due_on": due.isoformat()})
        return items

    def scorecard(self, kind, frm, to, as_of):
        """The rows of the scorecard, best first, as supervision.md counts them."""
        to = min(to, as_of)
        rows = {}
        for t in self.tasks:
            owners = ([t["lead"]] if t["lead"] is not None else []) if kind == "units" else t["leaders"]
            for who in owners:
                row = rows.setdefault(who, dict.fromkeys(CARD_MEMBERS[1:-2], 0))
                row["led"] += 1
                is_open = self.is_open(t, to)
                done = t["status"] == "done" and frm <= t["closed_on"] <= to
                row["open"] += is_open
                row["done_on_time"] += done and (t["due"] is None or t["closed_on"] <= t["due"])
                row["done_late"] += done and t["due"] is not None and t["closed_on"] > t["due"]
                row["overdue_open"] += is_open and t["due"] is not None and t["due"] < to
                for (_, _, _, state) in self.periods(t, frm, to, as_of):
                    row["reports_expected"] += 1
                    row["reports_" + state] += 1
                for (task, unit, made, reply_by, replied) in self.urges:
                    if task is t and unit == t["lead"] and frm <= made <= to:
                        row["urges_received"] += 1
                        row["urges_answered_on_time"] += replied is not None and replied <= reply_by and replied <= as_of
        names = self.unit_names if kind == "units" else self.leader_names
        out = [dict(row, **{"unit_id" if kind == "units" else "leader_id": who, "name": names[who],
                            "score": score(row)}) for who, row in rows.items()]
        out.sort(key=lambda r: (-r["score"], r["name"], r["unit_id" if kind == "units" else "leader_id"]))
        for r in out:
            r["rank"] = 1 + sum(1 for other in out if other["score"] > r["score"])
        return out


def rate(numerator, denominator):
    return Fraction(numerator, denominator) if denominator else Fraction(1)


def score(row):
    """supervision.md's score, rounded half up to one decimal."""
    s = (Fraction(4, 10) * rate(row["done_on_time"], row["done_on_time"] + row["done_late"] + row["overdue_open"])
         + Fraction(3, 10) * rate(row["reports_on_time"], row["reports_expected"])
         + Fraction(2, 10) * (1 - rate(row["overdue_open"], row["open"]) if row["open"] else Fraction(1))
         + Fraction(1, 10) * rate(row["urges_answered_on_time"], row["urges_received"]))
    return math.floor(1000 * s + Fraction(1, 2)) / 10


def noon(d):
    """A timestamp on day d (the test servers' days are UTC days)."""
    return f"'{d.isoformat()} 12:00:00+00'"


def sql_date(d):
    return "NULL" if d is None else f"'{d.isoformat()}'"


def sql_text(s):
    return "NULL" if s is None else "'" + s.replace("'", "''") + "'"


class Reports(Api, ServerTest):
    """Helpers: rows written straight into the tables, and the reports."""

    def sql(self, statement):
        return self.db.query("SET TimeZone = 'UTC'; " + statement)

    def ids(self, statement):
        return [int(row[0]) for row in self.sql(statement)]

    def close(self, task, status, closed_on):
        self.sql(f"UPDATE task SET status = '{status}', closed_on = {sql_date(closed_on)} WHERE id = {ref(task)}")

    def log(self, task, unit, reported_on, written_on=None):
        """A progress log dated reported_on, written on written_on (that day)."""
        self.sql(f"INSERT INTO progress_log (task_id, unit_id, reported_on, percent, summary, created_at) "
                 f"VALUES ({ref(task)}, {ref(unit)}, {sql_date(reported_on)}, 50, '进展 {tag()}', "
                 f"{noon(written_on or reported_on)})")

    def urge_then(self, task, unit, made, reply_by, replied=None):
        """An urge made on `made`, answered on `replied` (None: not yet)."""
        reply = f"'已办理', {noon(replied)}" if replied else "NULL, NULL"
        return self.ids(f"INSERT INTO urge (task_id, unit_id, message, reply_by, created_at, reply, replied_at) "
                        f"VALUES ({ref(task)}, {ref(unit)}, '请尽快办理 {tag()}', {sql_date(reply_by)}, "
                        f"{noon(made)}, {reply}) RETURNING id")[0]

    def report(self, path, params, status=200, accept=None):
        r = self.request("GET", query(path, params), headers={"Accept": accept} if accept else None)
        self.assertEqual(r.status, status, r)
        return r

    def answer(self, path, params):
        return self.report(path, params).json()

    def row(self, key, who, **counts):
        """A scorecard row of who (without its rank), its score from its counts."""
        counts["score"] = score(counts)
        return {key: who["id"], "name": who["name"], **counts}

    def bad_params(self, path, params, fields, status=400):
        r = self.request("GET", query(path, params))
        self.assertFieldErrors(r, status, fields)


class MissingReports(Reports):
    """A monthly plan from 2019-01-01, report day 28, and tasks that owe
    June 2019 or not, each for one reason."""

    def setUp(self):
        super().setUp()
        self.plan = self.new_plan(starts_on="2019-01-01")
        self.a, self.b, self.c = self.new_unit(), self.new_unit(), self.new_unit()

    def task(self, units, **fields):
        return self.new_task(self.plan, units=units, due_on="2020-12-31", **fields)

    def june(self, **params):
        return self.answer(MISSING, {"plan_id": self.plan["id"], "period": "2019-06", "as_of": "2019-07-05", **params})

    def item(self, t, unit, period="2019-06", due_on="2019-06-28"):
        return {"task_id": t["id"], "path": t["path"], "unit_id": unit["id"], "unit_name": unit["name"],
                "period": period, "due_on": due_on}

    def test_each_owed_report_that_does_not_exist_as_of_the_day(self):
        reported = self.task([self.a, self.b])
        self.log(reported, self.a, D("2019-06-10"))
        by_partner = self.task([self.b, self.a])               # only its partner reported
        self.log(by_partner, self.a, D("2019-06-10"))
        closed_before = self.task([self.c])                    # closed before June began: owes nothing
        self.close(closed_before, "done", D("2019-05-20"))
        closed_within = self.task([self.c])                    # open for part of June: owes June
        self.close(closed_within, "cancelled", D("2019-06-15"))
        late = self.task([self.b])                             # after the report day, still a report
        self.log(late, self.b, D("2019-06-29"))
        may_only = self.task([self.a])
        self.log(may_only, self.a, D("2019-05-31"))
        written_later = self.task([self.a])                    # dated in June, written on 10 July
        self.log(written_later, self.a, D("2019-06-20"), D("2019-07-10"))
        self.task([self.a], report_cadence="quarterly")        # reports by quarter: not in a month
        self.task([self.a], report_cadence="none")             # reports never
        self.new_task(self.plan, title="一、总体要求")          # no unit: nobody owes anything
        expected = [self.item(by_partner, self.b), self.item(closed_within, self.c), self.item(may_only, self.a),
                    self.item(written_later, self.a)]
        self.assertEqual(self.june(), {"plan_id": self.plan["id"], "period": "2019-06", "as_of": "2019-07-05",
                                       "items": expected})
        # without period: the last month ended before as_of, here June
        self.assertEqual(self.answer(MISSING, {"plan_id": self.plan["id"], "as_of": "2019-07-05"})["items"], expected)
        # the report written on 10 July counts from that day on
        self.assertEqual(self.june(as_of="2019-07-10")["items"], expected[:3])
        # a period not ended as of the day owes nothing yet
        self.assertEqual(self.june(as_of="2019-06-30")["items"], [])

    def test_the_period_decides_the_cadence_and_the_report_day(self):
        monthly = self.task([self.a])
        quarterly = self.task([self.b], report_cadence="quarterly")
        weekly = self.task([self.c], report_cadence="weekly")
        self.log(weekly, self.c, D("2019-06-03"))
        q2 = self.answer(MISSING, {"plan_id": self.plan["id"], "period": "2019-Q2", "as_of": "2019-07-05"})
        self.assertEqual(q2["items"], [self.item(quarterly, self.b, "2019-Q2", "2019-06-28")])
        # a task's own weekly cadence with the plan's report day 28: the week's last day
        w23 = self.answer(MISSING, {"plan_id": self.plan["id"], "period": "2019-W23", "as_of": "2019-07-05"})
        self.assertEqual(w23["items"], [])
        w24 = self.answer(MISSING, {"plan_id": self.plan["id"], "period": "2019-W24", "as_of": "2019-07-05"})
        self.assertEqual(w24["items"], [self.item(weekly, self.c, "2019-W24", "2019-06-16")])
        may = self.answer(MISSING, {"plan_id": self.plan["id"], "period": "2019-05", "as_of": "2019-07-05"})
        self.assertEqual(may["items"], [self.item(monthly, self.a, "2019-05", "2019-05-28")])
        # the plan's weekly cadence, reports due on Fridays: without period, the last week ended
        self.changed("PATCH", f"{API}/plans/{self.plan['id']}", {"supervision": {"report_cadence": "weekly",
                                                                                 "report_day": 5}})
        last_week = self.answer(MISSING, {"plan_id": self.plan["id"], "as_of": "2019-07-05"})
        self.assertEqual(last_week["period"], "2019-W26")
        self.assertEqual(last_week["items"], [self.item(monthly, self.a, "2019-W26", "2019-06-28"),
                                              self.item(weekly, self.c, "2019-W26", "2019-06-28")])

    def test_a_plan_without_cadence_owes_nothing_unless_a_period_is_asked(self):
        t = self.task([self.a], report_cadence="monthly")
        self.changed("PATCH", f"{API}/plans/{self.plan['id']}", {"supervision": {"report_cadence": "none"}})
        self.assertEqual(self.answer(MISSING, {"plan_id": self.plan["id"], "as_of": "2019-07-05"}),
                         {"plan_id": self.plan["id"], "period": None, "as_of": "2019-07-05", "items": []})
        self.assertEqual(self.june()["items"], [self.item(t, self.a)])

    def test_assigned_from_the_plan_start_else_its_issue_else_the_task_creation(self):
        issued = self.new_plan(issued_on="2019-03-10")
        t = self.new_task(issued, units=[self.a])
        got = self.answer(MISSING, {"plan_id": issued["id"], "period": "2019-03", "as_of": "2019-07-05"})
        self.assertEqual(got["items"], [self.item(t, self.a, "2019-03", "2019-03-28")])
        self.assertEqual(self.answer(MISSING, {"plan_id": issued["id"], "period": "2019-02", "as_of": "2019-07-05"})
                         ["items"], [])
        undated = self.new_plan()
        u = self.new_task(undated, units=[self.b])
        self.sql(f"UPDATE plan SET created_at = {noon(D('2019-04-01'))} WHERE id = {undated['id']}; "
                 f"UPDATE task SET created_at = {noon(D('2019-04-20'))} WHERE id = {u['id']}")
        got = self.answer(MISSING, {"plan_id": undated["id"], "period": "2019-04", "as_of": "2019-07-05"})
        self.assertEqual(got["items"], [self.item(u, self.b, "2019-04", "2019-04-28")])
        # as_of before the plan's start (its creation here) is 422
        r = self.request("GET", query(MISSING, {"plan_id": undated["id"], "as_of": "2019-03-31"}))
        self.assertFieldErrors(r, 422, ["as_of"])
        r = self.request("GET", query(bulletin(issued), {"as_of": "2019-03-09"}))
        self.assertFieldErrors(r, 422, ["as_of"])
        self.assertFieldErrors(self.request("GET", query(UNITS, {"plan_id": self.plan["id"], "as_of": "2018-12-31"})),
                               422, ["as_of"])

    def test_reports_made_today_through_the_api_count_for_their_period(self):
        plan = self.new_plan(starts_on=month_start(D(day(0)), 3).isoformat())
        t = self.new_task(plan, units=[self.a, self.b], due_on=day(300))
        last_month = month_start(D(day(0)), 1)
        self.new_log(t, self.b, reported_on=last_month.isoformat())
        got = self.answer(MISSING, {"plan_id": plan["id"]})
        self.assertEqual(got["period"], period_label("monthly", last_month))
        self.assertEqual(got["as_of"], day(0))
        self.assertEqual(got["items"], [self.item(t, self.a, got["period"],
                                                  period_due("monthly", 28, last_month).isoformat())])
        self.new_log(t, self.a, reported_on=last_month.isoformat())
        self.assertEqual(self.answer(MISSING, {"plan_id": plan["id"]})["items"], [])

    def test_bad_parameters_are_400_naming_each(self):
        for period in ("2019-13", "2019-00", "2019-Q5", "2019-Q0", "2019-W54", "2019-W53", "2019-W00", "2019-6",
                       "2019-w23", "2019-06-01", "abc", ""):
            with self.subTest(period=period):
                self.bad_params(MISSING, {"plan_id": self.plan["id"], "period": period}, ["period"])
                self.bad_params(bulletin(self.plan), {"period": period}, ["period"])
        self.assertEqual(self.answer(MISSING, {"plan_id": self.plan["id"], "period": "2020-W53",
                                               "as_of": "2021-01-05"})["period"], "2020-W53")
        self.bad_params(MISSING, {"plan_id": "x", "period": "2019-13", "as_of": "2019-02-30", "limit": "5"},
                        ["plan_id", "period", "as_of", "limit"])
        self.bad_params(MISSING, {"period": "2019-06"}, ["plan_id"])
        self.bad_params(bulletin(self.plan), {"plan_id": self.plan["id"], "from": "2019-01-01"}, ["plan_id", "from"])
        self.bad_params(UNITS, {"plan_id": self.plan["id"], "from": "2019-06-01", "to": "2019-05-31"}, ["to"])
        self.bad_params(UNITS, {"plan_id": self.plan["id"], "from": "2019-06-01", "as_of": "2019-05-31"}, ["from"])
        self.bad_params(LEADERS, {"plan_id": 0, "period": "2019-06", "to": "tomorrow"}, ["plan_id", "period", "to"])
        self.bad_params(MISSING, {"plan_id": self.plan["id"], "as_of": day(2)}, ["as_of"], status=422)
        self.assertProblem(self.request("GET", query(MISSING, {"plan_id": 9000000000000000000})), 404)
        self.assertProblem(self.request("GET", bulletin(9000000000000000000)), 404)
        self.assertProblem(self.request("GET", query(UNITS, {"plan_id": 9000000000000000000})), 404)


class Scorecards(SharedRows, Reports):
    """The units A, B, C, D, E and the leaders L1, L2 of a monthly plan from
    2019-01-01 (report day 28), counted from 2019-01-01 to 2019-06-30 as of
    2019-07-05. The tasks (lead first, then partners; [leaders]):

      a1 A [L1 L2] due 03-31, done 03-20; reports Jan 10, Feb 28 (on time), Mar 29 (late)
      a2 A [L2]    due 04-30, done 05-10 (late); no report: Jan..May missing
      a3 A,B [L1]  due 06-15, open (overdue); report Jun 01; urges to A: one answered on
                   time, one late, one made after the window; one to B (not the lead)
      a4 A         no due day, no cadence: open, owes no report
      b1 B,A [L1]  due 12-31, open; reports on the 5th, Jan..Jun
      b2 B         cancelled 02-15: Jan and Feb missing
      c1 C [L2]    due 05-31, done 06-05 (late); its reports written on 07-20, after as_of
      c2 C [L2]    due 06-30 (not overdue on 06-30), done 07-03: open as of 06-30
      d1 D, e1 E   no due day, no cadence: all rates 1, a tie at 100
    """

    def build_rows(self, cls):
        cls.plan = self.new_plan(starts_on="2019-01-01")
        u = {k: self.new_unit(name=f"{k}-{tag()}") for k in "ABCDE"}
        ld = {k: self.new_leader(name=f"{k}-{tag()}") for k in ("L1", "L2")}
        cls.u, cls.ld = u, ld

        def task(units, leaders=(), **fields):
            return self.new_task(cls.plan, units=[u[k] for k in units], leaders=[ld[k] for k in leaders], **fields)
        a1 = task("A", ("L1", "L2"), due_on="2019-03-31")
        self.close(a1, "done", D("2019-03-20"))
        for d in ("2019-01-10", "2019-02-28", "2019-03-29"):
            self.log(a1, u["A"], D(d))
        a2 = task("A", ("L2",), due_on="2019-04-30")
        self.close(a2, "done", D("2019-05-10"))
        a3 = task("AB", ("L1",), due_on="2019-06-15", status="in_progress")
        self.log(a3, u["A"], D("2019-06-01"))
        self.urge_then(a3, u["A"], D("2019-06-01"), D("2019-06-10"), D("2019-06-09"))
        self.urge_then(a3, u["A"], D("2019-06-20"), D("2019-06-25"), D("2019-06-27"))
        self.urge_then(a3, u["A"], D("2019-07-02"), D("2019-07-04"))
        self.urge_then(a3, u["B"], D("2019-06-02"), D("2019-06-05"))
        task("A", report_cadence="none")
        b1 = task("BA", ("L1",), due_on="2019-12-31")
        for m in range(1, 7):
            self.log(b1, u["B"], D(f"2019-{m:02d}-05"))
        b2 = task("B")
        self.close(b2, "cancelled", D("2019-02-15"))
        c1 = task("C", ("L2",), due_on="2019-05-31")
        self.close(c1, "done", D("2019-06-05"))
        for m in range(1, 7):
            self.log(c1, u["C"], D(f"2019-{m:02d}-05"), D("2019-07-20"))
        c2 = task("C", ("L2",), due_on="2019-06-30")
        self.close(c2, "done", D("2019-07-03"))
        task("D", report_cadence="none")
        task("E", report_cadence="none")

    def window(self, **params):
        return {"plan_id": self.plan["id"], "from": "2019-01-01", "to": "2019-06-30", "as_of": "2019-07-05", **params}

    def test_units_counted_scored_and_ranked(self):
        got = self.answer(UNITS, self.window())
        self.assertEqual((got["plan_id"], got["from"], got["to"]), (self.plan["id"], "2019-01-01", "2019-06-30"))
        u = self.u
        perfect = dict(led=1, open=1, done_on_time=0, done_late=0, overdue_open=0, reports_expected=0,
                       reports_on_time=0, reports_late=0, reports_missing=0, urges_received=0,
                       urges_answered_on_time=0)
        expected = [
            dict(self.row("unit_id", u["D"], **perfect), rank=1),
            dict(self.row("unit_id", u["E"], **perfect), rank=1),
            dict(self.row("unit_id", u["B"], led=2, open=1, done_on_time=0, done_late=0, overdue_open=0,
                          reports_expected=8, reports_on_time=6, reports_late=0, reports_missing=2, urges_received=0,
                          urges_answered_on_time=0), rank=3),
            dict(self.row("unit_id", u["A"], led=4, open=2, done_on_time=1, done_late=1, overdue_open=1,
                          reports_expected=14, reports_on_time=3, reports_late=1, reports_missing=10,
                          urges_received=2, urges_answered_on_time=1), rank=4),
            dict(self.row("unit_id", u["C"], led=2, open=1, done_on_time=0, done_late=1, overdue_open=0,
                          reports_expected=12, reports_on_time=0, reports_late=0, reports_missing=12,
                          urges_received=0, urges_answered_on_time=0), rank=5),
        ]
        self.assertEqual([r["score"] for r in expected], [100.0, 100.0, 92.5, 34.8, 30.0])
        self.assertEqual(got["items"], expected)
        for r in got["items"]:
            self.assertEqual(list(r), ["unit_id"] + CARD_MEMBERS)

    def test_leaders_count_the_tasks_they_are_named_on(self):
        got = self.answer(LEADERS, self.window())
        self.assertEqual(got["items"], [
            dict(self.row("leader_id", self.ld["L1"], led=3, open=2, done_on_time=1, done_late=0, overdue_open=1,
                          reports_expected=15, reports_on_time=9, reports_late=1, reports_missing=5,
                          urges_received=2, urges_answered_on_time=1), rank=1),
            dict(self.row("leader_id", self.ld["L2"], led=4, open=1, done_on_time=1, done_late=2, overdue_open=0,
                          reports_expected=20, reports_on_time=2, reports_late=1, reports_missing=17,
                          urges_received=0, urges_answered_on_time=0), rank=2),
        ])
        self.assertEqual([r["score"] for r in got["items"]], [53.0, 46.3])

    def test_the_window_bounds_completions_periods_and_urges(self):
        a = next(r for r in self.answer(UNITS, self.window(**{"from": "2019-04-01"}))["items"]
                 if r["unit_id"] == self.u["A"]["id"])
        # a1 closed before the window: neither open nor done in it
        self.assertEqual(a, self.row("unit_id", self.u["A"], led=4, open=2, done_on_time=0, done_late=1,
                                     overdue_open=1, reports_expected=5, reports_on_time=1, reports_late=0,
                                     reports_missing=4, urges_received=2, urges_answered_on_time=1) | {"rank": a["rank"]})
        # nothing after as_of counts: `to` stops at as_of, c2 closed on 07-03 is done late by then
        got = self.answer(UNITS, self.window(to="2019-12-31"))
        self.assertEqual(got["to"], "2019-07-05")
        c = next(r for r in got["items"] if r["unit_id"] == self.u["C"]["id"])
        self.assertEqual((c["open"], c["done_late"], c["reports_expected"]), (0, 2, 12))
        # as of 07-20 c1's reports are written: on time
        c = next(r for r in self.answer(UNITS, self.window(as_of="2019-07-20"))["items"]
                 if r["unit_id"] == self.u["C"]["id"])
        self.assertEqual((c["reports_on_time"], c["reports_missing"]), (6, 6))
        # the defaults: from the plan's start to as_of
        got = self.answer(UNITS, {"plan_id": self.plan["id"], "as_of": "2019-06-30"})
        self.assertEqual((got["from"], got["to"]), ("2019-01-01", "2019-06-30"))

    def test_csv_is_the_same_table_with_a_header_row(self):
        for path, key in ((UNITS, "unit_id"), (LEADERS, "leader_id")):
            rows = self.answer(path, self.window())["items"]
            r = self.report(path, self.window(), accept="text/csv")
            self.assertEqual(r.header("content-type"), "text/csv; charset=utf-8")
            lines = r.body.decode("utf-8").split("\r\n")
            self.assertEqual(lines[0], ",".join([key] + CARD_MEMBERS))
            self.assertEqual(lines[-1], "")
            self.assertEqual(lines[1:-1], [",".join(f"{v:.1f}" if isinstance(v, float) else str(v)
                                                    for v in row.values()) for row in rows])
        self.assertEqual(self.report(UNITS, self.window(), accept="text/csv, application/json;q=0.5")
                         .header("content-type"), "text/csv; charset=utf-8")
        self.assertEqual(self.report(UNITS, self.window(), accept="text/*;q=0.2, */*")
                         .header("content-type"), "application/json")
        self.assertProblem(self.request("GET", query(UNITS, self.window()), headers={"Accept": "text/html"}), 406)
        self.assertProblem(self.request("GET", query(UNITS, self.window()), headers={"Accept": "text/csv;q=0"}), 406)

    def test_a_name_with_a_comma_is_quoted_in_csv(self):
        plan = self.new_plan(starts_on="2019-01-01")
        unit = self.new_unit(name=f'区"扶贫",办 {tag()}')
        self.new_task(plan, units=[unit], report_cadence="none")
        r = self.report(UNITS, {"plan_id": plan["id"], "as_of": "2019-07-05"}, accept="text/csv")
        quoted = '"' + unit["name"].replace('"', '""') + '"'
        self.assertEqual(r.body.decode("utf-8").split("\r\n")[1], f"{unit['id']},{quoted},1,1,0,0,0,0,0,0,0,0,0,100.0,1")


class ThroughTheApi(Reports):
    """A history made today through the routes: reports, urges and replies,
    a closure request accepted; counted as of today."""

    def test_actions_made_today_count_in_the_scorecard(self):
        today = D(day(0))
        plan = self.new_plan(starts_on=month_start(today, 3).isoformat())
        self.changed("PATCH", f"{API}/plans/{plan['id']}", {"supervision": {"report_day": 10}})
        lead, partner = self.new_unit(), self.new_unit()
        t = self.new_task(plan, units=[lead, partner], due_on=day(400))
        t2 = self.new_task(plan, units=[lead], due_on=day(30))
        self.new_log(t, lead, reported_on=month_start(today, 3).replace(day=5).isoformat())    # on time
        self.new_log(t, lead, reported_on=month_start(today, 2).replace(day=20).isoformat())   # late
        self.new_log(t, partner, reported_on=month_start(today, 1).replace(day=5).isoformat())  # not the lead's
        tasks = f"{API}/tasks"
        on_time = self.created(f"{tasks}/{t['id']}/urges", {"unit_id": lead["id"], "message": "请报送", "reply_by": day(5)})
        late = self.created(f"{tasks}/{t['id']}/urges", {"unit_id": lead["id"], "message": "请报送", "reply_by": day(-1)})
        self.created(f"{tasks}/{t['id']}/urges", {"unit_id": partner["id"], "message": "请配合", "reply_by": day(5)})
        for urge in (on_time, late):
            self.changed("POST", f"{API}/urges/{urge['id']}/reply", {"message": "已报送"})
        request = self.created(f"{tasks}/{t2['id']}/closure-requests", {"unit_id": lead["id"], "summary": "已完成"})
        self.changed("POST", f"{API}/closure-requests/{request['id']}/decision", {"decision": "accept"})
        got = self.answer(UNITS, {"plan_id": plan["id"]})
        self.assertEqual((got["from"], got["to"]), (month_start(today, 3).isoformat(), day(0)))
        self.assertEqual(got["items"], [
            self.row("unit_id", lead, led=2, open=1, done_on_time=1, done_late=0, overdue_open=0,
                     reports_expected=6, reports_on_time=1, reports_late=1, reports_missing=4, urges_received=2,
                     urges_answered_on_time=1) | {"rank": 1}])
        self.assertEqual(got["items"][0]["score"], 70.0)
        missing = self.answer(MISSING, {"plan_id": plan["id"]})
        due = period_due("monthly", 10, month_start(today, 1)).isoformat()
        self.assertEqual([(i["task_id"], i["due_on"]) for i in missing["items"]], [(t["id"], due), (t2["id"], due)])


class Bulletin(SharedRows, Reports):
    """A monthly plan from 2019-01-01 as of 2019-07-05, June's bulletin:

      a3 A  due 06-15, open, progress 100: red (overdue)
      b1 B  due 12-31, progress 50, reported in June: no colour
      y1 C  due 07-20, progress 90, reported in June: blue (due soon)
      y2 B  due 12-31, progress 60, not started, no June report: yellow (report missing)
      y3 A  due 2020-06-30, progress 30, reported in June, an urge unanswered past
            its reply_by: yellow (urge unanswered)
      k1 C  done on 03-01
      k2 A  done on 08-01, after as_of: in progress then, reported in June
      k3    a heading without units
    """

    def build_rows(self, cls):
        cls.plan = self.new_plan(starts_on="2019-01-01", doc_number=f"区委办发〔2019〕{tag()}号",
                                 title="关于打赢脱贫攻坚战三年行动的实施方案 " + tag())
        a, b, c = (self.new_unit(name=f"{k}-{tag()}") for k in "ABC")
        cls.a, cls.b, cls.c = a, b, c
        t = {}

        def task(key, units, status, due_on=None, progress=0, june=True):
            t[key] = self.new_task(cls.plan, units=units, due_on=due_on, status=status, title=f"任务{key} {tag()}")
            self.sql(f"UPDATE task SET progress = {progress} WHERE id = {t[key]['id']}")
            if june and units:
                self.log(t[key], units[0], D("2019-06-10"))
        task("a3", [a, b], "in_progress", "2019-06-15", 100)
        task("b1", [b], "in_progress", "2019-12-31", 50)
        task("y1", [c], "in_progress", "2019-07-20", 90)
        task("y2", [b], "not_started", "2019-12-31", 60, june=False)
        task("y3", [a], "in_progress", "2020-06-30", 30)
        task("k1", [c], "in_progress", "2019-02-28", 100)
        self.close(t["k1"], "done", D("2019-03-01"))
        task("k2", [a], "in_progress", "2019-09-30", 100)
        self.close(t["k2"], "done", D("2019-08-01"))
        task("k3", [], "not_started")
        cls.g1 = self.urge_then(t["y3"], a, D("2019-06-20"), D("2019-07-01"))
        self.urge_then(t["b1"], b, D("2019-06-10"), D("2019-06-20"), D("2019-07-04"))
        cls.g3 = self.urge_then(t["y1"], c, D("2019-06-25"), D("2019-07-15"), D("2019-07-10"))
        self.urge_then(t["a3"], a, D("2019-07-08"), D("2019-07-09"))
        cls.t = {k: self.task(v) for k, v in t.items()}

    def june(self, accept=None, **params):
        return self.report(bulletin(self.plan), {"period": "2019-06", "as_of": "2019-07-05", **params}, accept=accept)

    def brief(self, key, warning, codes, doc):
        """A task of the attention list: its reasons' codes checked, their words taken from doc."""
        task = next(x for g in doc["attention"] for x in g["tasks"] if x["task_id"] == self.t[key]["id"])
        self.assertEqual([r["code"] for r in task["reasons"]], codes)
        self.assertTrue(all(r["detail"] for r in task["reasons"]))
        return {"task_id": self.t[key]["id"], "path": self.t[key]["path"], "title": self.t[key]["title"],
                "warning": warning, "reasons": task["reasons"]}

    def test_the_json_bulletin(self):
        doc = self.june().json()
        ranking = self.answer(UNITS, {"plan_id": self.plan["id"], "as_of": "2019-07-05"})["items"]
        t, a, b = self.t, self.a, self.b
        self.assertEqual(doc, {
            "plan_id": self.plan["id"], "title": self.plan["title"], "period": "2019-06", "as_of": "2019-07-05",
            "totals": {"tasks": 8, "by_status": {"not_started": 2, "in_progress": 5, "done": 1, "cancelled": 0},
                       "by_warning": {"red": 1, "yellow": 2, "blue": 1, "none": 4}},
            "attention": [
                {"unit_id": a["id"], "unit_name": a["name"],
                 "tasks": [self.brief("a3", "red", ["overdue"], doc),
                           self.brief("y3", "yellow", ["urge_unanswered"], doc)]},
                {"unit_id": b["id"], "unit_name": b["name"],
                 "tasks": [self.brief("y2", "yellow", ["report_missing"], doc)]}],
            "missing_reports": [{"task_id": t["y2"]["id"], "path": t["y2"]["path"], "unit_id": b["id"],
                                 "unit_name": b["name"], "period": "2019-06", "due_on": "2019-06-28"}],
            "ranking": ranking,
            "open_urges": [
                {"id": self.g1, "task_id": t["y3"]["id"], "path": t["y3"]["path"], "title": t["y3"]["title"],
                 "unit_id": a["id"], "unit_name": a["name"], "message": doc["open_urges"][0]["message"],
                 "reply_by": "2019-07-01"},
                {"id": self.g3, "task_id": t["y1"]["id"], "path": t["y1"]["path"], "title": t["y1"]["title"],
                 "unit_id": self.c["id"], "unit_name": self.c["name"], "message": doc["open_urges"][1]["message"],
                 "reply_by": "2019-07-15"}],
        })
        # without period: June, the last month ended before as_of
        self.assertEqual(self.report(bulletin(self.plan), {"as_of": "2019-07-05"}).json(), doc)

    def test_the_text_bulletin_is_ready_to_circulate(self):
        doc = self.june().json()
        r = self.june(accept="text/plain")
        self.assertEqual(r.header("content-type"), "text/plain; charset=utf-8")
        text = r.body.decode("utf-8")
        t, a, b, c = self.t, self.a, self.b, self.c

        def reasons(key):
            task = next(x for g in doc["attention"] for x in g["tasks"] if x["task_id"] == t[key]["id"])
            return "".join(f"　　　　{x['detail']}\n" for x in task["reasons"])

        def card(row):
            return (f"　　{row['rank']}. {row['name']}　{row['score']:.1f}分（牵头任务{row['led']}项，"
                    f"按期完成{row['done_on_time']}项，逾期完成{row['done_late']}项，逾期未完成{row['overdue_open']}项；"
                    f"应报送{row['reports_expected']}次，按时报送{row['reports_on_time']}次，逾期报送{row['reports_late']}次，"
                    f"未报送{row['reports_missing']}次；收到催办{row['urges_received']}次，"
                    f"按时回复{row['urges_answered_on_time']}次）\n")
        expected = (
            f"《{self.plan['title']}》落实情况通报\n\n"
            f"方案文号：{self.plan['doc_number']}\n"
            "报告期：2019年6月（2019年6月1日至2019年6月30日）\n"
            "截至：2019年7月5日\n"
            "\n一、总体情况\n\n"
            "　　方案共有任务8项，其中未启动2项、推进中5项、已完成1项、已取消0项。"
            "红色预警1项，黄色预警2项，蓝色预警1项，无预警4项。\n"
            "\n二、红色预警\n\n"
            f"（一）{a['name']}（1项）\n"
            f"　　1. {t['a3']['path']} {t['a3']['title']}\n" + reasons("a3") +
            "\n三、黄色预警\n\n"
            f"（一）{a['name']}（1项）\n"
            f"　　1. {t['y3']['path']} {t['y3']['title']}\n" + reasons("y3") +
            f"（二）{b['name']}（1项）\n"
            f"　　1. {t['y2']['path']} {t['y2']['title']}\n" + reasons("y2") +
            "\n四、未按期报送进展情况\n\n"
            "　　2019年6月应报未报1项：\n"
            f"　　1. {b['name']}：{t['y2']['path']} {t['y2']['title']}（报送期限2019年6月28日）\n"
            "\n五、考评排名\n\n"
            "　　考评期：2019年1月1日至2019年7月5日。\n\n" + "".join(card(row) for row in doc["ranking"]) +
            "\n六、催办未回复情况\n\n"
            f"　　1. {a['name']}：{t['y3']['path']} {t['y3']['title']}，2019年6月20日催办，要求2019年7月1日前回复，已逾期。\n"
            f"　　　　催办事项：{doc['open_urges'][0]['message']}\n"
            f"　　2. {c['name']}：{t['y1']['path']} {t['y1']['title']}，2019年6月25日催办，要求2019年7月15日前回复。\n"
            f"　　　　催办事项：{doc['open_urges'][1]['message']}\n")
        self.assertEqual(text, expected)

    def test_the_markdown_bulletin_has_the_same_sections(self):
        r = self.june(accept="text/markdown")
        self.assertEqual(r.header("content-type"), "text/markdown; charset=utf-8")
        text = r.body.decode("utf-8")
        self.assertTrue(text.startswith(f"# 《{self.plan['title']}》落实情况通报\n\n"), text[:200])
        headings = [line for line in text.split("\n") if line.startswith("## ")]
        self.assertEqual(headings, ["## 一、总体情况", "## 二、红色预警", "## 三、黄色预警", "## 四、未按期报送进展情况",
                                    "## 五、考评排名", "## 六、催办未回复情况"])
        self.assertIn(f"### （一）{self.a['name']}（1项）\n\n1. {self.t['a3']['path']} {self.t['a3']['title']}\n",
                      text)
        self.assertIn(f"| 1 | {self.b['name']} | {self.t['y2']['path']} {self.t['y2']['title']} | 2019年6月28日 |",
                      text)
        self.assertIn("| 名次 | 单位 | 得分 |", text)

    def test_accept_chooses_the_form(self):
        self.assertEqual(self.june(accept="*/*").header("content-type"), "application/json")
        self.assertEqual(self.june(accept="text/markdown;q=0.9, text/plain").header("content-type"),
                         "text/plain; charset=utf-8")
        self.assertEqual(self.june(accept="text/*").header("content-type"), "text/plain; charset=utf-8")
        r = self.request("GET", query(bulletin(self.plan), {"as_of": "2019-07-05"}), headers={"Accept": "text/csv"})
        self.assertProblem(r, 406)

    def test_what_came_after_the_day_leaves_its_bytes_as_they_were(self):
        """Runs last in its class (by name): the history it adds is all dated today."""
        before = {accept: self.june(accept=accept).body for accept in ("application/json", "text/plain", "text/markdown")}
        # what happens later: reports, urges and replies, a task closed, all written today
        t = self.t
        self.log(t["y2"], self.b, D("2019-06-12"), D(day(0)))
        self.sql(f"INSERT INTO urge (task_id, unit_id, message, reply_by) VALUES ({t['b1']['id']}, {self.b['id']}, "
                 f"'再次催办', '2019-06-30')")
        self.sql(f"UPDATE urge SET reply = '已办理', replied_at = now() WHERE id = {self.g1}")
        self.close(t["b1"], "done", D(day(0)))
        for accept, body in before.items():
            self.assertEqual(self.june(accept=accept).body, body, accept)


class Properties(Reports):
    """Random histories with fixed seeds: every answer equals the model of
    the rules above; the counts add up; scores lie in 0..100; a bulletin as
    of a past day has the same bytes on every request and after new writes."""

    SEEDS = (7, 2019, 4242)

    def build(self, seed):
        rnd = random.Random(seed)
        start = D("2019-01-01")
        cadence = rnd.choice(["monthly", "quarterly", "weekly"])
        report_day = rnd.randint(1, 7) if cadence == "weekly" else rnd.randint(1, 31)
        h = History(start, cadence, report_day)
        plan = self.ids(f"INSERT INTO plan (title, starts_on, report_cadence, report_day) VALUES "
                        f"('随机方案 {tag()}', '2019-01-01', '{cadence}', {report_day}) RETURNING id")[0]
        units = self.ids("INSERT INTO unit (name) VALUES " + ", ".join(f"('单位{i}-{tag()}')" for i in range(5))
                         + " RETURNING id")
        leaders = self.ids("INSERT INTO leader (name) VALUES " + ", ".join(f"('领导{i}-{tag()}')" for i in range(3))
                           + " RETURNING id")
        h.unit_names = dict(self.sql(f"SELECT id, name FROM unit WHERE id IN ({','.join(map(str, units))})"))
        h.unit_names = {int(k): v for k, v in h.unit_names.items()}
        h.leader_names = {int(k): v for k, v in self.sql(f"SELECT id, name FROM leader WHERE id IN "
                                                          f"({','.join(map(str, leaders))})")}

        def some_day(lo, hi):
            return lo + datetime.timedelta(days=rnd.randint(0, (hi - lo).days))
        for i in range(14):
            assigned = rnd.sample(units, rnd.randint(0, 3)) if rnd.random() > 0.1 else []
            closed = rnd.random()
            status = "done" if closed < 0.3 else "cancelled" if closed < 0.4 else rnd.choice(["not_started", "in_progress"])
            h.tasks.append({"lead": assigned[0] if assigned else None, "units": assigned,
                            "leaders": rnd.sample(leaders, rnd.randint(0, 2)),
                            "due": some_day(D("2019-02-01"), D("2020-06-30")) if rnd.random() > 0.2 else None,
                            "status": status,
                            "closed_on": some_day(D("2019-01-01"), D("2019-12-31")) if status in ("done", "cancelled") else None,
                            "cadence": rnd.choice([None, None, None, "monthly", "quarterly", "weekly", "none"])})
        ids = self.ids("INSERT INTO task (plan_id, level, position, title, due_on, status, closed_on, report_cadence) "
                       "VALUES " + ", ".join(f"({plan}, 1, {i + 1}, '任务{i} {tag()}', {sql_date(t['due'])}, "
                                             f"'{t['status']}', {sql_date(t['closed_on'])}, {sql_text(t['cadence'])})"
                                             for i, t in enumerate(h.tasks)) + " RETURNING id")
        for i, (t, task_id) in enumerate(zip(h.tasks, ids)):
            t["id"], t["path"] = task_id, str(i + 1)
        links = [f"({t['id']}, {unit}, {p + 1})" for t in h.tasks for p, unit in enumerate(t["units"])]
        if links:
            self.sql("INSERT INTO task_unit (task_id, unit_id, position) VALUES " + ", ".join(links))
        links = [f"({t['id']}, {who}, {p + 1})" for t in h.tasks for p, who in enumerate(t["leaders"])]
        if links:
            self.sql("INSERT INTO task_leader (task_id, leader_id, position) VALUES " + ", ".join(links))
        assigned = [t for t in h.tasks if t["units"]]
        for _ in range(90):
            t = rnd.choice(assigned)
            unit = t["lead"] if rnd.random() < 0.8 else rnd.choice(t["units"])
            reported = some_day(D("2019-01-01"), D("2019-12-31"))
            h.logs.append((t, unit, reported, reported + datetime.timedelta(days=rnd.choice([0, 0, 0, 3, 20, 60]))))
        self.sql("INSERT INTO progress_log (task_id, unit_id, reported_on, percent, summary, created_at) VALUES "
                 + ", ".join(f"({t['id']}, {unit}, {sql_date(r)}, 50, '进展', {noon(w)})" for (t, unit, r, w) in h.logs))
        for _ in range(14):
            t = rnd.choice(assigned)
            unit = t["lead"] if rnd.random() < 0.8 else rnd.choice(t["units"])
            made = some_day(D("2019-01-01"), D("2019-12-31"))
            reply_by = made + datetime.timedelta(days=rnd.randint(0, 15))
            replied = made + datetime.timedelta(days=rnd.randint(0, 25)) if rnd.random() < 0.7 else None
            h.urges.append((t, unit, made, reply_by, replied))
        self.sql("INSERT INTO urge (task_id, unit_id, message, reply_by, created_at, reply, replied_at) VALUES "
                 + ", ".join(f"({t['id']}, {unit}, '催办', {sql_date(by)}, {noon(made)}, "
                             + (f"'已办理', {noon(replied)})" if replied else "NULL, NULL)")
                             for (t, unit, made, by, replied) in h.urges))
        return plan, h, rnd

    def check_scorecard(self, plan, h, kind, frm, to, as_of):
        params = {"plan_id": plan, "from": frm.isoformat(), "to": to.isoformat(), "as_of": as_of.isoformat()}
        got = self.answer(UNITS if kind == "units" else LEADERS, params)
        self.assertEqual(got["items"], h.scorecard(kind, frm, to, as_of), params)
        for row in got["items"]:
            for member in CARD_MEMBERS[1:-2]:
                self.seen[member] = self.seen.get(member, 0) + row[member]
        end = min(to, as_of)
        for row in got["items"]:
            self.assertTrue(0 <= row["score"] <= 100, row)
            self.assertEqual(row["reports_expected"], row["reports_on_time"] + row["reports_late"] + row["reports_missing"])
            self.assertLessEqual(row["urges_answered_on_time"], row["urges_received"])
            self.assertLessEqual(row["overdue_open"], row["open"])
            key = "unit_id" if kind == "units" else "leader_id"
            mine = [t for t in h.tasks if (t["lead"] == row[key] if kind == "units" else row[key] in t["leaders"])]
            others = sum(1 for t in mine if not h.is_open(t, end) and not (t["status"] == "done" and t["closed_on"] >= frm))
            self.assertEqual(row["led"], row["open"] + row["done_on_time"] + row["done_late"] + others, row)
        ranks = [row["rank"] for row in got["items"]]
        self.assertEqual(ranks, sorted(ranks))
        self.assertEqual(ranks[:1], [1] * min(1, len(ranks)))

    def test_random_histories(self):
        self.seen, missing = {}, 0
        for seed in self.SEEDS:
            with self.subTest(seed=seed):
                plan, h, rnd = self.build(seed)
                for _ in range(3):
                    frm = rnd.choice([D("2019-01-01"), D("2019-02-11"), D("2019-04-01")])
                    to = rnd.choice([D("2019-06-30"), D("2019-09-15"), D("2019-12-31")])
                    as_of = rnd.choice([to - datetime.timedelta(days=20), to, D("2020-01-31")])
                    for kind in ("units", "leaders"):
                        self.check_scorecard(plan, h, kind, frm, to, as_of)
                for _ in range(4):
                    cadence = rnd.choice(["monthly", "quarterly", "weekly"])
                    start = period_start(cadence, D("2019-01-01") + datetime.timedelta(days=rnd.randint(0, 360)))
                    as_of = period_end(cadence, start) + datetime.timedelta(days=rnd.choice([-3, 1, 5, 40]))
                    got = self.answer(MISSING, {"plan_id": plan, "period": period_label(cadence, start),
                                                "as_of": as_of.isoformat()})
                    self.assertEqual(got["items"], h.missing(cadence, start, as_of), (cadence, start, as_of))
                    missing += len(got["items"])
                self.check_bulletin(plan, h)
        # the histories are not trivial: every count was met somewhere
        self.assertTrue(all(self.seen.get(m) for m in CARD_MEMBERS[1:-2]), self.seen)
        self.assertGreater(missing, 0)

    def check_bulletin(self, plan, h):
        params = {"as_of": "2019-10-09"}
        doc = self.answer(bulletin(plan), params)
        start = period_start(h.cadence, period_start(h.cadence, D("2019-10-09")) - ONE_DAY)
        self.assertEqual((doc["period"], doc["as_of"]), (period_label(h.cadence, start), "2019-10-09"))
        totals = doc["totals"]
        self.assertEqual(totals["tasks"], len(h.tasks))
        self.assertEqual(sum(totals["by_status"].values()), len(h.tasks))
        self.assertEqual(sum(totals["by_warning"].values()), len(h.tasks))
        listed = [x for g in doc["attention"] for x in g["tasks"]]
        self.assertEqual(len(listed), totals["by_warning"]["red"] + totals["by_warning"]["yellow"])
        by_id = {t["id"]: t for t in h.tasks}
        for g in doc["attention"]:
            self.assertTrue(all(by_id[x["task_id"]]["lead"] == g["unit_id"] for x in g["tasks"]), g)
            self.assertTrue(all(h.is_open(by_id[x["task_id"]], D("2019-10-09")) for x in g["tasks"]), g)
        self.assertEqual(doc["missing_reports"], h.missing(h.cadence, start, D("2019-10-09")))
        self.assertEqual(doc["ranking"], self.answer(UNITS, {"plan_id": plan, **params})["items"])
        texts = [self.report(bulletin(plan), params, accept=accept).body for accept in ("text/plain", "text/markdown")]
        # later writes: reports, urges and replies made today
        t = next(t for t in h.tasks if t["lead"] is not None)
        self.log(t["id"], t["lead"], D("2019-09-03"), D(day(0)))
        self.sql(f"INSERT INTO urge (task_id, unit_id, message, reply_by) VALUES ({t['id']}, {t['lead']}, '催办', "
                 f"'2019-09-30'); UPDATE urge SET reply = '已办理', replied_at = now() WHERE replied_at IS NULL "
                 f"AND task_id IN (SELECT id FROM task WHERE plan_id = {plan})")
        self.assertEqual(self.report(bulletin(plan), params).json(), doc)
        for accept, text in zip(("text/plain", "text/markdown"), texts):
            self.assertEqual(self.report(bulletin(plan), params, accept=accept).body, text)


if __name__ == "__main__":
    main()
