#include "model/today.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/log.h"
#include "model/sql.h"

#define BATCH_TEXT "200"   /* BATCH, as the statements write it */

enum {
    BATCH = 200,          /* tasks rendered again per transaction */
    EVERY_S = 60,         /* seconds between looks for stale tasks */
    FULL_EVERY_S = 900,   /* at most this long between looks at every task */
    SPAN = 5000,          /* ids a full look reads per statement */
    PLANS_SIZE = 33,      /* the plans' fingerprint: an md5 in hex */
};

struct today_refresher {
    struct db *db;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    char plans[PLANS_SIZE];   /* the plans' versions the last full pass left fresh; "" before one */
    time_t full_at;           /* when that pass ended */
};

struct batch {
    int full;                 /* look at the tasks of ids [from, to), not only those of another day */
    char from[24], to[24];
    int last;                 /* the pass's last look: it folds the sums */
    int count;                /* out: how many were rendered again */
};

/* Renders again up to BATCH tasks whose today is stale, skipping rows
 * other transactions hold. A full look finds those of another day or of
 * older plan settings among SPAN ids, reading each (no index serves the
 * condition, and one statement over a million tasks outlasted the
 * statement timeout under load). The day's look finds those of another
 * day alone, from the index on today_on: nothing to read when none is
 * stale. Versions stay: nothing a client wrote has changed, so the
 * journal and the change feed record nothing. The last batch of a pass
 * also removes the rollups' sums of past renders that count no task any
 * more (migration 0024). */
static duban_status refresh_batch(struct call *c, PGconn *conn, void *arg)
{
/* Renders again the first BATCH tasks t of `from_where` (SQL from FROM on)
 * that no other transaction holds. */
#define RENDER_AGAIN(from_where)                                                                      \
    "WITH stale AS (SELECT t.id " from_where " AND t.doc <> '' LIMIT " BATCH_TEXT                     \
    " FOR UPDATE OF t SKIP LOCKED) UPDATE task SET doc = NULL FROM stale WHERE task.id = stale.id"
    static const char full[] = RENDER_AGAIN(
        "FROM task t JOIN plan p ON p.id = t.plan_id WHERE t.id >= $1::bigint AND t.id < $2::bigint "
        "AND (t.today_on IS DISTINCT FROM current_date OR t.today_plan IS DISTINCT FROM p.version)");
    static const char day[] =
        RENDER_AGAIN("FROM task t WHERE (t.today_on < current_date OR t.today_on > current_date)");
#undef RENDER_AGAIN
    struct batch *b = arg;
    const char *params[] = {b->from, b->to};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res, b->full ? full : day, b->full ? 2 : 0, params);
    if (s == DUBAN_OK) {
        b->count = atoi(PQcmdTuples(res));
        PQclear(res);
    }
    if (s == DUBAN_OK && b->count < BATCH && b->last)
        s = db_run(c, conn, "SELECT task_sums_fold()", 0, NULL);
    return s;
}

struct plans {
    char fingerprint[PLANS_SIZE];
    long long last_id;
};

/* The plans' versions, as one fingerprint, and the largest task id. */
static duban_status read_plans(struct call *c, PGconn *conn, void *arg)
{
    struct plans *p = arg;
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "SELECT md5(coalesce(string_agg(id || ':' || version, ',' ORDER BY id), '')), "
                             "(SELECT coalesce(max(id), 0) FROM task) FROM plan",
                             0, NULL);
    if (s == DUBAN_OK) {
        snprintf(p->fingerprint, sizeof p->fingerprint, "%s", PQgetvalue(res, 0, 0));
        p->last_id = atoll(PQgetvalue(res, 0, 1));
        PQclear(res);
    }
    return s;
}

/* Runs b's look batch by batch until it finds fewer than BATCH; adds to
 * *total. 0, or -1 when stopped or failed (logged). */
static int look(struct today_refresher *r, struct batch *b, int *total)
{
    do {
        pthread_mutex_lock(&r->lock);
        int stopping = r->stopping;
        pthread_mutex_unlock(&r->lock);
        if (stopping)
            return -1;
        struct call c;
        call_init(&c, r->db);
        b->count = 0;
        duban_status s = db_write(&c, refresh_batch, b);
        if (s != DUBAN_OK)
            log_msg(LOG_WARN, "tasks of a new day not rendered yet: %s", c.detail);
        call_clear(&c);
        if (s != DUBAN_OK)
            return -1;
        *total += b->count;
    } while (b->count == BATCH);
    return 0;
}

/* Renders stale tasks until none is left or it is stopped. The pass is a
 * full look, span by span of ids, when no full pass has ended yet, when a
 * plan's settings changed since the last one (its version moved), or when
 * it ended FULL_EVERY_S ago: that bounds how long a task rendered under
 * settings changed by a transaction that committed during the pass stays
 * stale. Otherwise it is the day's look. */
static void refresh(struct today_refresher *r)
{
    struct plans plans = {"", 0};
    struct call c;
    call_init(&c, r->db);
    duban_status s = db_read(&c, read_plans, &plans);
    call_clear(&c);
    struct batch b = {.full = s != DUBAN_OK || strcmp(plans.fingerprint, r->plans) != 0 ||
                              time(NULL) - r->full_at >= FULL_EVERY_S,
                     .last = 1};
    int total = 0, ok = 0;
    if (!b.full) {
        ok = look(r, &b, &total) == 0;
    } else if (s == DUBAN_OK) {
        ok = 1;
        for (long long from = 0; ok && from <= plans.last_id; from += SPAN) {
            snprintf(b.from, sizeof b.from, "%lld", from);
            snprintf(b.to, sizeof b.to, "%lld", from + SPAN);
            b.last = from + SPAN > plans.last_id;
            ok = look(r, &b, &total) == 0;
        }
    }
    if (ok && b.full) {
        memcpy(r->plans, plans.fingerprint, sizeof r->plans);
        r->full_at = time(NULL);
    }
    if (total > 0)
        log_msg(LOG_INFO, "rendered %d tasks again for today's colours", total);
}

static void *run(void *arg)
{
    struct today_refresher *r = arg;
    pthread_mutex_lock(&r->lock);
    while (!r->stopping) {
        pthread_mutex_unlock(&r->lock);
        refresh(r);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += EVERY_S;
        pthread_mutex_lock(&r->lock);
        while (!r->stopping && pthread_cond_timedwait(&r->wake, &r->lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

struct today_refresher *today_refresher_start(struct db *db)
{
    struct today_refresher *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->db = db;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->wake, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&r->lock, NULL);
    if (pthread_create(&r->thread, NULL, run, r) != 0) {
        pthread_cond_destroy(&r->wake);
        pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
    }
    return r;
}

void today_refresher_stop(struct today_refresher *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stopping = 1;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
