#include "api/ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

enum { SLOTS = 4096 };

struct bucket {
    int64_t token_id;
    long window;     /* minutes since the epoch */
    int count;
};

struct ratelimit {
    int per_minute;
    pthread_mutex_t lock;
    struct bucket buckets[SLOTS];
};

struct ratelimit *ratelimit_new(int per_minute)
{
    struct ratelimit *rl = calloc(1, sizeof *rl);
    if (rl) {
        rl->per_minute = per_minute;
        pthread_mutex_init(&rl->lock, NULL);
    }
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (rl)
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
    if (b->token_id != token_id || b->window != window) {
        b->token_id = token_id;
        b->window = window;
        b->count = 0;
    }
    if (b->count >= rl->per_minute)
        wait = (int)(60 - now % 60);
    else
        b->count++;
    pthread_mutex_unlock(&rl->lock);
    return wait;
}
