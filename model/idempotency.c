#include "model/idempotency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/db.h"

void created_reset(struct created *out)
{
    json_decref(out->doc);
    memset(out, 0, sizeof *out);
}

/* The INSERT … ON CONFLICT DO NOTHING waits for a concurrent transaction
 * holding the same key, then sees its committed answer. */
duban_status idempotency_claim(struct call *c, PGconn *conn, const struct idempotency *idem, struct created *replay,
                               int *claimed)
{
    const char *params[] = {idem->scope, idem->key, idem->request};
    PGresult *res;
    *claimed = 0;
    duban_status s = db_exec(c, conn, &res,
                             "INSERT INTO idempotency_key (scope, key, request_hash, status, body) "
                             "VALUES ($1, $2, encode(sha256(convert_to($3, 'UTF8')), 'hex'), 0, '') "
                             "ON CONFLICT DO NOTHING RETURNING 1",
                             3, params);
    if (s != DUBAN_OK)
        return s;
    *claimed = PQntuples(res) == 1;
    PQclear(res);
    if (*claimed)
        return DUBAN_OK;
    s = db_exec(c, conn, &res,
                "SELECT request_hash = encode(sha256(convert_to($3, 'UTF8')), 'hex'), coalesce(location, ''), body "
                "FROM idempotency_key WHERE scope = $1 AND key = $2",
                3, params);
    if (s != DUBAN_OK)
        return s;
    if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        PQclear(res);
        return call_fail(c, DUBAN_INVALID, "this Idempotency-Key was already used with a different request");
    }
    snprintf(replay->location, sizeof replay->location, "%s", PQgetvalue(res, 0, 1));
    replay->doc = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
    replay->replayed = 1;
    PQclear(res);
    return replay->doc ? DUBAN_OK : call_fail(c, DUBAN_ERROR, "the stored answer is unreadable");
}

duban_status idempotency_remember(struct call *c, PGconn *conn, const struct idempotency *idem,
                                  const struct created *out)
{
    char *body = json_dumps(out->doc, JSON_COMPACT);
    const char *params[] = {idem->scope, idem->key, out->location, body};
    duban_status s = db_run(c, conn,
                            "UPDATE idempotency_key SET status = 201, location = $3, body = $4 "
                            "WHERE scope = $1 AND key = $2",
                            4, params);
    free(body);
    return s;
}

