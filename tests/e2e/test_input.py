"""Bad input is never answered with a silent wrong answer: text that is not
UTF-8 anywhere in the request (path, query name or value, JSON field name)
and malformed dates (in a body or a list filter) are 400/422 problems that
name what is wrong."""

import http.client
import socket

from harness import Response, ServerTest, main

API = "/api/v1"


class InputTest(ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = cls.server.request("POST", API + "/plans", json_body={"title": "输入检查方案", "issued_on": "2018-12-04"})
        assert r.status == 201, r
        cls.plan = r.json()
        for title in ("一号任务", "二号任务"):
            r = cls.server.request("POST", API + "/tasks", json_body={"plan_id": cls.plan["id"], "title": title})
            assert r.status == 201, r

    def problem_fields(self, r, status):
        """Asserts a problem of this status and returns its errors as {field: message}."""
        p = self.assertProblem(r, status)
        return p, {e["field"]: e["message"] for e in p.get("errors", [])}


class Utf8(InputTest):
    def test_query_value_not_utf8_is_400_naming_it(self):
        for query, name, shown in (("plan_id=%FF", "plan_id", "\\xFF"),
                                   ("title=%E4%B8%80%FF", "title", "一\\xFF"),
                                   ("q=%E4%B8", "q", "\\xE4\\xB8")):
            with self.subTest(query=query):
                p, errors = self.problem_fields(self.request("GET", API + "/tasks?" + query), 400)
                self.assertIn(name, errors, p)
                self.assertIn(shown, errors[name])
                self.assertIn(name, p["detail"])

    def test_every_bad_query_part_is_listed(self):
        p, errors = self.problem_fields(self.request("GET", API + "/tasks?plan_id=%FF&q=%C0%AF"), 400)
        self.assertEqual(set(errors), {"plan_id", "q"}, p)

    def test_query_name_not_utf8_is_400_naming_it(self):
        p, errors = self.problem_fields(self.request("GET", API + "/tasks?ti%FFtle=x"), 400)
        self.assertEqual(list(errors), ["ti\\xFFtle"], p)
        self.assertIn("ti\\xFFtle", p["detail"])

    def test_nul_byte_in_a_query_value_is_400(self):
        # a NUL would otherwise cut the value short: title=abc%00def filtering by "abc"
        p, errors = self.problem_fields(self.request("GET", API + "/tasks?q=abc%00def"), 400)
        self.assertIn("abc\\x00def", errors["q"], p)

    def test_valid_chinese_query_still_filters(self):
        r = self.request("GET", API + "/tasks?q=%E4%B8%80%E5%8F%B7")   # 一号
        self.assertEqual(r.status, 200, r)
        self.assertEqual([t["title"] for t in r.json()["items"]], ["一号任务"])

    def test_path_not_utf8_is_400_naming_the_path(self):
        for path in ("/tasks/%FF", "/tasks/%E4%B8", "/units/%FF%FE", "/no/such/%FF"):
            with self.subTest(path=path):
                p, errors = self.problem_fields(self.request("GET", API + path), 400)
                self.assertIn("path", errors, p)
                self.assertIn("\\x", errors["path"])
                self.assertIn("path", p["detail"])
                self.assertTrue(p["instance"].startswith("/api/v1/"), p)

    def test_raw_bytes_in_the_path_are_400_with_a_whole_problem(self):
        # sent as raw bytes, not percent-encoded: the problem still has every member
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as conn:
            conn.sendall(b"GET /api/v1/units/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            r = http.client.HTTPResponse(conn)
            r.begin()
            r = Response(r.status, r.getheaders(), r.read())
        p, errors = self.problem_fields(r, 400)
        self.assertIn("\\xFF\\xFE", errors["path"])
        self.assertEqual(p["instance"], "/api/v1/units/%FF%FE")

    def test_json_field_name_not_utf8_is_400_naming_it(self):
        body = b'{"title": "x", "ab\xffc": 1}'
        r = self.request("POST", API + "/plans", body=body, headers={"Content-Type": "application/json"})
        p = self.assertProblem(r, 400)
        self.assertIn("UTF-8", p["detail"])
        self.assertIn('"ab\\xFFc"', p["detail"])

    def test_long_json_field_name_not_utf8_keeps_a_whole_problem(self):
        # a long run of Chinese before the bad byte: the message is cut on a
        # character boundary, never inside a character
        body = ('{"' + "字" * 200).encode() + b'\xff": 1}'
        r = self.request("POST", API + "/plans", body=body, headers={"Content-Type": "application/json"})
        p = self.assertProblem(r, 400)
        self.assertIn("UTF-8", p["detail"])
        self.assertIn("字字字", p["detail"])

    def test_idempotency_key_not_utf8_is_400(self):
        # the key is stored: one that is not UTF-8 was dropped (a retry then wrote twice)
        r = self.request("POST", API + "/units", json_body={"name": "键单位"}, headers={"Idempotency-Key": b"k\xff"})
        p = self.assertProblem(r, 400)
        self.assertIn("Idempotency-Key", p["detail"])

    def test_json_value_not_utf8_is_400(self):
        body = b'{"title": "\xe4\xb8"}'
        r = self.request("POST", API + "/plans", body=body, headers={"Content-Type": "application/json"})
        p = self.assertProblem(r, 400)
        self.assertIn("UTF-8", p["detail"])


class Dates(InputTest):
    def test_body_date_with_a_space_is_422_naming_the_field(self):
        for bad in ("1999- 1-01", " 1999-01-01", "1999-01-1", "+999-01-01", "1999-02-29", "1999-13-01",
                    "2200-01-01", "1899-12-31", "1999-01-01T00:00:00Z", "１９９９-01-01"):
            with self.subTest(date=bad):
                r = self.request("POST", API + "/plans", json_body={"title": "日期", "issued_on": bad})
                p, errors = self.problem_fields(r, 422)
                self.assertIn("issued_on", errors, p)
                self.assertIn("YYYY-MM-DD", errors["issued_on"])

    def test_every_bad_body_date_is_listed(self):
        r = self.request("POST", API + "/plans", json_body={"title": "日期", "issued_on": "1999- 1-01",
                                                            "starts_on": "2020-02-30", "ends_on": "2020-12-31"})
        p, errors = self.problem_fields(r, 422)
        self.assertEqual(set(errors), {"issued_on", "starts_on"}, p)

    def test_task_and_progress_dates_are_checked_too(self):
        r = self.request("POST", API + "/tasks", json_body={"plan_id": self.plan["id"], "title": "x",
                                                            "due_on": "2019-1-01"})
        p, errors = self.problem_fields(r, 422)
        self.assertIn("due_on", errors, p)

    def test_leap_days_and_the_year_range_edges_are_accepted(self):
        for good in ("2000-02-29", "2024-02-29", "1900-01-01", "2199-12-31"):
            with self.subTest(date=good):
                r = self.request("POST", API + "/plans", json_body={"title": "日期 " + good, "issued_on": good})
                self.assertEqual(r.status, 201, r)
                self.assertEqual(r.json()["issued_on"], good)

    def test_filter_date_with_a_space_is_400_naming_the_parameter(self):
        for query, name in (("due_before=1999-%201-01", "due_before"), ("due_after=2019-02-29", "due_after"),
                            ("due_before=2300-01-01", "due_before")):
            with self.subTest(query=query):
                p, errors = self.problem_fields(self.request("GET", API + "/tasks?" + query), 400)
                self.assertIn(name, errors, p)
                self.assertIn("YYYY-MM-DD", errors[name])

    def test_progress_log_filters_are_dates_too(self):
        p, errors = self.problem_fields(self.request("GET", API + "/progress-logs?since=2019-1-1&until=x"), 400)
        self.assertEqual(set(errors), {"since", "until"}, p)

    def test_a_good_filter_date_still_filters(self):
        r = self.request("GET", API + "/tasks?due_before=2199-12-31&plan_id=%d" % self.plan["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["total"], 0)   # no task of this plan has a due date


if __name__ == "__main__":
    main()
