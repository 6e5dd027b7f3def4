#include "model/today.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "model/log.h"
#include "model/sql.h"

enum {
    BATCH = 200,          /* tasks rendered again per transaction */
    EVERY_S = 60,         /* seconds between looks for stale tasks */
};

struct today_refresher {
    struct db *db;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
};

/* Renders again up to BATCH tasks whose today is stale (another day, or
 * older plan settings), skipping rows other transactions hold; *count is
 * how many. Versions stay: nothing a client wrote has changed, so the
 * journal and the change feed record nothing. The last batch of a pass
 * also removes the rollups' sums of past renders that count no task any
 * more (migration 0024). */
static duban_status refresh_batch(struct call *c, PGconn *conn, void *arg)
{
    static const char sql[] =
        "WITH stale AS (SELECT t.id FROM task t JOIN plan p ON p.id = t.plan_id "
        "WHERE (t.today_on IS DISTINCT FROM current_date OR t.today_plan IS DISTINCT FROM p.version) "
        "AND t.doc <> '' LIMIT 200 FOR UPDATE OF t SKIP LOCKED) "
        "UPDATE task SET doc = NULL FROM stale WHERE task.id = stale.id";
    PGresult *res;
    duban_status s = db_exec(c, conn, &res, sql, 0, NULL);
    if (s == DUBAN_OK) {
        *(int *)arg = atoi(PQcmdTuples(res));
        PQclear(res);
    }
    if (s == DUBAN_OK && *(int *)arg < BATCH)
        s = db_run(c, conn, "SELECT task_sums_fold()", 0, NULL);
    return s;
}

/* Renders stale tasks batch by batch until none is left or it is stopped. */
static void refresh(struct today_refresher *r)
{
    int total = 0, count = BATCH;
    while (count == BATCH) {
        pthread_mutex_lock(&r->lock);
        int stopping = r->stopping;
        pthread_mutex_unlock(&r->lock);
        if (stopping)
            break;
        struct call c;
        call_init(&c, r->db);
        count = 0;
        if (db_write(&c, refresh_batch, &count) != DUBAN_OK) {
            log_msg(LOG_WARN, "tasks of a new day not rendered yet: %s", c.detail);
            count = 0;
        }
        call_clear(&c);
        total += count;
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
