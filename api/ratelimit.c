#include "api/ratelimit.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "model/log.h"
#include "model/rate_budget.h"

/* Each instance counts its own requests and, every SHARE_MS, adds what it
 * counted to the database's shared count of the minute and learns what the
 * other instances counted: a token's budget is one for all instances, and
 * it may be overrun by what the other instances allow in one SHARE_MS. */
enum { SLOTS = 4096, SHARE_MS = 1000 };

struct bucket {
    int64_t token_id;
    long window;     /* minutes since the epoch */
    int count;       /* this instance's requests in the window */
    int reported;    /* of them, those added to the shared count */
    long others;     /* the other instances' requests in the window, when last heard */
};

struct ratelimit {
    int per_minute;
    struct db *db;             /* where counts are shared; NULL: this instance alone */
    pthread_mutex_t lock;
    pthread_cond_t wake;       /* signalled to stop the sharing thread */
    int stopping;
    int sharing;               /* the sharing thread runs */
    pthread_t thread;
    struct bucket buckets[SLOTS];
    struct rate_count pending[SLOTS];   /* the sharing thread's own */
};

/* Adds the counts of the current minute that were not reported yet to the
 * shared ones, and takes the others' counts back. A failure reports them
 * again next time. */
static void share(struct ratelimit *rl)
{
    long window = (long)(time(NULL) / 60);
    size_t n = 0;
    pthread_mutex_lock(&rl->lock);
    for (size_t i = 0; i < SLOTS; i++) {
        struct bucket *b = &rl->buckets[i];
        if (b->window != window || b->count <= b->reported)
            continue;
        rl->pending[n++] = (struct rate_count){b->token_id, window, b->count - b->reported, 0};
        b->reported = b->count;
    }
    pthread_mutex_unlock(&rl->lock);
    if (n == 0)
        return;
    struct call c;
    call_init(&c, rl->db);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    c.deadline_at = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + SHARE_MS;
    duban_status s = rate_budget_add(&c, rl->pending, n, window - 1);
    if (s != DUBAN_OK)
        log_msg(LOG_DEBUG, "rate limits not shared this time: %s", c.detail);
    call_clear(&c);
    pthread_mutex_lock(&rl->lock);
    for (size_t i = 0; i < n; i++) {
        const struct rate_count *r = &rl->pending[i];
        struct bucket *b = &rl->buckets[(uint64_t)r->token_id % SLOTS];
        if (b->token_id != r->token_id || b->window != window)
            continue;
        if (s == DUBAN_OK)
            b->others = r->total - b->reported;
        else
            b->reported -= r->added;
    }
    pthread_mutex_unlock(&rl->lock);
}

static void *sharer(void *arg)
{
    struct ratelimit *rl = arg;
    pthread_mutex_lock(&rl->lock);
    while (!rl->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += SHARE_MS / 1000;
        while (!rl->stopping && pthread_cond_timedwait(&rl->wake, &rl->lock, &until) != ETIMEDOUT)
            ;
        if (rl->stopping)
            break;
        pthread_mutex_unlock(&rl->lock);
        share(rl);
        pthread_mutex_lock(&rl->lock);
    }
    pthread_mutex_unlock(&rl->lock);
    return NULL;
}

struct ratelimit *ratelimit_new(int per_minute, struct db *db)
{
    struct ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    rl->per_minute = per_minute;
    rl->db = db;
    pthread_mutex_init(&rl->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&rl->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (db && per_minute > 0) {
        if (pthread_create(&rl->thread, NULL, sharer, rl) != 0) {
            ratelimit_free(rl);
            return NULL;
        }
        rl->sharing = 1;
    }
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    if (rl->sharing) {
        pthread_mutex_lock(&rl->lock);
        rl->stopping = 1;
        pthread_cond_signal(&rl->wake);
        pthread_mutex_unlock(&rl->lock);
        pthread_join(rl->thread, NULL);
    }
    pthread_cond_destroy(&rl->wake);
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

/* Tokens share a bucket only when their ids collide modulo SLOTS; the
 * bucket then resets to the newcomer, which errs on the side of allowing. */
int ratelimit_take(struct ratelimit *rl, int64_t token_id)
{
    if (!rl || rl->per_minute <= 0)
        return 0;
    time_t now = time(NULL);
    long window = (long)(now / 60);
    struct bucket *b = &rl->buckets[(uint64_t)token_id % SLOTS];
    int wait = 0;
    pthread_mutex_lock(&rl->lock);
    if (b->token_id != token_id || b->window != window)
        *b = (struct bucket){.token_id = token_id, .window = window};
    if (b->count + b->others >= rl->per_minute)
        wait = (int)(60 - now % 60);
    else
        b->count++;
    pthread_mutex_unlock(&rl->lock);
    return wait;
}
