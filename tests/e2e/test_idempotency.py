"""Idempotency keys expire: within DUBAN_IDEMPOTENCY_TTL_H hours a retry gets
the first answer back; after it the same key is a new request, and expired
keys are purged as new ones are claimed. Keys are aged by backdating their
created_at in the database, so no test waits for a clock."""

import os
import subprocess

from harness import DUBAN_BIN, ServerTest, main, psql
from seeding import API, Client, tag


class Expiry(Client, ServerTest):

    server_env = {"DUBAN_IDEMPOTENCY_TTL_H": "2"}

    def post(self, key, body, status=201):
        r = self.call("POST", f"{API}/plans", body, headers={"Idempotency-Key": key})
        self.assertEqual(r.status, status, r)
        return r

    def age(self, key, minutes):
        """Makes the key look `minutes` old."""
        psql(self.db.url, f"UPDATE idempotency_key SET created_at = now() - interval '{minutes} minutes' "
                          f"WHERE key = '{key}'")

    def keys(self, *keys):
        """Which of these keys the database still holds."""
        listed = ", ".join(f"'{k}'" for k in keys)
        return {row[0] for row in psql(self.db.url, f"SELECT key FROM idempotency_key WHERE key IN ({listed})")}

    def test_an_unexpired_key_replays(self):
        key, body = tag("key"), {"title": "方案 " + tag()}
        first = self.post(key, body)
        self.age(key, 110)   # within the two hours
        again = self.post(key, body)
        self.assertEqual(again.header("idempotent-replayed"), "true")
        self.assertEqual(again.json()["id"], first.json()["id"])
        self.assertEqual(again.header("location"), first.header("location"))
        self.assertProblem(self.post(key, {"title": "别的方案 " + tag()}, status=422), 422)

    def test_an_expired_key_is_a_new_request(self):
        key, body = tag("key"), {"title": "方案 " + tag()}
        first = self.post(key, body)
        self.age(key, 130)   # past the two hours
        again = self.post(key, body)
        self.assertIsNone(again.header("idempotent-replayed"))
        self.assertNotEqual(again.json()["id"], first.json()["id"])
        self.assertEqual(self.ok("GET", f"{API}/plans/{first.json()['id']}")["title"], body["title"])
        # the key now remembers the new answer, and replays it
        replay = self.post(key, body)
        self.assertEqual((replay.header("idempotent-replayed"), replay.json()["id"]), ("true", again.json()["id"]))
        # an expired key may come back with another body: it is a new request, not a 422
        self.age(key, 130)
        other = self.post(key, {"title": "另一方案 " + tag()})
        self.assertNotIn(other.json()["id"], (first.json()["id"], again.json()["id"]))

    def test_expired_keys_are_purged_when_a_key_is_claimed(self):
        old = [tag("old") for _ in range(3)]
        young = tag("young")
        for k in old + [young]:
            self.post(k, {"title": "方案 " + tag()})
        for k in old:
            self.age(k, 24 * 60)
        self.age(young, 60)
        self.assertEqual(self.keys(*old, young), set(old) | {young})
        self.post(tag("new"), {"title": "方案 " + tag()})
        self.assertEqual(self.keys(*old, young), {young})


class Setting(ServerTest):

    def test_a_bad_ttl_is_refused_naming_it(self):
        for value in ("0", "-1", "1.5", "many", "8761"):
            with self.subTest(value=value):
                env = dict(os.environ, DUBAN_IDEMPOTENCY_TTL_H=value, DUBAN_DATABASE_URL=self.db.url)
                p = subprocess.run([DUBAN_BIN, "serve"], env=env, capture_output=True, text=True, timeout=30)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn("DUBAN_IDEMPOTENCY_TTL_H", p.stderr)

    def test_help_lists_it_with_its_default(self):
        out = subprocess.run([DUBAN_BIN, "--help"], capture_output=True, text=True, timeout=30).stdout
        self.assertRegex(out, r"DUBAN_IDEMPOTENCY_TTL_H .*\(default 24\)")


if __name__ == "__main__":
    main()
