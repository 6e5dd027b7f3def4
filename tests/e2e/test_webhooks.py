"""Webhooks, end to end, with a real receiving HTTP server (http.server on
a free port of this machine): subscriptions and their checks, Standard
Webhooks signatures verified with the README's recipe, every event in
feed order, retries of a receiver that fails, hangs, is slow or closes the
connection (other subscriptions unaffected), giving up and disabling (410,
or events failing in a row), the delivery log, redelivery and test
events; and, on a private PostgreSQL cluster, duban killed with SIGKILL in
the middle of a delivery, the database stopped for 10 s, and two duban
instances sharing the work.

The servers run with DUBAN_WEBHOOK_ALLOWED_NETS=127.0.0.0/8 (the receiver
is on loopback) and a short DUBAN_WEBHOOK_RETRY_SCHEDULE. Waits poll for
the expected state, generously: they bound a hang, not a speed."""

import base64
import hashlib
import hmac
import http.server
import json
import os
import signal
import socket
import threading
import time
import unittest
import uuid

import faults
import harness
from fixtures import API
import harness
from harness import ServerTest, main

HOOKS = f"{API}/webhooks"
LOOPBACK = {"DUBAN_WEBHOOK_ALLOWED_NETS": "127.0.0.0/8"}
WAIT_S = 90


# -- the README's recipe, as a receiver would use it ---------------------------

def verify(secret, headers, body, tolerance=300):
    """True when body (bytes) is a message signed with secret, sent at most
    `tolerance` seconds ago."""
    msg_id, ts, sigs = headers["webhook-id"], headers["webhook-timestamp"], headers["webhook-signature"]
    if abs(time.time() - int(ts)) > tolerance:
        return False   # stale (or from the future): a replay
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, s.partition(",")[2]) for s in sigs.split() if s.startswith("v1,"))


# -- the receiver -----------------------------------------------------------------

class Receiver:
    """A real HTTP server on a free loopback port. It records every request
    (path, headers, body) as it arrives, then answers as planned for its
    path: a list of actions taken one per request, then `ok` (204).
    Actions: ("status", n); ("gate", event) waits for the event, then 200
    (if the client is still there); ("slow", s) answers 200 after s
    seconds (duban gives up after 10); ("long", n) answers 200 with n
    bytes; "close" closes the connection without answering."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.plans = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "body": body, "at": time.time(),
                                              "headers": {k.lower(): v for k, v in self.headers.items()}})
                    queue = receiver.plans.get(self.path, [])
                    action = queue.pop(0) if queue else "ok"
                try:
                    self.act(action)
                except OSError:
                    pass   # the sender gave up first

            def act(self, action):
                if action == "close":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                body = b""
                if action == "ok":
                    status = 204
                elif action[0] == "long":
                    status, body = 200, b"x" * action[1]
                elif action[0] == "status":
                    status = action[1]
                elif action[0] == "gate":
                    action[1].wait(120)
                    status = 200
                else:
                    time.sleep(action[1])
                    status = 200
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def plan(self, path, *actions):
        with self.lock:
            self.plans[path] = list(actions)

    def received(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def ids(self, path, entity=None):
        """The webhook-id of each request to path (of events of that entity
        only, when given), in arrival order."""
        return [r["headers"]["webhook-id"] for r in self.received(path)
                if entity is None or json.loads(r["body"])["entity"] == entity]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def wait_for(what, predicate, timeout=WAIT_S, step=0.1):
    """harness.wait_for with this suite's patience."""
    return harness.wait_for(what, predicate, timeout, step)


def distinct(ids):
    """ids without repeats, in first-seen order."""
    seen, out = set(), []
    for i in ids:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


