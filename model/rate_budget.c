#include "model/rate_budget.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/sql.h"

/* Rows are locked in key order, so that two instances adding the same
 * tokens at once wait for each other instead of deadlocking; the purge
 * touches only past minutes, which no instance adds to any more. */
static const char ADD[] =
    "WITH purged AS (DELETE FROM rate_budget WHERE minute < $4::bigint) "
    "INSERT INTO rate_budget AS r (token_id, minute, used) "
    "SELECT t, m, n FROM unnest($1::bigint[], $2::bigint[], $3::int[]) AS u(t, m, n) ORDER BY t, m "
    "ON CONFLICT (token_id, minute) DO UPDATE SET used = r.used + EXCLUDED.used "
    "RETURNING token_id::text, minute::text, used::text";

struct add_args {
    struct rate_count *counts;
    size_t n;
    const char *params[4];
};

static int by_key(const void *x, const void *y)
{
    const struct rate_count *a = x, *b = y;
    if (a->token_id != b->token_id)
        return a->token_id < b->token_id ? -1 : 1;
    return (a->minute > b->minute) - (a->minute < b->minute);
}

/* Sets the total of each count from the rows the statement returned (the
 * counts sorted by key). */
static duban_status add_work(struct call *c, PGconn *conn, void *arg)
{
    struct add_args *a = arg;
    PGresult *res;
    duban_status s = db_exec(c, conn, &res, ADD, 4, a->params);
    if (s != DUBAN_OK)
        return s;
    for (int row = 0; row < PQntuples(res); row++) {
        struct rate_count key = {.token_id = strtoll(PQgetvalue(res, row, 0), NULL, 10),
                                 .minute = strtol(PQgetvalue(res, row, 1), NULL, 10)};
        struct rate_count *found = bsearch(&key, a->counts, a->n, sizeof key, by_key);
        if (found)
            found->total = strtol(PQgetvalue(res, row, 2), NULL, 10);
    }
    PQclear(res);
    return DUBAN_OK;
}

/* The arrays as PostgreSQL reads them: "{1,2,3}". NULL when out of memory. */
static char *array_of(const struct rate_count *counts, size_t n, int which)
{
    size_t size = 2 + n * 22, used = 0;
    char *text = malloc(size);
    if (!text)
        return NULL;
    text[used++] = '{';
    for (size_t i = 0; i < n; i++) {
        long long v = which == 0 ? counts[i].token_id : which == 1 ? counts[i].minute : counts[i].added;
        used += (size_t)snprintf(text + used, size - used, "%s%lld", i ? "," : "", v);
    }
    snprintf(text + used, size - used, "}");
    return text;
}

/* A single autocommit statement: db_read runs it (on the primary, as the
 * call does not allow the standby), retried once on a lost connection,
 * which may count some requests twice: the budget only gets stricter. */
duban_status rate_budget_add(struct call *c, struct rate_count *counts, size_t n, long oldest)
{
    qsort(counts, n, sizeof *counts, by_key);
    char before[24];
    snprintf(before, sizeof before, "%ld", oldest);
    struct add_args a = {counts, n, {array_of(counts, n, 0), array_of(counts, n, 1), array_of(counts, n, 2), before}};
    duban_status s = a.params[0] && a.params[1] && a.params[2] ? db_read(c, add_work, &a)
                                                               : call_fail(c, DUBAN_ERROR, "out of memory");
    for (int i = 0; i < 3; i++)
        free((char *)a.params[i]);
    return s;
}
