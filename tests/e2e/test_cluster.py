"""duban on several machines, as scripts/cluster runs it on this one: a
PostgreSQL primary and a synchronous streaming standby, two duban
instances and HAProxy in front. Every request goes over real HTTP, through
HAProxy or to one instance; the standby lags because its replay is paused
(pg_wal_replay_pause), never because of a clock. The cases run in order:
the failover comes last, since it changes which database is the primary."""

import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

from harness import DUBAN_BIN, PATIENT, SOURCE_DIR, Response, Server, free_port, main, psql, wait_for

CLUSTER_SCRIPT = os.path.join(SOURCE_DIR, "scripts", "cluster")
API = "/api/v1"
# the load: 10,000 operations from 16 clients
OPERATIONS = int(os.environ.get("DUBAN_CLUSTER_OPERATIONS", "10000"))
CLIENTS = 16
RUN = uuid.uuid4().hex[:8]
# generous waits for what must happen: they bound a hang, not the speed
PATIENCE_S = 60


class Client:
    """HTTP/1.1 with keep-alive to one port (HAProxy or an instance), as a
    token. Connection failures are answers with status 0."""

    def __init__(self, port, token=None):
        self.port, self.token, self.conn = port, token, None

    def request(self, method, path, body=None, headers=None, timeout=90):
        headers = dict(headers or {})
        if self.token:
            headers.setdefault("Authorization", "Bearer " + self.token)
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                answer = Response(r.status, r.getheaders(), r.read())
                if answer.header("connection") == "close":
                    self.close()
                return answer
            except (ConnectionError, http.client.HTTPException, OSError) as e:
                self.close()
                if attempt == 1:
                    return Response(0, [], str(e).encode())
        raise AssertionError("unreachable")

    def close(self):
        if self.conn:
            self.conn.close()
        self.conn = None


def cluster(*args, check=True):
    env = dict(os.environ, DUBAN_CLUSTER_DIR=STATE["dir"], DUBAN_CLUSTER_PORT=str(STATE["port"]),
               DUBAN_BIN=DUBAN_BIN, DUBAN_TIMEZONE="UTC", DUBAN_LOG_LEVEL="info", **PATIENT)
    out = subprocess.run([CLUSTER_SCRIPT, *args], env=env, capture_output=True, text=True, timeout=900)
    if check and out.returncode != 0:
        raise AssertionError(f"scripts/cluster {' '.join(args)} failed ({out.returncode}):\n"
                             f"{out.stdout}\n{out.stderr}\n{instance_logs()}")
    return out


def status():
    """scripts/cluster status as (exit code, {key: [values]})."""
    out = cluster("status", check=False)
    keys = {}
    for line in out.stdout.splitlines():
        for pair in line.split(" ") if line.startswith("instance=") else [line]:
            key, _, value = pair.partition("=")
            keys.setdefault(key, []).append(value)
    return out.returncode, keys


def instance_logs():
    logs = []
    for name in sorted(os.listdir(STATE["dir"])) if os.path.isdir(STATE["dir"]) else []:
        if name.startswith("duban-") and name.endswith(".log"):
            with open(os.path.join(STATE["dir"], name), errors="replace") as f:
                logs.append(f"--- {name}\n" + f.read()[-2000:])
    return "\n".join(logs)


def port_of(url):
    return int(url.rsplit(":", 1)[1].split("/")[0])


class Writers:
    """`count` clients POSTing units through HAProxy until stopped, each
    request with an Idempotency-Key of its own. A key is sent until
    `answered(client, key, answer)` says it was answered (once, unless it
    says otherwise), then the next one. `answered` runs on the client's
    thread (list appends need no lock)."""

    def __init__(self, prefix, token, count, answered):
        self.prefix, self.token, self.answered = prefix, token, answered
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.write, args=(i,)) for i in range(count)]
        for t in self.threads:
            t.start()

    def write(self, i):
        c = Client(STATE["port"], self.token)
        n = 0
        while not self.stop.is_set():
            n += 1
            key = f"{self.prefix}-{RUN}-{i}-{n}"
            deadline = time.time() + 2 * PATIENCE_S
            while time.time() < deadline:   # a key once sent is sent until answered
                r = c.request("POST", f"{API}/units", {"name": f"{self.prefix} {RUN} {i} {n}"},
                              headers={"Idempotency-Key": key})
                if self.answered(c, key, r):
                    break
                time.sleep(0.1)
        c.close()

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join()


STATE = {}


