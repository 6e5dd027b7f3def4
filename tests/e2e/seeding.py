"""Shared helpers of test_security.py and test_documents.py.

`Client` is a mixin for harness.ServerTest: one request method that can act
as any token (or as none), remembers every answer and every token secret
the class has seen (so that a test can look for leaked secrets), and the
few look-ups the tests need (a unit or leader by name, a plan's tree, a
token's id). The rest are plain functions: the seed document, small valid
plan documents, query strings."""

import json
import os
import re
import subprocess
import uuid
from urllib.parse import quote

from harness import DUBAN_BIN, PATIENT, SOURCE_DIR

API = "/api/v1"
TEXT = "text/plain; charset=utf-8"
CSV = "text/csv"
JSON = "application/json"
SEED_PATH = os.path.join(SOURCE_DIR, "seed", "plan-2018.txt")
SECRET_SHAPE = re.compile(r"dbn_[A-Za-z0-9_-]{20,}")
MIB = 1 << 20


def tag(prefix="t"):
    """A unique ASCII suffix for names that must not collide."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def query(path, **params):
    """path?k=v&… with every value percent-encoded (a '+' stays a '+')."""
    if not params:
        return path
    return path + "?" + "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items())


def seed_text():
    with open(SEED_PATH, encoding="utf-8") as f:
        return f.read()


def small_plan(marker=None, units=("区甲局", "区乙局"), leaders=("张三",)):
    """A valid plan document of one section with one assignment, whose 文号
    (and so whose identity for the duplicate check) is unique."""
    marker = marker or uuid.uuid4().hex[:8]
    return (f"测试〔2099〕{marker}号\n\n测试方案 {marker}\n\n一、总体要求\n\n"
            f"1. 落实测试任务 {marker}。\n\n"
            f"责任领导：{' '.join(leaders)}\n\n责任单位：{'、'.join(units)}\n")


def oversized_text(size):
    """A syntactically plain plan text of at least size bytes."""
    block = "一、标题\n\n" + "1. 做好一件事情。" * 20 + "\n\n"
    return block * (size // len(block.encode("utf-8")) + 1)


def run_duban(url, *args, raw=False):
    """Runs the duban command line on the database at url (no check); with
    raw, stdout and stderr stay bytes (no newline translation)."""
    env = dict(os.environ, DUBAN_DATABASE_URL=url, **PATIENT)
    return subprocess.run([DUBAN_BIN, *args], env=env, capture_output=True, text=not raw, timeout=120)


class Token:
    """A token made in a test: its secret, id, name and role."""

    def __init__(self, secret, id, name, role):
        self.secret, self.id, self.name, self.role = secret, id, name, role

    def __repr__(self):
        return f"<token {self.id} {self.name} {self.role}>"


DEFAULT = object()   # act with the class's admin token


class Client:
    """Mixin for harness.ServerTest (put it first among the bases)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.answers = []            # (method, path, Response), in order
        cls.secrets = [cls.server.token]
        cls.creation_answers = []   # the Responses that may show a secret

    # -- tokens ----------------------------------------------------------
    @classmethod
    def cli_token(cls, role, unit_id=None, expires_at=None):
        """A token made by `duban token create` (its id read from stderr)."""
        name = f"{role}-{tag()}"
        args = ["token", "create", "--role", role, "--name", name]
        if unit_id is not None:
            args += ["--unit", str(unit_id)]
        if expires_at is not None:
            args += ["--expires-at", expires_at]
        out = run_duban(cls.db.url, *args)
        if out.returncode != 0:
            raise AssertionError(f"duban {' '.join(args)} failed: {out.stderr}")
        token_id = int(re.search(r"token (\d+) \(", out.stderr).group(1))
        secret = out.stdout.strip()
        cls.secrets.append(secret)
        return Token(secret, token_id, name, role)

    def http_token(self, role, unit_id=None):
        """A token made by POST /api/v1/tokens as the admin."""
        body = {"name": f"{role}-{tag()}", "role": role}
        if unit_id is not None:
            body["unit_id"] = unit_id
        doc = self.ok("POST", f"{API}/tokens", body, status=201)
        return Token(doc["token"], doc["id"], doc["name"], role)

    # -- requests --------------------------------------------------------
    def call(self, method, path, body=None, token=DEFAULT, content_type=None, headers=None):
        """One request. body: a JSON value, or str/bytes sent as
        content_type; token: DEFAULT (the admin), None (no Authorization
        at all), a Token or a secret."""
        headers = dict(headers or {})
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
            content_type = content_type or JSON
        if content_type and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = content_type
        if token is not DEFAULT and token is not None:
            headers["Authorization"] = "Bearer " + getattr(token, "secret", token)
        saved = self.server.token
        if token is None:
            self.server.token = None
        try:
            r = self.server.request(method, path, body=body, headers=headers)
        finally:
            self.server.token = saved
        cls = type(self)
        cls.answers.append((method, path, r))
        if method == "POST" and path.split("?")[0].rstrip("/").endswith("/tokens") and r.status == 201:
            cls.secrets.append(r.json()["token"])
            cls.creation_answers.append(r)
        return r

    def ok(self, method, path, body=None, status=200, **kw):
        """call() that must answer status; returns the JSON body (or None)."""
        r = self.call(method, path, body, **kw)
        self.assertEqual(r.status, status, f"{method} {path}: {r}")
        return r.json() if r.body else None

    def page(self, path, **params):
        return self.ok("GET", query(path, **params))

    def total(self, path, **params):
        return self.page(path, **params)["total"]

    def every(self, path, **params):
        """Every item of a list, following offsets 500 at a time."""
        items, offset = [], 0
        while True:
            page = self.page(path, limit=500, offset=offset, **params)
            items += page["items"]
            offset += 500
            if offset >= page["total"]:
                return items

    # -- look-ups --------------------------------------------------------
    def unit_named(self, name):
        """The one unit known by name (its name or an alias)."""
        items = self.page(f"{API}/units", name=name)["items"]
        self.assertEqual(len(items), 1, f"units named {name}: {items}")
        return items[0]

    def leader_named(self, name):
        items = self.page(f"{API}/leaders", name=name)["items"]
        self.assertEqual(len(items), 1, f"leaders named {name}: {items}")
        return items[0]

    def tasks_of(self, plan_id):
        """A plan's tasks by path."""
        return {t["path"]: t for t in self.every(f"{API}/tasks", plan_id=plan_id)}

    def tree(self, plan_id):
        """A plan's tree as comparable rows, one per node in path order."""
        rows = []
        for t in sorted(self.tasks_of(plan_id).values(), key=lambda t: [int(p) for p in t["path"].split(".")]):
            rows.append({"path": t["path"], "level": t["level"], "outline": t["outline"], "title": t["title"],
                         "body": t["body"], "leaders": [l["name"] for l in t["leaders"]],
                         "units": [(u["name"], u["role"]) for u in t["units"]], "due_on": t["due_on"],
                         "due_text": t["due_text"], "recurrence": t["recurrence"]})
        return rows

    def import_document(self, text, status=201, content_type=TEXT, **params):
        """POST /api/v1/plans/import; returns the Response."""
        r = self.call("POST", query(f"{API}/plans/import", **params), text, content_type=content_type)
        self.assertEqual(r.status, status, r)
        return r

    def counts(self):
        """How many plans, tasks, units and leaders the database holds."""
        return {name: self.total(f"{API}/{name}") for name in ("plans", "tasks", "units", "leaders")}
