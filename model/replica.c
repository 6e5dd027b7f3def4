#include "model/replica.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/sql.h"

/* What is known of the standby is trusted for FRESH_MS; a read waiting
 * for a token asks again every STEP_MS; asking takes at most ASK_MS; a
 * standby that failed is left alone for RETRY_MS. */
enum { FRESH_MS = 100, STEP_MS = 10, ASK_MS = 1000, RETRY_MS = 1000 };

/* The standby as last asked. */
struct standby_now {
    uint64_t replayed;   /* WAL position it had replayed */
    int64_t lag_ms;      /* how far behind the primary it was */
    int primary;         /* the read URL led to a primary: there is no standby */
};

struct replica {
    struct db *pool;
    int wait_ms, max_lag_ms;
    pthread_mutex_t lock;
    struct standby_now known;
    int64_t asked_at;     /* CLOCK_MONOTONIC ms of `known`; 0: ask before trusting it */
    int64_t down_until;   /* it failed: reads go to the primary until then */
    atomic_long reads_standby, reads_primary;
};

static int64_t clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct replica *replica_open(const struct db_config *config)
{
    struct replica *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    struct db_config own = *config;
    own.url = config->read_url;
    own.read_url = NULL;
    r->pool = db_open(&own);
    r->wait_ms = config->read_wait_ms;
    r->max_lag_ms = config->max_replica_lag_ms;
    pthread_mutex_init(&r->lock, NULL);
    if (!r->pool) {
        replica_close(r);
        return NULL;
    }
    return r;
}

void replica_close(struct replica *r)
{
    if (!r)
        return;
    db_close(r->pool);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

struct db *replica_pool(struct replica *r) { return r->pool; }

/* Whether the server is a standby, how far it has replayed, and how far
 * behind it is: a standby that has replayed all it received while
 * streaming is not behind; otherwise it is as far behind as its last
 * replayed commit is old (which errs towards the primary when the primary
 * was idle before). Without the pg_read_all_stats role the receiver's state
 * is hidden and the second rule always applies. */
static const char ASK[] =
    "SELECT pg_is_in_recovery(), coalesce(pg_last_wal_replay_lsn() - '0/0'::pg_lsn, 0)::bigint::text, "
    "CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() "
    " AND EXISTS (SELECT FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 0 "
    "ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000, 1e12) END::bigint::text";

static duban_status ask_work(struct call *c, PGconn *conn, void *arg)
{
    struct standby_now *out = arg;
    PGresult *res;
    duban_status s = db_exec(c, conn, &res, ASK, 0, NULL);
    if (s != DUBAN_OK)
        return s;
    out->primary = strcmp(PQgetvalue(res, 0, 0), "t") != 0;
    out->replayed = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    out->lag_ms = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    PQclear(res);
    return DUBAN_OK;
}

/* Asks the standby where it is, within ASK_MS and the deadline of c (0:
 * none), and remembers the answer. 0 on success; a failure keeps reads
 * away from it for RETRY_MS. So does a primary at the read URL (after a
 * failover, before a new standby is made): reads go to the primary's
 * pool, and the read pool's sessions are opened anew, so that the next
 * ask finds a standby that is back. */
static int ask(struct replica *r, int64_t deadline_at, struct standby_now *out)
{
    struct call scratch;
    call_init(&scratch, r->pool);
    int64_t until = clock_ms() + ASK_MS;
    scratch.deadline_at = deadline_at > 0 && deadline_at < until ? deadline_at : until;
    duban_status s = db_read(&scratch, ask_work, out);
    call_clear(&scratch);
    if (s == DUBAN_OK && out->primary) {
        db_reconnect_all(r->pool);
        s = DUBAN_UNAVAILABLE;
    }
    pthread_mutex_lock(&r->lock);
    if (s == DUBAN_OK) {
        r->known = *out;
        r->asked_at = clock_ms();
    } else {
        r->asked_at = 0;
        r->down_until = clock_ms() + RETRY_MS;
    }
    pthread_mutex_unlock(&r->lock);
    return s == DUBAN_OK ? 0 : -1;
}

/* A token is a WAL position as PostgreSQL writes it: "X/Y", each half 1 to
 * 8 hexadecimal digits. 1 when text is one, with its value in *out. */
static int token_parse(const char *text, uint64_t *out)
{
    static const char hex[] = "0123456789ABCDEF";
    uint64_t half[2] = {0, 0};
    int part = 0, digits = 0;
    for (const char *p = text; *p; p++) {
        const char *d = strchr(hex, *p >= 'a' && *p <= 'f' ? *p - 'a' + 'A' : *p);
        if (*p == '/' && part == 0 && digits > 0) {
            part = 1;
            digits = 0;
        } else if (!d || ++digits > 8) {
            return 0;
        } else {
            half[part] = half[part] * 16 + (uint64_t)(d - hex);
        }
    }
    *out = half[0] << 32 | half[1];
    return part == 1 && digits > 0;
}

/* Counts where a read went; returns chosen. */
static int counted(struct replica *r, int chosen)
{
    atomic_fetch_add(chosen ? &r->reads_standby : &r->reads_primary, 1);
    return chosen;
}

int replica_chosen(struct replica *r, struct call *c)
{
    uint64_t token = 0;
    if (c->read_after && !token_parse(c->read_after, &token))
        return counted(r, 0);
    int64_t give_up = clock_ms() + r->wait_ms;
    if (c->deadline_at > 0 && c->deadline_at < give_up)
        give_up = c->deadline_at;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        struct standby_now known = r->known;
        int64_t asked_at = r->asked_at, down_until = r->down_until;
        pthread_mutex_unlock(&r->lock);
        int64_t now = clock_ms();
        if (now < down_until)
            return counted(r, 0);
        int64_t age = now - asked_at;
        if (asked_at == 0 || age >= FRESH_MS || known.replayed < token) {
            if (ask(r, c->deadline_at, &known) != 0)
                return counted(r, 0);
            age = 0;
        }
        if (known.lag_ms + age > r->max_lag_ms)
            return counted(r, 0);
        if (known.replayed >= token)
            return counted(r, 1);
        if (clock_ms() + STEP_MS > give_up)
            return counted(r, 0);
        nanosleep(&(struct timespec){.tv_nsec = STEP_MS * 1000000L}, NULL);
    }
}

void replica_failed(struct replica *r)
{
    pthread_mutex_lock(&r->lock);
    r->asked_at = 0;
    r->down_until = clock_ms() + RETRY_MS;
    pthread_mutex_unlock(&r->lock);
}

/* The insert position rather than the write position: with
 * synchronous_commit off the commit record may not be written yet when
 * COMMIT returns, and a token before it would let a standby answer
 * without the write. */
void replica_note_commit(struct call *c, PGconn *conn)
{
    if (!c->written)
        return;
    c->written[0] = '\0';
    struct call scratch;
    call_init(&scratch, c->db);
    PGresult *res;
    if (db_exec(&scratch, conn, &res, "SELECT pg_current_wal_insert_lsn()::text", 0, NULL) == DUBAN_OK) {
        snprintf(c->written, CONSISTENCY_TOKEN_SIZE, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    c->connection_lost |= scratch.connection_lost;
    call_clear(&scratch);
}

const char *replica_state(struct replica *r)
{
    struct standby_now now = {0};
    if (ask(r, 0, &now) != 0)
        return now.primary ? "primary" : "unreachable";
    return now.lag_ms > r->max_lag_ms ? "lagging" : "up";
}

void replica_counts(struct replica *r, long *standby, long *primary)
{
    *standby = atomic_load(&r->reads_standby);
    *primary = atomic_load(&r->reads_primary);
}
