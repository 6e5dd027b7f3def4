#include "model/migrate.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/sql.h"
#include "model/log.h"

/* Arbitrary but fixed: the advisory lock key that serialises migrators. */
static const char *const LOCK_KEY = "7342019001";
enum { LOCK_WAIT_MS = 60000, LOCK_POLL_MS = 100, MIGRATION_DEADLINE_MS = 600000 };

enum migration_state { MIGRATION_PENDING, MIGRATION_APPLIED, MIGRATION_CHANGED };

struct walk {
    FILE *out;
    int apply;           /* apply pending migrations, or only look */
};

static duban_status ensure_table(struct call *c, PGconn *conn)
{
    return db_run(c, conn,
                  "CREATE TABLE IF NOT EXISTS schema_migrations ("
                  " name text PRIMARY KEY, checksum text NOT NULL,"
                  " applied_at timestamptz NOT NULL DEFAULT now())",
                  0, NULL);
}

/* Finds whether m is applied, and whether its text still matches. */
static duban_status state_of(struct call *c, PGconn *conn, const struct migration *m,
                             enum migration_state *state)
{
    const char *params[] = {m->name, m->sql};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "SELECT checksum = encode(sha256(convert_to($2, 'UTF8')), 'hex') "
                             "FROM schema_migrations WHERE name = $1",
                             2, params);
    if (s != DUBAN_OK)
        return s;
    if (PQntuples(res) == 0)
        *state = MIGRATION_PENDING;
    else
        *state = strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? MIGRATION_APPLIED : MIGRATION_CHANGED;
    PQclear(res);
    return DUBAN_OK;
}

/* Applies one migration and records it, in one transaction. */
static duban_status apply_one(struct call *c, PGconn *conn, const struct migration *m)
{
    const char *params[] = {m->name, m->sql};
    duban_status s = db_run(c, conn, "BEGIN", 0, NULL);
    if (s == DUBAN_OK)
        s = db_run(c, conn, "SET LOCAL statement_timeout = 0", 0, NULL);
    if (s == DUBAN_OK)
        s = db_exec_script(c, conn, m->sql);
    if (s == DUBAN_OK)
        s = db_run(c, conn,
                   "INSERT INTO schema_migrations (name, checksum) "
                   "VALUES ($1, encode(sha256(convert_to($2, 'UTF8')), 'hex'))",
                   2, params);
    if (s == DUBAN_OK)
        return db_run(c, conn, "COMMIT", 0, NULL);
    log_msg(LOG_ERROR, "migration %s failed: %s", m->name, c->detail);
    struct call scratch;
    call_init(&scratch, c->db);
    db_run(&scratch, conn, "ROLLBACK", 0, NULL);
    return s;
}

static duban_status lock_migrations(struct call *c, PGconn *conn)
{
    const char *params[] = {LOCK_KEY};
    for (int waited = 0; waited < LOCK_WAIT_MS; waited += LOCK_POLL_MS) {
        PGresult *res;
        duban_status s = db_exec(c, conn, &res, "SELECT pg_try_advisory_lock($1::bigint)", 1, params);
        if (s != DUBAN_OK)
            return s;
        int locked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        if (locked)
            return DUBAN_OK;
        nanosleep(&(struct timespec){.tv_nsec = LOCK_POLL_MS * 1000000L}, NULL);
    }
    return call_fail(c, DUBAN_UNAVAILABLE, "another instance has held the migration lock for %d s",
                     LOCK_WAIT_MS / 1000);
}

/* Walks the migrations in order under the advisory lock, reporting and,
 * when asked, applying. Stops at the first changed migration. */
static duban_status walk_migrations(struct call *c, PGconn *conn, void *arg)
{
    struct walk *w = arg;
    duban_status s = lock_migrations(c, conn);
    if (s != DUBAN_OK)
        return s;
    s = ensure_table(c, conn);
    for (size_t i = 0; s == DUBAN_OK && i < duban_migration_count; i++) {
        const struct migration *m = &duban_migrations[i];
        enum migration_state state;
        s = state_of(c, conn, m, &state);
        if (s != DUBAN_OK)
            break;
        if (state == MIGRATION_CHANGED) {
            s = call_fail(c, DUBAN_CONFLICT,
                          "migration %s was changed after it was applied; migrations are forward only: "
                          "restore the file and add a new migration instead", m->name);
            break;
        }
        if (state == MIGRATION_PENDING && w->apply) {
            s = apply_one(c, conn, m);
            state = s == DUBAN_OK ? MIGRATION_APPLIED : state;
        }
        if (w->out)
            fprintf(w->out, "%-8s %s\n", state == MIGRATION_APPLIED ? "applied" : "pending", m->name);
    }
    const char *params[] = {LOCK_KEY};
    struct call scratch;
    call_init(&scratch, c->db);
    db_run(&scratch, conn, "SELECT pg_advisory_unlock($1::bigint)", 1, params);
    return s;
}

static duban_status walk(struct call *c, struct walk *w)
{
    int saved = c->deadline_ms;
    c->deadline_ms = MIGRATION_DEADLINE_MS;
    duban_status s = db_read(c, walk_migrations, w);
    c->deadline_ms = saved;
    return s;
}

duban_status migrate_apply(struct call *c, FILE *report)
{
    struct walk w = {.out = report, .apply = 1};
    return walk(c, &w);
}

duban_status migrate_status(struct call *c, FILE *out)
{
    struct walk w = {.out = out, .apply = 0};
    return walk(c, &w);
}

/* Counts the applied migrations among the compiled-in ones, without the
 * lock: cheap enough for every readiness probe. */
static duban_status count_applied(struct call *c, PGconn *conn, void *arg)
{
    char names[4096] = "{";
    for (size_t i = 0; i < duban_migration_count; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s\"%s\"",
                 i ? "," : "", duban_migrations[i].name);
    strncat(names, "}", sizeof names - strlen(names) - 1);
    const char *params[] = {names};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "SELECT count(*) FROM schema_migrations WHERE name = ANY($1::text[])", 1, params);
    if (s == DUBAN_OK) {
        *(long *)arg = atol(PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    return s;
}

duban_status migrate_check_current(struct call *c)
{
    long applied = 0;
    duban_status s = db_read(c, count_applied, &applied);
    if (s == DUBAN_OK && applied != (long)duban_migration_count)
        return call_fail(c, DUBAN_UNAVAILABLE, "%ld of %zu migrations are applied",
                         applied, duban_migration_count);
    return s;
}
