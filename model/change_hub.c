#include "model/change_hub.h"
#include "model/change_sql.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "model/list_tags.h"
#include "model/listen.h"
#include "model/log.h"
#include "model/statements.h"

enum {
    RING_SIZE = 4096,            /* events kept in memory at most */
    RING_BYTES = 16 << 20,       /* and their texts' bytes */
    READ_BATCH = 500,            /* events the hub reads per statement */
    CATCH_UP = 500,              /* events a stream behind the ring reads per statement */
    STREAM_BATCH = 200,          /* events a stream takes from the ring at once */
    POLL_MS = 1000,              /* a read without notification at least this often */
    READ_GAP_MS = 20,            /* between reads at least: under a stream of writes, each read
                                    takes what came meanwhile and wakes the streams once */
    HELD_POLL_MS = 50,           /* while committed events wait behind a running transaction */
    RECONNECT_MS = 1000,
    ANNOUNCE_GAP_MS = 20,        /* between two announcements of this duban's commits at least (the
                                    hub reads no more often: READ_GAP_MS) */
    PURGE_EVERY_S = 60,
    PURGE_BATCH = 1000,
    PURGE_ROUNDS = 20,           /* batches per purge at most */
};

struct change_hub {
    struct db *db;
    char *url;
    char options[128];
    int max_streams, retention_days;
    pthread_t thread;
    atomic_int stopping;
    pthread_mutex_t lock;
    pthread_cond_t grown;            /* the ring grew, or the hub stops */
    int open;                        /* streams open */
    int live;                        /* the ring holds every event after floor */
    struct change_position floor;    /* events after floor, up to last, are in the ring */
    struct change_position last;
    struct change_item ring[RING_SIZE];
    size_t head, count, bytes;       /* the oldest item, how many, their texts' size */
    struct change_stream *armed;     /* streams waiting to be woken */
    atomic_int announce;             /* a commit of this duban awaits its announcement */
    int wake_fd;                     /* an eventfd: the hub's thread wakes when a commit comes */
};