def setUpModule():
    STATE["dir"] = tempfile.mkdtemp(prefix="duban-cluster-")
    STATE["port"] = free_port()
    out = cluster("up", "2")
    tokens = re.findall(r"^\s+(dbn_\S+)\s*$", out.stdout, re.M)
    STATE["admin"] = tokens[0] if tokens else None


def tearDownModule():
    out = cluster("down", check=False)
    logs = instance_logs()
    for node in ("a", "b"):
        home = os.path.join(STATE["dir"], f"node-{node}", "home")
        if os.path.exists(home):
            with open(home) as f:
                shutil.rmtree(f.read().strip(), ignore_errors=True)
    shutil.rmtree(STATE["dir"], ignore_errors=True)
    if out.returncode != 0 or "Sanitizer" in logs:
        raise AssertionError(f"scripts/cluster down: {out.returncode} {out.stderr}\n{logs}")


class Cluster(unittest.TestCase):
    """The cases share the cluster, in the order of their names."""

    @classmethod
    def setUpClass(cls):
        cls.admin = STATE["admin"]
        cls.proxy = Client(STATE["port"], cls.admin)

    def setUp(self):
        rc, self.status = status()
        self.assertEqual(rc, 0, self.status)
        self.instances = [Client(port_of(url), self.admin) for url in self.status["instance"]]
        self.primary, self.standby = self.status["primary"][0], self.status["standby"][0]

    def token(self, role="editor"):
        r = self.proxy.request("POST", f"{API}/tokens", {"name": f"cluster {role} {uuid.uuid4().hex[:8]}",
                                                          "role": role})
        self.assertEqual(r.status, 201, r)
        return r.json()

    def new_unit(self, client, name=None, headers=None):
        r = client.request("POST", f"{API}/units", {"name": name or f"单位 {RUN} {uuid.uuid4().hex[:10]}"},
                           headers=headers)
        self.assertEqual(r.status, 201, r)
        return r

    def standby_reads(self, client):
        """The standby counters of one instance's /metrics: (answered, passed)."""
        text = client.request("GET", "/metrics").body.decode()
        count = lambda name: int(re.search(rf"^{name} (\d+)$", text, re.M).group(1))
        return count("duban_standby_reads_total"), count("duban_standby_passed_reads_total")

    def served_by(self, index, request_id):
        with open(os.path.join(STATE["dir"], f"duban-{index}.log"), errors="replace") as f:
            return f"request_id={request_id}" in f.read()

    # --- the cluster as started ---------------------------------------------

    def test_1_up_prints_an_admin_token_and_status_names_every_part(self):
        self.assertRegex(self.admin or "", r"^dbn_")
        self.assertEqual(self.status["url"], [f"http://127.0.0.1:{STATE['port']}"])
        self.assertRegex(self.primary, r"^postgresql://duban@127\.0\.0\.1:\d+/duban$")
        self.assertRegex(self.standby, r"^postgresql://duban@127\.0\.0\.1:\d+/duban$")
        self.assertEqual(self.status["duban"], [DUBAN_BIN])
        self.assertEqual(len(self.status["instance"]), 2)
        self.assertTrue(all(re.fullmatch(r"\d+", pid) for pid in self.status["pid"]), self.status)
        self.assertEqual(self.status["replication"], ["streaming sync"])
        self.assertNotIn("down", self.status)
        self.assertEqual(psql(self.primary, "SELECT pg_is_in_recovery()"), [["f"]])
        self.assertEqual(psql(self.standby, "SELECT pg_is_in_recovery()"), [["t"]])
        r = self.proxy.request("GET", "/readyz")
        self.assertEqual(r.json(), {"status": "ready", "databases": {"primary": "up", "standby": "up"}})

    def test_2_writes_and_reads_go_through_haproxy_to_every_instance(self):
        r = self.new_unit(self.proxy)
        token = r.header("consistency-token")
        self.assertRegex(token or "", r"^[0-9A-F]{1,8}/[0-9A-F]{1,8}$")
        unit = r.json()
        got = self.proxy.request("GET", f"{API}/units/{unit['id']}", headers={"Consistency-Token": token})
        self.assertEqual((got.status, got.json()), (200, unit))
        # a token duban cannot read sends the read to the primary
        before = self.standby_reads(self.instances[0])
        for garbage in ("not a token", "0/", "/1", "123456789/0", "0x1/2", "0/1/2"):
            got = self.instances[0].request("GET", f"{API}/units/{unit['id']}", headers={"Consistency-Token": garbage})
            self.assertEqual((got.status, got.json()), (200, unit))
        after = self.standby_reads(self.instances[0])
        self.assertEqual((after[0] - before[0], after[1] - before[1]), (0, 6))
        ids = [f"rr-{RUN}-{n}" for n in range(12)]
        for request_id in ids:
            self.assertEqual(self.proxy.request("GET", f"{API}/units?limit=1",
                                                headers={"X-Request-Id": request_id}).status, 200)
        for index in (1, 2):
            self.assertTrue(any(self.served_by(index, i) for i in ids), f"instance {index} served none")

    def test_3_an_idempotency_key_replayed_to_the_other_instance_returns_the_first_answer(self):
        key = {"Idempotency-Key": f"key-{RUN}"}
        body = {"name": f"单位 {RUN} idempotent"}
        first = self.instances[0].request("POST", f"{API}/units", body, headers=key)
        self.assertEqual(first.status, 201, first)
        again = self.instances[1].request("POST", f"{API}/units", body, headers=key)
        self.assertEqual(again.status, 201, again)
        self.assertEqual(again.header("idempotent-replayed"), "true")
        self.assertEqual(again.json(), first.json())
        other = self.instances[1].request("POST", f"{API}/units", {"name": "另一个"}, headers=key)
        self.assertEqual(other.status, 422, other)
        self.assertEqual(psql(self.primary, f"SELECT count(*) FROM unit_name WHERE name = '{body['name']}'"),
                         [["1"]])

    def test_4_a_token_revoked_through_one_instance_is_refused_by_the_other(self):
        made = self.token("reader")
        mine = Client(self.instances[1].port, made["token"])
        self.assertEqual(mine.request("GET", f"{API}/units?limit=1").status, 200)   # now in its cache
        self.assertEqual(self.instances[0].request("DELETE", f"{API}/tokens/{made['id']}").status, 204)
        revoked_at = time.time()
        # The other instance learns it from PostgreSQL (NOTIFY): long before
        # its cache would forget the token (60 s).
        wait_for("the revoked token refused", lambda: mine.request("GET", f"{API}/units?limit=1").status == 401,
                   timeout=30, step=0.05)
        print(f"\n  revocation reached the other instance after {time.time() - revoked_at:.2f} s")

    def test_5_a_rate_limit_is_one_budget_for_every_instance(self):
        limit = 20
        servers = [Server(self.status["database_url"][0], DUBAN_RATE_LIMIT_PER_MIN=limit, DUBAN_TIMEZONE="UTC",
                          **PATIENT) for _ in range(2)]
        try:
            made = self.token("reader")
            first, second = (Client(s.port, made["token"]) for s in servers)
            for _ in range(3):   # a minute that ends in the middle starts the budget again: try the next one
                if time.time() % 60 > 20:
                    time.sleep(60.5 - time.time() % 60)
                minute = int(time.time() // 60)
                self.assertEqual([first.request("GET", f"{API}/units?limit=1").status for _ in range(limit)],
                                 [200] * limit)
                self.assertEqual(first.request("GET", f"{API}/units?limit=1").status, 429)
                used = f"SELECT coalesce(sum(used), 0) FROM rate_budget WHERE token_id = {made['id']} " \
                       f"AND minute = {minute}"
                wait_for("the first instance shares its count",
                           lambda: int(psql(self.primary, used)[0][0]) >= limit)
                # The second instance has served this token nothing: alone, it
                # would allow all 15. It allows what it served before it
                # learned the first one's count, then refuses.
                statuses = []
                for _ in range(15):
                    statuses.append(second.request("GET", f"{API}/units?limit=1").status)
                    if statuses[-1] != 200:
                        break
                    time.sleep(1)
                if int(time.time() // 60) == minute:
                    break
            self.assertEqual(statuses[-1], 429, statuses)
            self.assertLess(len(statuses), 15)
        finally:
            for s in servers:
                s.stop()

    # --- the standby --------------------------------------------------------

    def replay(self, paused):
        psql(self.standby, "SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")
        state = "paused" if paused else "not paused"
        wait_for(f"replay {state}", lambda: psql(self.standby, "SELECT pg_get_wal_replay_pause_state()")
                   == [[state]])

    def standby_lag_over(self, seconds):
        return psql(self.standby, "SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn() AND "
                                  f"now() - pg_last_xact_replay_timestamp() > interval '{seconds} s'") == [["t"]]

    def test_6_a_read_sees_its_clients_write_while_the_standby_lags(self):
        env = dict(DUBAN_DATABASE_READ_URL=self.status["read_url"][0], DUBAN_TIMEZONE="UTC", **PATIENT)
        # a lag of an hour allowed: this one answers from the standby whatever the lag
        loose = Server(self.status["database_url"][0], DUBAN_MAX_REPLICA_LAG_MS=3600000, **env)
        strict = Server(self.status["database_url"][0], DUBAN_MAX_REPLICA_LAG_MS=1000, **env)
        loose_client, strict_client = Client(loose.port, self.admin), Client(strict.port, self.admin)
        try:
            self.replay(paused=True)
            r = self.new_unit(self.proxy)
            unit, token = r.json(), r.header("consistency-token")
            path = f"{API}/units/{unit['id']}"
            self.assertEqual(psql(self.standby, f"SELECT pg_last_wal_replay_lsn() < '{token}'::pg_lsn"), [["t"]])
            before = self.standby_reads(loose_client)
            # without the token: the standby answers, without the write (as stale as allowed)
            self.assertEqual(loose_client.request("GET", path).status, 404)
            # with it: the standby has not replayed it, so the primary answers
            r = loose_client.request("GET", path, headers={"Consistency-Token": token})
            self.assertEqual((r.status, r.json()), (200, unit))
            after = self.standby_reads(loose_client)
            self.assertEqual((after[0] - before[0], after[1] - before[1]), (1, 1))
            for client in (self.proxy, *self.instances):
                r = client.request("GET", path, headers={"Consistency-Token": token})
                self.assertEqual((r.status, r.json()), (200, unit))
            # a standby further behind than allowed answers nothing, token or not
            wait_for("the standby 2 s behind", lambda: self.standby_lag_over(2))
            self.assertEqual(strict_client.request("GET", path).status, 200)
            self.assertEqual(strict_client.request("GET", "/readyz").json()["databases"],
                             {"primary": "up", "standby": "lagging"})
            wait_for("the standby 6 s behind", lambda: self.standby_lag_over(6))
            for client in (self.proxy, *self.instances):
                self.assertEqual(client.request("GET", path).status, 200)
        finally:
            self.replay(paused=False)
            loose.stop()
            strict.stop()
        # replayed: the standby answers again, with the write
        wait_for("the standby replays the write",
                   lambda: psql(self.standby, f"SELECT pg_last_wal_replay_lsn() >= '{token}'::pg_lsn") == [["t"]])
        before = [self.standby_reads(c)[0] for c in self.instances]
        for client in self.instances:
            r = client.request("GET", path, headers={"Consistency-Token": token})
            self.assertEqual((r.status, r.json()), (200, unit))
        self.assertGreater(sum(self.standby_reads(c)[0] for c in self.instances), sum(before))

    def test_7_no_read_returns_a_version_older_than_its_clients_last_write(self):
        tokens = [self.token("editor")["token"] for _ in range(CLIENTS)]
        before = sum(self.standby_reads(c)[0] for c in self.instances)
        results = [None] * CLIENTS

        def client(i):
            c = Client(STATE["port"], tokens[i])
            rnd = random.Random(i)
            written, token, stale, failed = {}, None, [], []

            def note(r, want):
                nonlocal token
                if r.status != want:
                    failed.append((r.status, r.body[:200]))
                    return None
                token = r.header("consistency-token") or token
                return r.json()

            def create():
                doc = note(c.request("POST", f"{API}/units", {"name": f"rw {RUN} {i} {uuid.uuid4().hex[:8]}"},
                                     headers={"Consistency-Token": token} if token else None), 201)
                if doc:
                    written[doc["id"]] = doc["version"]

            create()
            create()
            for n in range(OPERATIONS // CLIENTS - 2):
                roll = rnd.random()
                uid = rnd.choice(sorted(written))
                if roll < 0.05:
                    create()
                elif roll < 0.35:
                    doc = note(c.request("PATCH", f"{API}/units/{uid}", {"name": f"rw {RUN} {i} {uid} {n}"},
                                         headers={"Consistency-Token": token}), 200)
                    if doc:
                        written[uid] = doc["version"]
                else:
                    r = c.request("GET", f"{API}/units/{uid}", headers={"Consistency-Token": token})
                    if r.status != 200:
                        failed.append((r.status, r.body[:200]))
                    elif r.json()["version"] < written[uid]:
                        stale.append((uid, written[uid], r.json()["version"]))
            c.close()
            results[i] = (stale, failed)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        started = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(f"\n  {OPERATIONS} operations from {CLIENTS} clients in {time.time() - started:.1f} s")
        self.assertEqual([r for r in results if r is None], [])
        self.assertEqual([s for s, _ in results if s], [], "a read older than its client's write")
        self.assertEqual([f for _, f in results if f], [])
        self.assertGreater(sum(self.standby_reads(c)[0] for c in self.instances), before,
                           "the standby answered none of the reads")

    # --- losing parts -------------------------------------------------------

    def test_8_an_instance_killed_under_load_loses_no_retryable_request(self):
        pid = int(self.status["pid"][0])
        answers, unanswered, answered_keys = [], [], set()

        def answered(client, key, r):   # each POST once, then a GET
            if r.status == 0:   # no answer at all, even on a new connection: the key goes again
                unanswered.append(key)
                return False
            answered_keys.add(key)
            got = client.request("GET", f"{API}/units?limit=1")
            answers.append(("POST", r.status, r.json()["id"] if r.status == 201 else r.body[:200]))
            answers.append(("GET", got.status, got.body[:200] if got.status != 200 else None))
            return True

        writers = Writers("kill", self.token("editor")["token"], 8, answered)
        try:
            wait_for("some load", lambda: len(answers) > 200)
            os.kill(pid, signal.SIGKILL)
            killed_at = len(answers)
            wait_for("load after the kill", lambda: len(answers) > killed_at + 400)
        finally:
            writers.join()
        self.assertEqual([a for a in answers if a[1] not in (200, 201)], [])
        self.assertEqual(set(unanswered) - answered_keys, set(), "keys never answered")
        ids = [a[2] for a in answers if a[0] == "POST"]
        stored = psql(self.primary, f"SELECT count(*) FROM unit WHERE id IN ({','.join(map(str, ids))})")
        self.assertEqual(stored, [[str(len(set(ids)))]])
        rc, keys = status()
        self.assertEqual((rc, keys.get("down")), (1, [self.status["instance"][0]]))
        # restarted, it is back in rotation
        cluster("up")
        self.assertEqual(status()[0], 0)
        n = iter(range(10 ** 6))

        def served_again():
            request_id = f"back-{RUN}-{next(n)}"
            self.assertEqual(self.proxy.request("GET", f"{API}/units?limit=1",
                                                headers={"X-Request-Id": request_id}).status, 200)
            return self.served_by(1, request_id)

        wait_for("the restarted instance serves again", served_again, step=0.05)

    def test_9_after_a_failover_writes_resume_and_every_acknowledged_one_is_kept(self):
        failover_at, acked, refused, wrong = [], [], [], []

        def answered(client, key, r):
            if r.status == 201:
                acked.append((time.time(), r.json()["id"], key))
                return True
            if r.status == 503 and r.header("retry-after"):
                refused.append(time.time())
            else:
                wrong.append((r.status, r.body[:200]))
            return False

        writers = Writers("fo", self.token("editor")["token"], 4, answered)
        try:
            wait_for("writes before the failover", lambda: len(acked) > 40)
            failover_at.append(time.time())
            cluster("failover")
            promoted_at = time.time()
            first = wait_for("a write acknowledged after the failover",
                               lambda: next((t for t, _, _ in acked if t > promoted_at), None))
            count = len(acked)
            wait_for("more writes", lambda: len(acked) > count + 40)
        finally:
            writers.join()
        print(f"\n  failover took {promoted_at - failover_at[0]:.1f} s; the first write after it came "
              f"{first - promoted_at:.1f} s later; {len(refused)} answers 503 meanwhile")
        self.assertEqual(wrong, [])
        rc, keys = status()
        self.assertEqual((rc, keys["primary"], keys["standby"], keys.get("down")),
                         (1, [self.standby], [self.primary], ["standby"]))
        # every acknowledged write is on the new primary, once
        ids = sorted({i for _, i, _ in acked})
        self.assertEqual(len(ids), len(acked))
        self.assertEqual(psql(self.standby, f"SELECT count(*) FROM unit WHERE id IN ({','.join(map(str, ids))})"),
                         [[str(len(ids))]])
        self.assertEqual(psql(self.standby, f"SELECT count(*) FROM unit_name WHERE name LIKE 'fo {RUN} %'"),
                         [[str(len(ids))]])
        # up again: the former primary is the new one's standby
        cluster("up")
        rc, keys = status()
        self.assertEqual((rc, keys["primary"], keys["standby"], keys["replication"]),
                         (0, [self.standby], [self.primary], ["streaming sync"]))
        r = self.new_unit(self.proxy)
        got = self.proxy.request("GET", f"{API}/units/{r.json()['id']}",
                                 headers={"Consistency-Token": r.header("consistency-token")})
        self.assertEqual((got.status, got.json()), (200, r.json()))


if __name__ == "__main__":
    main()
