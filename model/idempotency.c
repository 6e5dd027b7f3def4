#include "model/idempotency_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/sql.h"

void created_reset(struct created *out)
{
    json_decref(out->doc);
    memset(out, 0, sizeof *out);
}

static int ttl_hours = 24;

void idempotency_set_ttl_hours(int hours) { ttl_hours = hours > 0 ? hours : 24; }

/* Deletes up to PURGE_BATCH expired keys. It runs with every claim, in the
 * claim's transaction, rather than on a timer: a claim adds at most one
 * row and removes up to PURGE_BATCH expired ones, so the table never holds
 * much more than one TTL's worth of keys, with no thread of its own to run
 * and stop, and on several instances each purges as it goes. When nothing
 * has expired it is one probe of the index on created_at. SKIP LOCKED
 * leaves rows that another transaction holds (a concurrent purge, or a
 * claim taking over an expired key) to it: no waiting, no deadlock. */
#define PURGE_BATCH "100"

static duban_status purge_expired(struct call *c, PGconn *conn, const char *ttl)
{
    const char *params[] = {ttl};
    return db_run(c, conn,
                  "DELETE FROM idempotency_key WHERE (scope, key) IN (SELECT scope, key FROM idempotency_key "
                  "WHERE created_at < now() - make_interval(hours => $1::int) ORDER BY created_at "
                  "LIMIT " PURGE_BATCH " FOR UPDATE SKIP LOCKED)",
                  1, params);
}

/* The INSERT … ON CONFLICT waits for a concurrent transaction holding the
 * same key, then sees its committed answer. An expired key is taken over
 * as if it were new (the DO UPDATE), so the request is done anew. */
duban_status idempotency_claim(struct call *c, PGconn *conn, const struct idempotency *idem, struct created *replay,
                               int *claimed)
{
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%d", ttl_hours);
    const char *params[] = {idem->scope, idem->key, idem->request, ttl};
    PGresult *res;
    *claimed = 0;
    duban_status s = purge_expired(c, conn, ttl);
    if (s != DUBAN_OK)
        return s;
    s = db_exec(c, conn, &res,
                "INSERT INTO idempotency_key (scope, key, request_hash, body) "
                "VALUES ($1, $2, encode(sha256(convert_to($3, 'UTF8')), 'hex'), '') "
                "ON CONFLICT (scope, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, "
                "body = '', created_at = now() "
                "WHERE idempotency_key.created_at < now() - make_interval(hours => $4::int) RETURNING 1",
                4, params);
    if (s != DUBAN_OK)
        return s;
    *claimed = PQntuples(res) == 1;
    PQclear(res);
    if (*claimed)
        return DUBAN_OK;
    s = db_exec(c, conn, &res,
                "SELECT request_hash = encode(sha256(convert_to($3, 'UTF8')), 'hex'), body "
                "FROM idempotency_key WHERE scope = $1 AND key = $2",
                3, params);
    if (s != DUBAN_OK)
        return s;
    if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        PQclear(res);
        return call_fail(c, DUBAN_INVALID, "this Idempotency-Key was already used with a different request");
    }
    replay->doc = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    replay->replayed = 1;
    PQclear(res);
    return replay->doc ? DUBAN_OK : call_fail(c, DUBAN_ERROR, "the stored answer is unreadable");
}

duban_status idempotency_remember(struct call *c, PGconn *conn, const struct idempotency *idem,
                                  const struct created *out)
{
    char *body = json_dumps(out->doc, JSON_COMPACT);
    const char *params[] = {idem->scope, idem->key, body};
    duban_status s = db_run(c, conn, "UPDATE idempotency_key SET body = $3 WHERE scope = $1 AND key = $2", 3, params);
    free(body);
    return s;
}


struct write_args {
    const struct idempotency *idem;
    struct created *out;
    idempotent_work work;
    void *arg;
};

/* One attempt: claims the key (or finds its answer), works, remembers. */
static duban_status write_attempt(struct call *c, PGconn *conn, void *arg)
{
    struct write_args *a = arg;
    created_reset(a->out);
    int claimed = 1;
    duban_status s = a->idem ? idempotency_claim(c, conn, a->idem, a->out, &claimed) : DUBAN_OK;
    if (s != DUBAN_OK || !claimed)
        return s;
    s = a->work(c, conn, a->arg, a->out);
    if (s == DUBAN_OK && a->idem)
        s = idempotency_remember(c, conn, a->idem, a->out);
    return s;
}

duban_status idempotent_write(struct call *c, const struct idempotency *idem, struct created *out,
                              idempotent_work work, void *arg)
{
    memset(out, 0, sizeof *out);
    struct write_args a = {idem, out, work, arg};
    duban_status s = db_write(c, write_attempt, &a);
    if (s != DUBAN_OK) {
        json_decref(out->doc);
        out->doc = NULL;
    }
    return s;
}