struct change_stream {
    struct change_hub *hub;
    struct change_filter filter;
    struct change_position at;       /* every event up to here was given */
    /* armed by change_stream_take (under the hub's lock): who to wake, and by when */
    change_wake_fn wake;
    void *wake_arg;
    int64_t wake_at;
    struct change_stream *prev, *next;   /* in the hub's list of armed streams */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct change_item *ring_at(struct change_hub *hub, size_t i) { return &hub->ring[(hub->head + i) % RING_SIZE]; }

static size_t item_bytes(const struct change_item *it)
{
    return strlen(it->cursor) + strlen(it->type) + strlen(it->json) + 3;
}

/* Under the lock: drops the oldest item; the floor moves up to it. */
static void ring_drop(struct change_hub *hub)
{
    struct change_item *it = ring_at(hub, 0);
    hub->floor = it->at;
    hub->bytes -= item_bytes(it);
    free(it->cursor);
    hub->head = (hub->head + 1) % RING_SIZE;
    hub->count--;
}

/* Under the lock: takes over the page's items (they become the ring's). */
static void ring_append(struct change_hub *hub, struct change_page *page)
{
    for (size_t i = 0; i < page->count; i++) {
        size_t size = item_bytes(&page->items[i]);
        while (hub->count > 0 && (hub->count == RING_SIZE || hub->bytes + size > RING_BYTES))
            ring_drop(hub);
        *ring_at(hub, hub->count++) = page->items[i];
        hub->bytes += size;
        page->items[i].cursor = NULL;
    }
    if (change_position_cmp(&page->next, &hub->last) > 0)
        hub->last = page->next;
}

/* Under the lock: takes an armed stream off the list; returns its waker. */
static change_wake_fn disarm(struct change_hub *hub, struct change_stream *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        hub->armed = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    change_wake_fn wake = s->wake;
    s->wake = NULL;
    return wake;
}

/* Under the lock: wakes the armed streams (each once), all of them, or
 * (due >= 0) those whose time came by `due`. */
static void fire_armed(struct change_hub *hub, int64_t due)
{
    for (struct change_stream *s = hub->armed, *next; s; s = next) {
        next = s->next;
        if (due < 0 || s->wake_at <= due)
            disarm(hub, s)(s->wake_arg);
    }
}

/* Reads every event after the ring's last into it, waking the streams.
 * Returns -1 when the connection is lost, else whether events wait behind
 * a transaction still running (read again soon). */
static int read_new(struct change_hub *hub, PGconn *conn)
{
    static const struct change_filter all = {0, 0};
    for (;;) {
        struct call c;
        call_init(&c, hub->db);
        pthread_mutex_lock(&hub->lock);
        struct change_position from = hub->last;
        int live = hub->live;
        pthread_mutex_unlock(&hub->lock);
        struct change_page page;
        duban_status s = change_page_on(&c, conn, &from, &all, live ? READ_BATCH : 0, &page);
        int lost = c.connection_lost;
        if (s == DUBAN_GONE || (s != DUBAN_OK && !lost))   /* behind the purge, or a fault: start afresh */
            log_msg(LOG_WARN, "change hub: %s; following the feed from its newest event", c.detail);
        call_clear(&c);
        if (s != DUBAN_OK) {
            change_page_clear(&page);
            if (lost)
                return -1;
            pthread_mutex_lock(&hub->lock);
            hub->live = 0;
            pthread_mutex_unlock(&hub->lock);
            return 0;
        }
        pthread_mutex_lock(&hub->lock);
        if (!hub->live) {   /* the ring starts here: streams before it catch up through the pool */
            while (hub->count > 0)
                ring_drop(hub);
            hub->floor = hub->last = page.next;
            hub->live = 1;
        } else {
            ring_append(hub, &page);
        }
        pthread_cond_broadcast(&hub->grown);
        fire_armed(hub, -1);
        pthread_mutex_unlock(&hub->lock);
        int more = page.has_more || !live, held = page.held;
        change_page_clear(&page);
        if (!more)
            return held;
    }
}

/* Whether anyone takes events from the ring. While no one does, the hub
 * reads nothing (each write would otherwise cost a read of its events)
 * and its ring lapses: the next stream catches up through the pool, and
 * the ring starts afresh at the hub's next read. */
static int followed(struct change_hub *hub)
{
    pthread_mutex_lock(&hub->lock);
    int taken = hub->open > 0;
    if (!taken)
        hub->live = 0;
    pthread_mutex_unlock(&hub->lock);
    return taken;
}

/* Purges old events in small batches. */
static void purge(struct change_hub *hub, PGconn *conn)
{
    long removed = PURGE_BATCH;
    for (int round = 0; round < PURGE_ROUNDS && removed == PURGE_BATCH && !atomic_load(&hub->stopping); round++) {
        struct call c;
        call_init(&c, hub->db);
        if (change_purge_on(&c, conn, hub->retention_days, PURGE_BATCH, &removed) != DUBAN_OK)
            removed = 0;
        call_clear(&c);
    }
}

static void pause_ms(int ms) { nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L}, NULL); }

void change_hub_committed(void *arg)
{
    struct change_hub *hub = arg;
    uint64_t one = 1;
    /* the first commit since the last announcement wakes the thread */
    if (!atomic_exchange(&hub->announce, 1))
        (void)!write(hub->wake_fd, &one, sizeof one);
}

/* Announces this duban's commits on conn when one awaits and the last
 * announcement is ANNOUNCE_GAP_MS old; *last is its time. Returns how many
 * ms to wait before the next may go (0: none waits), or -1 when the
 * connection failed (the announcement is then made again once it is back). */
static int announce(struct change_hub *hub, PGconn *conn, int64_t *last)
{
    uint64_t drained;
    if (read(hub->wake_fd, &drained, sizeof drained) < 0 && errno != EAGAIN)
        return 0;
    if (!atomic_load(&hub->announce))
        return 0;
    int64_t now = now_ms();
    if (now < *last + ANNOUNCE_GAP_MS)
        return (int)(*last + ANNOUNCE_GAP_MS - now);
    atomic_store(&hub->announce, 0);
    PGresult *res = PQexec(conn, "NOTIFY duban_changes");
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    *last = now;
    if (!ok)
        atomic_store(&hub->announce, 1);
    return ok ? 0 : -1;
}

/* The hub's thread: listens, announces this duban's commits, reads what is
 * new, purges, until stopped. */
