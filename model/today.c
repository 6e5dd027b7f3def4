#include "model/today.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "model/log.h"
#include "model/sql.h"

#define BATCH 200   /* tasks rendered again per transaction */
/* A macro's value as the statements write it. */
#define TEXT_OF(n) #n
#define NUMBER_TEXT(n) TEXT_OF(n)

enum { EVERY_S = 60 };   /* seconds between looks for stale tasks */

struct today_refresher {
    struct db *db;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
};

/* Renders again the first BATCH tasks t of `from_where` (SQL from FROM on)
 * that no other transaction holds. Versions stay: nothing a client wrote
 * has changed, so the journal and the change feed record nothing. */
#define RENDER_AGAIN(from_where)                                                                      \
    "WITH stale AS (SELECT t.id " from_where " AND t.doc <> '' LIMIT " NUMBER_TEXT(BATCH)              \
    " FOR UPDATE OF t SKIP LOCKED) UPDATE task SET doc = NULL FROM stale WHERE task.id = stale.id"

/* The two looks, each a range of the index on (today_on, plan_id,
 * today_plan) (migration 0027): nothing is read when nothing is stale. */
static const char OF_ANOTHER_DAY[] =
    RENDER_AGAIN("FROM task t WHERE (t.today_on < current_date OR t.today_on > current_date)");
static const char OF_OLDER_SETTINGS[] =
    RENDER_AGAIN("FROM plan p JOIN task t ON t.today_on = current_date AND t.plan_id = p.id "
                 "AND t.today_plan < p.version WHERE TRUE");
#undef RENDER_AGAIN

struct batch {
    const char *look;         /* OF_ANOTHER_DAY or OF_OLDER_SETTINGS */
    int last;                 /* the minute's last look: it folds the sums */
    int count;                /* out: how many were rendered again */
};

/* Renders again up to BATCH tasks of b's look. The last batch of the
 * minute's last look also removes the rollups' sums of past renders that
 * count no task any more (migration 0024). */
static duban_status refresh_batch(struct call *c, PGconn *conn, void *arg)
{
    struct batch *b = arg;
    PGresult *res;
    duban_status s = db_exec(c, conn, &res, b->look, 0, NULL);
    if (s == DUBAN_OK) {
        b->count = atoi(PQcmdTuples(res));
        PQclear(res);
    }
    if (s == DUBAN_OK && b->count < BATCH && b->last)
        s = db_run(c, conn, "SELECT task_sums_fold()", 0, NULL);
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

/* Renders the stale tasks until none is left or it is stopped: those of
 * another day, then those of older plan settings. A look that failed is
 * made again at the next minute. */
static void refresh(struct today_refresher *r)
{
    int total = 0;
    struct batch day = {.look = OF_ANOTHER_DAY}, settings = {.look = OF_OLDER_SETTINGS, .last = 1};
    if (look(r, &day, &total) == 0)
        (void)look(r, &settings, &total);
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
