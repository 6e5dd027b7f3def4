#include "model/token_cache.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>
#include <time.h>

#include "model/listen.h"
#include "model/log.h"

enum { SLOTS = 1024, POLL_MS = 250, RECONNECT_MS = 1000 };

struct entry {
    char secret[128];
    struct actor actor;
    time_t loaded_at;
    uint64_t generation;
};

struct token_cache {
    char *url;
    int ttl_s;
    pthread_t thread;
    atomic_int stopping;
    atomic_int listening;        /* entries may be trusted */
    atomic_uint_fast64_t generation;
    pthread_rwlock_t lock;
    struct entry slots[SLOTS];
};

static size_t slot_of(const char *secret)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *secret; secret++)
        h = (h ^ (unsigned char)*secret) * 1099511628211ULL;
    return (size_t)(h % SLOTS);
}

uint64_t token_cache_generation(struct token_cache *cache) { return cache ? atomic_load(&cache->generation) : 0; }

void token_cache_clear(struct token_cache *cache)
{
    if (cache)
        atomic_fetch_add(&cache->generation, 1);
}

int token_cache_get(struct token_cache *cache, const char *secret, struct actor *out)
{
    if (!cache || !atomic_load(&cache->listening) || strlen(secret) >= sizeof cache->slots[0].secret)
        return 0;
    time_t now = time(NULL);
    const struct entry *e = &cache->slots[slot_of(secret)];
    pthread_rwlock_rdlock(&cache->lock);
    int hit = e->generation == atomic_load(&cache->generation) && now - e->loaded_at < cache->ttl_s &&
              (!e->actor.expires_at || now < e->actor.expires_at) && strcmp(e->secret, secret) == 0;
    if (hit)
        *out = e->actor;
    pthread_rwlock_unlock(&cache->lock);
    return hit;
}

void token_cache_put(struct token_cache *cache, const char *secret, const struct actor *actor, uint64_t generation)
{
    if (!cache || strlen(secret) >= sizeof cache->slots[0].secret)
        return;
    struct entry *e = &cache->slots[slot_of(secret)];
    pthread_rwlock_wrlock(&cache->lock);
    if (generation == atomic_load(&cache->generation)) {
        strcpy(e->secret, secret);
        e->actor = *actor;
        e->loaded_at = time(NULL);
        e->generation = generation;
    }
    pthread_rwlock_unlock(&cache->lock);
}

/* Follows notifications until stopped: each one empties the cache; so
 * does losing the connection, after which entries are not trusted until
 * it is back. */
static void *listener(void *arg)
{
    struct token_cache *cache = arg;
    PGconn *conn = NULL;
    while (!atomic_load(&cache->stopping)) {
        if (!conn) {
            conn = db_listen(cache->url, "duban-token-listener", NULL, "duban_tokens");
            token_cache_clear(cache);
            atomic_store(&cache->listening, conn != NULL);
            if (!conn)
                nanosleep(&(struct timespec){.tv_sec = RECONNECT_MS / 1000, .tv_nsec = RECONNECT_MS % 1000 * 1000000L}, NULL);
            continue;
        }
        struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
        if (poll(&pfd, 1, POLL_MS) <= 0)
            continue;
        if (!PQconsumeInput(conn)) {
            log_msg(LOG_WARN, "token listener lost its connection; authenticating through the database");
            atomic_store(&cache->listening, 0);
            token_cache_clear(cache);
            PQfinish(conn);
            conn = NULL;
            continue;
        }
        for (PGnotify *n = PQnotifies(conn); n; n = PQnotifies(conn)) {
            token_cache_clear(cache);
            PQfreemem(n);
        }
    }
    PQfinish(conn);
    return NULL;
}

struct token_cache *token_cache_start(const char *url, int ttl_s)
{
    struct token_cache *cache = calloc(1, sizeof *cache);
    if (!cache)
        return NULL;
    cache->url = strdup(url);
    cache->ttl_s = ttl_s;
    atomic_store(&cache->generation, 1);
    pthread_rwlock_init(&cache->lock, NULL);
    if (!cache->url || pthread_create(&cache->thread, NULL, listener, cache) != 0) {
        pthread_rwlock_destroy(&cache->lock);
        free(cache->url);
        free(cache);
        return NULL;
    }
    return cache;
}

void token_cache_stop(struct token_cache *cache)
{
    if (!cache)
        return;
    atomic_store(&cache->stopping, 1);
    pthread_join(cache->thread, NULL);
    pthread_rwlock_destroy(&cache->lock);
    explicit_bzero(cache->slots, sizeof cache->slots);
    free(cache->url);
    free(cache);
}