static void *follow(void *arg)
{
    struct change_hub *hub = arg;
    PGconn *conn = NULL;
    int held = 0;
    int64_t next_read = 0, last_read = 0, next_purge = 0, last_announce = 0;
    int announce_in = 0;
    struct statements *prepared = statements_new();
    PGconn *own_conn = NULL;
    while (!atomic_load(&hub->stopping)) {
        if (!conn) {
            if (!(conn = db_listen(hub->url, "duban-change-hub", hub->options, "duban_changes"))) {
                pause_ms(RECONNECT_MS);
                continue;
            }
            list_tags_hearing(1);   /* from now on every write elsewhere is heard of */
        }
        if (prepared && own_conn != conn) {   /* its statements prepared once per connection */
            statements_reset(prepared);
            db_adopt(conn, prepared);
            own_conn = conn;
        }
        int64_t now = now_ms();
        struct pollfd pfd[2] = {{.fd = PQsocket(conn), .events = POLLIN}, {.fd = hub->wake_fd, .events = POLLIN}};
        int wait = (int)(next_read > now ? next_read - now : 0);
        if (wait > POLL_MS)
            wait = POLL_MS;
        if (announce_in > 0 && announce_in < wait)
            wait = announce_in;
        int ready = poll(pfd, 2, wait);
        if (ready > 0 && (pfd[0].revents & POLLIN) && !PQconsumeInput(conn))
            held = -1;
        if (held >= 0 && (announce_in = announce(hub, conn, &last_announce)) < 0)
            held = -1;
        for (PGnotify *n = conn ? PQnotifies(conn) : NULL; n; n = PQnotifies(conn)) {
            list_tags_forget();
            if (next_read > last_read + READ_GAP_MS)
                next_read = last_read + READ_GAP_MS;
            PQfreemem(n);
        }
        if (held >= 0 && now_ms() >= next_read) {
            last_read = now_ms();
            held = followed(hub) ? read_new(hub, conn) : 0;
            next_read = last_read + (held > 0 ? HELD_POLL_MS : POLL_MS);
        }
        pthread_mutex_lock(&hub->lock);
        fire_armed(hub, now_ms());
        pthread_mutex_unlock(&hub->lock);
        if (held >= 0 && hub->retention_days > 0 && now_ms() >= next_purge) {
            purge(hub, conn);
            next_purge = now_ms() + PURGE_EVERY_S * 1000;
        }
        if (held < 0) {
            list_tags_hearing(0);
            log_msg(LOG_WARN, "change hub lost its database connection; reconnecting");
            db_adopt(NULL, NULL);
            PQfinish(conn);
            conn = own_conn = NULL;
            held = 0;
            next_read = 0;
        }
    }
    list_tags_hearing(0);
    db_adopt(NULL, NULL);
    statements_free(prepared);
    PQfinish(conn);
    return NULL;
}

struct change_hub *change_hub_start(struct db *db, const struct change_hub_config *config)
{
    struct change_hub *hub = calloc(1, sizeof *hub);
    if (!hub)
        return NULL;
    hub->db = db;
    hub->url = strdup(config->url);
    hub->max_streams = config->max_streams;
    hub->retention_days = config->retention_days;
    snprintf(hub->options, sizeof hub->options, "-c TimeZone=%s", config->timezone);
    hub->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&hub->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&hub->grown, &attr);
    pthread_condattr_destroy(&attr);
    if (!hub->url || hub->wake_fd < 0 || pthread_create(&hub->thread, NULL, follow, hub) != 0) {
        if (hub->wake_fd >= 0)
            close(hub->wake_fd);
        pthread_cond_destroy(&hub->grown);
        pthread_mutex_destroy(&hub->lock);
        free(hub->url);
        free(hub);
        return NULL;
    }
    return hub;
}

void change_hub_stop(struct change_hub *hub)
{
    if (!hub || atomic_exchange(&hub->stopping, 1))
        return;
    pthread_mutex_lock(&hub->lock);
    pthread_cond_broadcast(&hub->grown);
    fire_armed(hub, -1);
    pthread_mutex_unlock(&hub->lock);
    pthread_join(hub->thread, NULL);
}