class Hooks:
    """What the test classes share: subscriptions, writes and the feed."""

    def subscribe(self, receiver, path, events=("*",), server=None, **extra):
        r = (server or self.server).request("POST", HOOKS, json_body={"url": receiver.url(path), "events": list(events),
                                                                     **extra})
        self.assertEqual(r.status, 201, r)
        return r.json()

    def write_units(self, n, server=None, prefix="单位"):
        """Creates n units (a unit.created event each); returns their ids."""
        ids = []
        for _ in range(n):
            r = (server or self.server).request("POST", f"{API}/units",
                                                json_body={"name": f"{prefix} {uuid.uuid4().hex[:10]}"})
            self.assertEqual(r.status, 201, r)
            ids.append(r.json()["id"])
        return ids

    def feed(self, db_url, since_id=None, types=None):
        """Event ids of the feed in its order ((xid, seq)), optionally those
        of some types, after the event since_id."""
        rows = harness.psql(db_url, "SELECT id, type FROM change_event ORDER BY xid, seq")
        ids = [i for i, t in rows if types is None or t in types]
        if since_id:
            ids = ids[ids.index(since_id) + 1:]
        return ids

    def deliveries(self, hook_id, server=None, **params):
        q = "&".join(f"{k}={v}" for k, v in {"limit": 500, **params}.items())
        r = (server or self.server).request("GET", f"{HOOKS}/{hook_id}/deliveries?{q}")
        self.assertEqual(r.status, 200, r)
        return r.json()["items"]