void change_hub_free(struct change_hub *hub)
{
    if (!hub)
        return;
    change_hub_stop(hub);
    pthread_mutex_lock(&hub->lock);
    int open = hub->open;
    while (hub->count > 0)
        ring_drop(hub);
    pthread_mutex_unlock(&hub->lock);
    if (open > 0) {   /* a stream still refers to it: better kept than freed under it */
        log_msg(LOG_WARN, "change hub: %d streams still open at exit", open);
        return;
    }
    close(hub->wake_fd);
    pthread_cond_destroy(&hub->grown);
    pthread_mutex_destroy(&hub->lock);
    free(hub->url);
    free(hub);
}

int change_hub_streams(struct change_hub *hub)
{
    pthread_mutex_lock(&hub->lock);
    int open = hub->open;
    pthread_mutex_unlock(&hub->lock);
    return open;
}

duban_status change_stream_open(struct change_hub *hub, struct call *c, const char *cursor,
                                const struct change_filter *f, struct change_stream **out, struct change_page *first)
{
    *out = NULL;
    memset(first, 0, sizeof *first);
    pthread_mutex_lock(&hub->lock);
    int full = hub->open >= hub->max_streams || atomic_load(&hub->stopping);
    if (!full)
        hub->open++;
    pthread_mutex_unlock(&hub->lock);
    if (full)
        return call_fail(c, DUBAN_UNAVAILABLE, "%d change streams are open, as many as this service serves "
                         "(DUBAN_MAX_STREAMS); try again later", hub->max_streams);
    struct change_stream *s = calloc(1, sizeof *s);
    duban_status status = s ? DUBAN_OK : call_fail(c, DUBAN_ERROR, "out of memory");
    if (status == DUBAN_OK && cursor) {
        status = changes_read(c, cursor, f, CATCH_UP, first);
    } else if (status == DUBAN_OK) {   /* from now on */
        pthread_mutex_lock(&hub->lock);
        int live = hub->live;
        first->next = hub->last;
        pthread_mutex_unlock(&hub->lock);
        static const struct change_position start = {0, 0};
        if (!live)
            status = changes_read_from(c, &start, f, 0, first);
    }
    if (status != DUBAN_OK) {
        change_page_clear(first);
        free(s);
        pthread_mutex_lock(&hub->lock);
        hub->open--;
        pthread_mutex_unlock(&hub->lock);
        return status;
    }
    s->hub = hub;
    s->filter = *f;
    s->at = first->next;
    *out = s;
    return DUBAN_OK;
}

void change_stream_close(struct change_stream *s)
{
    if (!s)
        return;
    struct change_hub *hub = s->hub;
    pthread_mutex_lock(&hub->lock);
    if (s->wake)
        disarm(hub, s);
    hub->open--;
    pthread_mutex_unlock(&hub->lock);
    free(s);
}

static int wanted(const struct change_filter *f, const struct change_item *it)
{
    return (!f->entities || (f->entities & it->entity)) && (!f->plan_id || f->plan_id == it->plan_id);
}

/* Under the lock: the index of the first ring item after `at`. */
static size_t ring_after(struct change_hub *hub, const struct change_position *at)
{
    size_t lo = 0, hi = hub->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (change_position_cmp(&ring_at(hub, mid)->at, at) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Under the lock: copies the stream's next wanted items from the ring
 * into out and moves the stream on. -1 when out of memory. */
static int take_from_ring(struct change_stream *s, struct change_page *out)
{
    struct change_hub *hub = s->hub;
    size_t i = ring_after(hub, &s->at), n = 0;
    out->items = calloc(STREAM_BATCH, sizeof *out->items);
    if (!out->items)
        return -1;
    for (; i < hub->count && n < STREAM_BATCH; i++) {
        const struct change_item *it = ring_at(hub, i);
        if (!wanted(&s->filter, it))
            continue;
        size_t lc = strlen(it->cursor) + 1, lt = strlen(it->type) + 1, lj = strlen(it->json) + 1;
        char *block = malloc(lc + lt + lj);
        if (!block)
            return -1;
        out->items[n] = *it;
        out->items[n].cursor = memcpy(block, it->cursor, lc);
        out->items[n].type = memcpy(block + lc, it->type, lt);
        out->items[n].json = memcpy(block + lc + lt, it->json, lj);
        out->count = ++n;
    }
    s->at = n == STREAM_BATCH ? out->items[n - 1].at : hub->last;
    out->next = s->at;
    out->has_more = n == STREAM_BATCH;
    return 0;
}

/* A stream behind the ring (or with no ring to follow) reads a page
 * through the pool. */
static duban_status catch_up(struct change_stream *s, struct change_page *out)
{
    struct call c;
    call_init(&c, s->hub->db);
    duban_status status = changes_read_from(&c, &s->at, &s->filter, CATCH_UP, out);
    if (status == DUBAN_GONE)
        log_msg(LOG_INFO, "change stream ended: it fell behind the purge");
    call_clear(&c);
    if (status == DUBAN_OK)
        s->at = out->next;
    return status == DUBAN_GONE ? DUBAN_GONE : DUBAN_OK;   /* a failed read is tried again on the next wait */
}

enum step { STEP_DONE, STEP_EMPTY, STEP_CATCH_UP };

/* Under the lock: gives the stream what the ring holds after it (DONE,
 * with *status), or says that nothing is there yet (EMPTY) or that the
 * stream must read through the pool (CATCH_UP: behind the ring, or no
 * ring yet). */
static enum step ring_step(struct change_stream *s, struct change_page *out, duban_status *status)
{
    struct change_hub *hub = s->hub;
    *status = DUBAN_OK;
    if (atomic_load(&hub->stopping)) {
        *status = DUBAN_GONE;
        return STEP_DONE;
    }
    if (!hub->live || change_position_cmp(&s->at, &hub->floor) < 0)
        return STEP_CATCH_UP;
    if (change_position_cmp(&s->at, &hub->last) < 0) {
        int failed = take_from_ring(s, out);
        if (failed)
            change_page_clear(out);
        if (failed || out->count > 0)
            return STEP_DONE;
        free(out->items);
        out->items = NULL;
    }
    return STEP_EMPTY;
}

duban_status change_stream_next(struct change_stream *s, int wait_ms, struct change_page *out)
{
    struct change_hub *hub = s->hub;
    memset(out, 0, sizeof *out);
    int64_t until = now_ms() + wait_ms;
    struct timespec deadline = {.tv_sec = until / 1000, .tv_nsec = until % 1000 * 1000000L};
    duban_status status;
    pthread_mutex_lock(&hub->lock);
    for (;;) {
        enum step step = ring_step(s, out, &status);
        if (step == STEP_DONE) {
            pthread_mutex_unlock(&hub->lock);
            return status;
        }
        if (step == STEP_CATCH_UP) {
            int live = hub->live;
            pthread_mutex_unlock(&hub->lock);
            status = catch_up(s, out);
            if (status == DUBAN_OK && out->count == 0 && !live)   /* no hub yet: read again soon */
                pause_ms(wait_ms < RECONNECT_MS ? wait_ms : RECONNECT_MS);
            return status;
        }
        if (pthread_cond_timedwait(&hub->grown, &hub->lock, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&hub->lock);
            return DUBAN_OK;
        }
    }
}

duban_status change_stream_take(struct change_stream *s, struct change_page *out, int64_t wake_at, change_wake_fn wake,
                                void *arg)
{
    struct change_hub *hub = s->hub;
    memset(out, 0, sizeof *out);
    duban_status status;
    pthread_mutex_lock(&hub->lock);
    enum step step = ring_step(s, out, &status);
    if (step == STEP_CATCH_UP) {
        pthread_mutex_unlock(&hub->lock);
        status = catch_up(s, out);
        if (status != DUBAN_OK || out->count > 0)
            return status;
        change_page_clear(out);
        pthread_mutex_lock(&hub->lock);
        step = ring_step(s, out, &status);   /* the ring may have grown meanwhile */
        if (step == STEP_CATCH_UP) {         /* no hub yet, or still behind: read again soon */
            step = STEP_EMPTY;
            wake_at = now_ms() + RECONNECT_MS < wake_at ? now_ms() + RECONNECT_MS : wake_at;
        }
    }
    if (step == STEP_EMPTY && !s->wake) {
        s->wake = wake;
        s->wake_arg = arg;
        s->wake_at = wake_at;
        s->prev = NULL;
        s->next = hub->armed;
        if (hub->armed)
            hub->armed->prev = s;
        hub->armed = s;
    }
    pthread_mutex_unlock(&hub->lock);
    return status;
}