class WithReceiver(Hooks, ServerTest):
    """A server of the class's own and a receiver beside it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = Receiver()

    @classmethod
    def tearDownClass(cls):
        cls.receiver.stop()
        super().tearDownClass()


class WebhookTest(WithReceiver):
    server_env = {**LOOPBACK, "DUBAN_WEBHOOK_RETRY_SCHEDULE": "1,1", "DUBAN_WEBHOOK_DISABLE_AFTER": "2"}

    def path(self):
        return "/hook/" + uuid.uuid4().hex[:12]

    def unit_events_since(self, subscription):
        """The unit events of the feed committed after the subscription was made."""
        rows = harness.psql(self.db.url, "SELECT e.id FROM change_event e, webhook_state s "
                                         f"WHERE s.webhook_id = {subscription['id']} AND e.entity = 'unit' "
                                         "AND e.xid >= pg_snapshot_xmin(s.since) "
                                         "AND NOT pg_visible_in_snapshot(e.xid, s.since) ORDER BY e.xid, e.seq")
        return [r[0] for r in rows]

    # -- subscriptions ---------------------------------------------------------

    def test_a_subscription_shows_its_secret_once(self):
        path = self.path()
        r = self.request("POST", HOOKS, json_body={"url": self.receiver.url(path), "events": ["task.*", "unit.created"],
                                                   "description": "督办系统"})
        self.assertEqual(r.status, 201, r)
        doc = r.json()
        self.assertRegex(doc["secret"], r"^whsec_[A-Za-z0-9+/]{43}=$")
        self.assertEqual(len(base64.b64decode(doc["secret"][6:])), 32)
        self.assertSubset({"url": self.receiver.url(path), "events": ["task.*", "unit.created"], "description": "督办系统",
                           "enabled": True, "disabled_reason": None, "version": 1}, doc)
        self.assertEqual(r.header("location"), f"{HOOKS}/{doc['id']}")
        self.assertEqual(r.header("etag"), '"1"')
        got = self.request("GET", f"{HOOKS}/{doc['id']}")
        self.assertEqual(got.status, 200)
        self.assertNotIn("secret", got.json())
        self.assertEqual({k: v for k, v in doc.items() if k != "secret"}, got.json())
        listed = self.request("GET", HOOKS).json()["items"]
        self.assertIn(doc["id"], [h["id"] for h in listed])
        self.assertTrue(all("secret" not in h for h in listed))
        self.assertNotIn(doc["secret"][6:], json.dumps(self.request("GET", f"{API}/audit?limit=500").json()))

    def test_patch_with_if_match_and_delete(self):
        doc = self.subscribe(self.receiver, self.path(), ["unit.*"])
        item = f"{HOOKS}/{doc['id']}"
        self.assertProblem(self.request("PATCH", item, json_body={"enabled": False}, headers={"If-Match": '"9"'}), 412)
        r = self.request("PATCH", item, json_body={"enabled": False, "description": "暂停"}, headers={"If-Match": '"1"'})
        self.assertEqual(r.status, 200, r)
        self.assertSubset({"enabled": False, "description": "暂停", "version": 2}, r.json())
        self.assertTrue(r.json()["disabled_reason"].startswith("disabled by "), r.json())
        self.assertEqual(r.header("etag"), '"2"')
        r = self.request("PATCH", item, json_body={"enabled": True, "events": ["*"]})
        self.assertSubset({"enabled": True, "disabled_reason": None, "events": ["*"], "version": 3}, r.json())
        self.assertProblem(self.request("PATCH", item, json_body={"url": "ftp://example.org/"}), 422)
        self.assertEqual(self.request("DELETE", item, headers={"If-Match": '"3"'}).status, 204)
        self.assertProblem(self.request("GET", item), 404)
        self.assertProblem(self.request("POST", f"{item}/test"), 404)

    def test_an_idempotency_key_makes_one_subscription(self):
        body = {"url": self.receiver.url(self.path()), "events": ["*"]}
        key = {"Idempotency-Key": uuid.uuid4().hex}
        first = self.request("POST", HOOKS, json_body=body, headers=key)
        again = self.request("POST", HOOKS, json_body=body, headers=key)
        self.assertEqual((first.status, again.status), (201, 201))
        self.assertEqual(first.json(), again.json())
        self.assertEqual(again.header("idempotent-replayed"), "true")
        self.assertProblem(self.request("POST", HOOKS, json_body={**body, "description": "x"}, headers=key), 422)

    def test_bad_subscriptions_name_each_field(self):
        cases = [({"url": "ftp://example.org/hooks", "events": ["*"]}, {"url": "http or https"}),
                 ({"url": "https://user:secret@example.org/hooks", "events": ["*"]}, {"url": "credentials"}),
                 ({"url": "https://example.org/", "events": ["task.frobbed", "*.created"]}, {"events": "item 0"}),
                 ({"url": "https://example.org/", "events": []}, {"events": "1 to 50"}),
                 ({"url": "no-scheme.example.org", "events": ["*"], "description": "x" * 1001},
                  {"url": "absolute", "description": "characters"}),
                 ({}, {"url": "required", "events": "required"})]
        for body, fields in cases:
            p = self.assertProblem(self.request("POST", HOOKS, json_body=body), 422)
            named = {}
            for e in p["errors"]:
                named[e["field"]] = named.get(e["field"], "") + e["message"] + "; "
            for field, words in fields.items():
                self.assertIn(field, named, (body, p))
                self.assertIn(words, named[field], (body, p))
        p = self.assertProblem(self.request("POST", HOOKS, json_body={"url": "ftp://x/", "events": ["nope"]}), 422)
        self.assertEqual({"url", "events"}, {e["field"] for e in p["errors"]})
        self.assertProblem(self.request("POST", HOOKS, json_body={"url": 7, "events": "*", "colour": "red"}), 400)

    def test_only_admins(self):
        editor = self.make_token("editor")
        r = self.request("GET", HOOKS, headers={"Authorization": "Bearer " + editor})
        self.assertProblem(r, 403)
        r = self.request("POST", HOOKS, json_body={"url": "https://example.org/", "events": ["*"]},
                         headers={"Authorization": "Bearer " + editor})
        self.assertProblem(r, 403)

    # -- delivery ----------------------------------------------------------------

    def test_a_delivery_is_signed_and_verifies_with_the_recipe(self):
        path = self.path()
        hook = self.subscribe(self.receiver, path, ["unit.created"])
        unit = self.write_units(1)[0]
        req = wait_for("the delivery", lambda: self.receiver.received(path))[0]
        event = json.loads(req["body"])
        self.assertSubset({"type": "unit.created", "entity": "unit", "entity_id": unit, "version": 1}, event)
        self.assertEqual(event["data"]["id"], unit)
        self.assertEqual(req["headers"]["webhook-id"], event["id"])
        self.assertEqual(req["headers"]["content-type"], "application/json")
        self.assertRegex(req["headers"]["webhook-timestamp"], r"^\d{10}$")
        self.assertTrue(verify(hook["secret"], req["headers"], req["body"]))
        # a forged body, another secret, another id, a stale or future timestamp: refused
        self.assertFalse(verify(hook["secret"], req["headers"], req["body"].replace(b"unit", b"task")))
        other = self.subscribe(self.receiver, self.path(), ["unit.created"])
        self.assertFalse(verify(other["secret"], req["headers"], req["body"]))
        self.assertFalse(verify(hook["secret"], {**req["headers"], "webhook-id": str(uuid.uuid4())}, req["body"]))
        stale = int(req["headers"]["webhook-timestamp"]) - 600
        key = base64.b64decode(hook["secret"][6:])
        resigned = base64.b64encode(hmac.new(key, f"{event['id']}.{stale}.".encode() + req["body"],
                                             hashlib.sha256).digest()).decode()
        replay = {**req["headers"], "webhook-timestamp": str(stale), "webhook-signature": "v1," + resigned}
        self.assertFalse(verify(hook["secret"], replay, req["body"]))
        self.assertTrue(verify(hook["secret"], replay, req["body"], tolerance=3600))
        log = self.deliveries(hook["id"])
        self.assertSubset([{"event_id": event["id"], "type": "unit.created", "attempt": 1, "state": "succeeded",
                            "status_code": 204, "error": None, "manual": False}], log)

    def test_every_event_reaches_the_receiver_in_feed_order(self):
        """1,000 writes from 8 clients at once: each event once, in feed order."""
        path, narrow = self.path(), self.path()
        hook = self.subscribe(self.receiver, path, ["*"])
        only_updates = self.subscribe(self.receiver, narrow, ["unit.updated"])
        units = self.write_units(8)
        errors = []

        def writer(unit):
            for i in range(125):
                r = self.request("PATCH", f"{API}/units/{unit}", json_body={"name": f"单位 {unit}-{i} {uuid.uuid4().hex[:6]}"})
                if r.status != 200:
                    errors.append(r)

        threads = [threading.Thread(target=writer, args=(u,)) for u in units]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        expected = self.unit_events_since(hook)
        self.assertEqual(len(expected), 8 + 1000)
        wait_for("every event", lambda: len(distinct(self.receiver.ids(path, "unit"))) >= len(expected), step=1)
        self.assertEqual(self.receiver.ids(path, "unit"), expected)   # each once, in feed order
        all_updates = set(self.feed(self.db.url, types={"unit.updated"}))
        updates = [e for e in expected if e in all_updates]
        wait_for("every update", lambda: len(self.receiver.ids(narrow)) >= len(updates), step=1)
        self.assertEqual(self.receiver.ids(narrow), updates)
        log = self.request("GET", f"{HOOKS}/{only_updates['id']}/deliveries?state=succeeded&limit=1").json()
        self.assertEqual(log["total"], len(updates))

    def test_failing_receivers_are_retried_and_others_are_unaffected(self):
        paths = {name: self.path() for name in ("healthy", "error", "hang", "slow", "close")}
        self.receiver.plan(paths["error"], ("status", 500), ("status", 503))
        self.receiver.plan(paths["hang"], ("slow", 15))
        self.receiver.plan(paths["slow"], ("slow", 3))
        # twice: libcurl itself sends again at once on a connection it had
        # kept open and the receiver closed (the same attempt)
        self.receiver.plan(paths["close"], "close", "close")
        hooks = {name: self.subscribe(self.receiver, p, ["unit.*"]) for name, p in paths.items()}
        started = time.monotonic()
        self.write_units(5)
        expected = self.unit_events_since(hooks["healthy"])
        self.assertEqual(len(expected), 5)
        wait_for("the healthy receiver", lambda: self.receiver.ids(paths["healthy"]) == expected)
        if time.monotonic() - started < 8:   # the hanging send (10 s at most) still holds its event
            self.assertEqual(len(self.receiver.received(paths["hang"])), 1)
        for name, p in paths.items():
            wait_for(f"the {name} receiver", lambda p=p: distinct(self.receiver.ids(p)) == expected)
        # a retry carries the same webhook-id; nothing else is repeated
        self.assertEqual(self.receiver.ids(paths["error"]), [expected[0]] * 3 + expected[1:])
        self.assertEqual(self.receiver.ids(paths["hang"]), [expected[0]] * 2 + expected[1:])
        self.assertEqual(self.receiver.ids(paths["close"]), [expected[0]] * 3 + expected[1:])
        self.assertEqual(self.receiver.ids(paths["slow"]), expected)
        log = self.deliveries(hooks["error"]["id"])
        self.assertSubset([{"event_id": expected[0], "attempt": 1, "state": "retrying", "status_code": 500},
                           {"event_id": expected[0], "attempt": 2, "state": "retrying", "status_code": 503},
                           {"event_id": expected[0], "attempt": 3, "state": "succeeded", "status_code": 204}],
                          log[:3])
        self.assertIn("500", log[0]["error"])
        self.assertIsNotNone(log[0]["next_attempt_at"])
        hang = self.deliveries(hooks["hang"]["id"])[0]
        self.assertSubset({"attempt": 1, "state": "retrying", "status_code": None}, hang)
        self.assertIn("no answer within 10 s", hang["error"])
        self.assertGreaterEqual(hang["duration_ms"], 9000)
        close = [d for d in self.deliveries(hooks["close"]["id"]) if d["event_id"] == expected[0]]
        self.assertSubset({"attempt": 1, "state": "retrying", "status_code": None}, close[0])
        self.assertTrue(close[0]["error"])
        self.assertEqual(close[-1]["state"], "succeeded")
        self.assertSubset([{"state": "retrying"}], self.deliveries(hooks["error"]["id"], state="retrying")[:1])
        self.assertEqual(len(self.deliveries(hooks["error"]["id"], state="retrying")), 2)

    def test_a_long_answer_is_read_only_so_far(self):
        path = self.path()
        self.receiver.plan(path, ("long", 1 << 20))
        hook = self.subscribe(self.receiver, path, ["unit.*"])
        self.write_units(1)
        first = wait_for("the delivery", lambda: self.deliveries(hook["id"]))[0]
        self.assertSubset({"attempt": 1, "state": "succeeded", "status_code": 200, "error": None}, first)
        self.assertEqual(len(self.receiver.received(path)), 1)

    def test_a_redirect_is_a_failure(self):
        path = self.path()
        self.receiver.plan(path, ("status", 302))
        hook = self.subscribe(self.receiver, path, ["unit.*"])
        self.write_units(1)
        wait_for("the retry", lambda: len(self.receiver.received(path)) >= 2)
        first = self.deliveries(hook["id"])[0]
        self.assertSubset({"attempt": 1, "state": "retrying", "status_code": 302}, first)
        self.assertIn("redirect", first["error"])

    def test_410_disables_and_says_so(self):
        path, watcher = self.path(), self.path()
        self.receiver.plan(path, ("status", 410))
        hook = self.subscribe(self.receiver, path, ["unit.*"])
        watch = self.subscribe(self.receiver, watcher, ["webhook.disabled"])
        self.write_units(1)
        wait_for("the webhook.disabled event", lambda: self.receiver.received(watcher))
        doc = self.request("GET", f"{HOOKS}/{hook['id']}").json()
        self.assertSubset({"enabled": False, "disabled_reason": "the receiver answered 410 Gone", "version": 2}, doc)
        event = json.loads(self.receiver.received(watcher)[0]["body"])
        self.assertSubset({"type": "webhook.disabled", "entity": "webhook", "entity_id": hook["id"], "version": 2,
                           "data": {"id": hook["id"], "enabled": False}}, event)
        self.assertTrue(verify(watch["secret"], self.receiver.received(watcher)[0]["headers"],
                               self.receiver.received(watcher)[0]["body"]))
        self.assertEqual(len(self.receiver.received(path)), 1)
        self.assertSubset([{"attempt": 1, "state": "failed", "status_code": 410}], self.deliveries(hook["id"]))
        self.write_units(1)   # nothing goes to a disabled subscription
        self.request("POST", f"{HOOKS}/{watch['id']}/test")
        wait_for("the watcher's test event", lambda: len(self.receiver.received(watcher)) == 2)
        self.assertEqual(len(self.receiver.received(path)), 1)

    def test_events_failing_in_a_row_disable_and_enabling_again_resumes(self):
        path = self.path()
        self.receiver.plan(path, *[("status", 500)] * 6)
        hook = self.subscribe(self.receiver, path, ["unit.*"])
        self.write_units(3)
        expected = self.unit_events_since(hook)
        wait_for("disabling", lambda: not self.request("GET", f"{HOOKS}/{hook['id']}").json()["enabled"])
        doc = self.request("GET", f"{HOOKS}/{hook['id']}").json()
        self.assertEqual(doc["disabled_reason"], "the last 2 events all failed")
        self.assertEqual(self.receiver.ids(path), [expected[0]] * 3 + [expected[1]] * 3)
        failed = self.deliveries(hook["id"], state="failed")
        self.assertSubset([{"event_id": expected[0], "attempt": 3}, {"event_id": expected[1], "attempt": 3}], failed)
        # enabled again, it goes on with the events it has not had
        r = self.request("PATCH", f"{HOOKS}/{hook['id']}", json_body={"enabled": True})
        self.assertEqual(r.status, 200, r)
        wait_for("the rest", lambda: self.receiver.ids(path)[6:] == expected[2:])
        # and the failed ones can be sent again
        r = self.request("POST", f"{HOOKS}/{hook['id']}/deliveries/{expected[0]}/redeliver")
        self.assertEqual(r.status, 202, r)
        wait_for("the redelivery", lambda: self.receiver.ids(path)[-1:] == [expected[0]])

    def test_redeliver_and_test_events(self):
        path = self.path()
        hook = self.subscribe(self.receiver, path, ["unit.created"])
        self.write_units(1)
        event_id = wait_for("the delivery", lambda: self.receiver.ids(path))[0]
        key = {"Idempotency-Key": uuid.uuid4().hex}
        r = self.request("POST", f"{HOOKS}/{hook['id']}/deliveries/{event_id}/redeliver", headers=key)
        self.assertEqual(r.status, 202, r)
        self.assertSubset({"webhook_id": hook["id"], "event_id": event_id, "type": "unit.created"}, r.json())
        again = self.request("POST", f"{HOOKS}/{hook['id']}/deliveries/{event_id}/redeliver", headers=key)
        self.assertEqual((again.status, again.header("idempotent-replayed")), (202, "true"))
        wait_for("the redelivery", lambda: len(self.receiver.received(path)) == 2)
        first, second = self.receiver.received(path)
        self.assertEqual(first["body"], second["body"])
        self.assertEqual(second["headers"]["webhook-id"], event_id)
        self.assertTrue(verify(hook["secret"], second["headers"], second["body"]))
        r = self.request("POST", f"{HOOKS}/{hook['id']}/test")
        self.assertEqual(r.status, 202, r)
        wait_for("the test event", lambda: len(self.receiver.received(path)) == 3)
        test = self.receiver.received(path)[2]
        body = json.loads(test["body"])
        self.assertSubset({"id": r.json()["event_id"], "type": "webhook.test", "entity": "webhook",
                           "entity_id": hook["id"], "cursor": None, "data": {"id": hook["id"], "url": hook["url"]}},
                          body)
        self.assertNotIn("secret", body["data"])
        self.assertTrue(verify(hook["secret"], test["headers"], test["body"]))
        log = self.deliveries(hook["id"])
        self.assertSubset([{"state": "succeeded", "manual": False}, {"state": "succeeded", "manual": True},
                           {"type": "webhook.test", "state": "succeeded", "manual": True}], log)
        for bad in (str(uuid.uuid4()), "not-a-uuid"):
            self.assertProblem(self.request("POST", f"{HOOKS}/{hook['id']}/deliveries/{bad}/redeliver"), 404)
        self.assertProblem(self.request("POST", f"{HOOKS}/9000000/deliveries/{event_id}/redeliver"), 404)

    def test_the_delivery_log_filters(self):
        hook = self.subscribe(self.receiver, self.path(), ["unit.created"])
        self.assertEqual(self.deliveries(hook["id"]), [])
        self.assertProblem(self.request("GET", f"{HOOKS}/{hook['id']}/deliveries?state=lost"), 400)
        self.assertProblem(self.request("GET", f"{HOOKS}/{hook['id']}/deliveries?colour=red"), 400)
        self.assertProblem(self.request("GET", f"{HOOKS}/9000000/deliveries"), 404)
        self.write_units(1)
        wait_for("the delivery", lambda: self.deliveries(hook["id"]))
        self.assertEqual(len(self.deliveries(hook["id"], state="succeeded,failed")), 1)
        self.assertEqual(self.deliveries(hook["id"], state="failed"), [])


class WithoutAllowList(WithReceiver):
    """The defaults: loopback destinations are refused, by the URL when it
    says so, else when the name is resolved at send time."""

    def test_loopback_and_link_local_urls_are_422(self):
        for url in (self.receiver.url("/x"), f"http://[::1]:{self.receiver.port}/", "http://localhost/",
                    "http://169.254.169.254/latest/meta-data", "http://0.0.0.0:80/"):
            p = self.assertProblem(self.request("POST", HOOKS, json_body={"url": url, "events": ["*"]}), 422)
            self.assertEqual([e["field"] for e in p["errors"]], ["url"], url)
            self.assertIn("DUBAN_WEBHOOK_ALLOWED_NETS", p["errors"][0]["message"])

    def test_a_name_resolving_to_loopback_is_refused_when_sending(self):
        name = socket.gethostname()
        try:
            addresses = {a[4][0] for a in socket.getaddrinfo(name, None)}
        except OSError:
            addresses = set()
        if not addresses or not all(a.startswith("127.") or a == "::1" for a in addresses):
            self.skipTest(f"{name} does not resolve to loopback alone here")
        url = f"http://{name}:{self.receiver.port}/named"
        r = self.request("POST", HOOKS, json_body={"url": url, "events": ["unit.*"]})
        self.assertEqual(r.status, 201, r)
        self.write_units(1)
        first = wait_for("the refused attempt", lambda: self.deliveries(r.json()["id"]))[0]
        self.assertSubset({"attempt": 1, "state": "retrying", "status_code": None}, first)
        self.assertIn("refused destination", first["error"])
        self.assertIn("loopback", first["error"])
        self.assertEqual(self.receiver.received("/named"), [])


class DeliveryFaults(Hooks, unittest.TestCase):
    """On a private cluster: SIGKILL mid-delivery, the database stopped for
    10 s, two instances. Nothing is lost; order holds per subscription; a
    repeat only follows a crash, with the same webhook-id."""

    env = {**LOOPBACK, **harness.PATIENT, "DUBAN_WEBHOOK_RETRY_SCHEDULE": "1,1,1,1,1,1,1,1,1,1",
           "DUBAN_RATE_LIMIT_PER_MIN": "0"}

    @classmethod
    def setUpClass(cls):
        cls.cluster = faults.Cluster()
        cls.receiver = Receiver()

    @classmethod
    def tearDownClass(cls):
        cls.receiver.stop()
        cls.cluster.destroy()

    def setUp(self):
        self.servers = []
        self.url = self.cluster.new_database()
        self.token = None

    def tearDown(self):
        self.cluster.ensure_up()
        for s in self.servers:
            s.stop()
            s.log.close()
            os.unlink(s.log.name)

    def start(self):
        server = harness.Server(self.url, **self.env)
        self.token = self.token or harness.duban_command(self.url, "token", "create", "--role", "admin",
                                                         "--name", "faults").strip()
        server.token = self.token
        self.servers.append(server)
        self.server = server
        return server

    def path(self):
        return "/fault/" + uuid.uuid4().hex[:12]

    def test_killed_in_the_middle_of_a_delivery(self):
        gate = threading.Event()
        path = self.path()
        self.receiver.plan(path, ("gate", gate))
        server = self.start()
        hook = self.subscribe(self.receiver, path, ["unit.*"])
        self.write_units(3)
        wait_for("the first send", lambda: self.receiver.received(path))
        server.stop(signal.SIGKILL)
        gate.set()
        self.start()
        self.write_units(2)
        expected = self.feed(self.url, types={"unit.created"})
        wait_for("every event after the restart", lambda: distinct(self.receiver.ids(path)) == expected)
        ids = self.receiver.ids(path)
        self.assertEqual(ids, [expected[0]] + expected)   # the one in flight, again, with its webhook-id
        self.assertTrue(all(verify(hook["secret"], r["headers"], r["body"]) for r in self.receiver.received(path)))

    def test_the_database_stopped_for_10_seconds(self):
        path = self.path()
        self.receiver.plan(path, *[("slow", 1)] * 4)
        self.start()
        self.subscribe(self.receiver, path, ["unit.*"])
        self.write_units(4)
        wait_for("a send in flight", lambda: self.receiver.received(path))
        self.cluster.stop()
        time.sleep(10)
        self.cluster.start()
        self.cluster.wait_accepting()
        wait_for("the service", lambda: self.server.request("GET", f"{API}/units?limit=1").status == 200)
        self.write_units(3)
        expected = self.feed(self.url, types={"unit.created"})
        self.assertEqual(len(expected), 7)
        wait_for("every event", lambda: distinct(self.receiver.ids(path)) == expected)
        ids = self.receiver.ids(path)
        # in order; a send whose outcome could not be recorded may come again, right after itself
        self.assertEqual(distinct(ids), expected)
        self.assertEqual([i for n, i in enumerate(ids) if n == 0 or ids[n - 1] != i], expected)

    def test_two_instances_share_the_work(self):
        paths = [self.path(), self.path()]
        self.receiver.plan(paths[1], ("status", 500), "ok", ("status", 500))
        a, b = self.start(), self.start()
        hooks = [self.subscribe(self.receiver, p, ["unit.*"], server=a) for p in paths]
        errors = []

        def writer(server, n):
            for _ in range(n):
                r = server.request("POST", f"{API}/units", json_body={"name": f"单位 {uuid.uuid4().hex[:10]}"})
                if r.status != 201:
                    errors.append(r)

        threads = [threading.Thread(target=writer, args=(s, 15)) for s in (a, b, a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        expected = self.feed(self.url, types={"unit.created"})
        self.assertEqual(len(expected), 60)
        for p in paths:
            wait_for("every event", lambda p=p: distinct(self.receiver.ids(p)) == expected)
        self.assertEqual(self.receiver.ids(paths[0]), expected)   # once each: no crash, no repeat
        retried = self.receiver.ids(paths[1])
        self.assertEqual(retried[:2], [expected[0]] * 2)
        self.assertEqual(distinct(retried), expected)
        self.assertEqual(len(retried), len(expected) + 2)
        log = self.deliveries(hooks[1]["id"], server=b)
        self.assertEqual(sum(1 for d in log if d["state"] == "retrying"), 2)
        self.assertEqual(sum(1 for d in log if d["state"] == "succeeded"), len(expected))


if __name__ == "__main__":
    main()
