#include "model/webhook_queue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "model/resource_def.h"
#include "model/sql.h"
#include "model/webhook_payload.h"

/* A lease outlasts any one send (10 s at most) with a wide margin; it is
 * renewed before each send. */
#define LEASE "interval '60 seconds'"

/* Events looked at per step: a subscription to rare events moves through
 * the others a window at a time. */
#define WINDOW "500"
enum { WINDOWS_PER_STEP = 20 };

static const int DEFAULT_DELAYS[] = {5, 300, 1800, 7200, 18000, 36000, 36000};

static struct webhook_policy policy = {
    .delays = {5, 300, 1800, 7200, 18000, 36000, 36000}, .count = 7, .disable_after = 5};

void webhook_policy_set(const struct webhook_policy *p) { policy = *p; }

int webhook_schedule_parse(const char *text, struct webhook_policy *p, char *err, size_t size)
{
    p->count = 0;
    if (!text || !*text) {
        p->count = (int)(sizeof DEFAULT_DELAYS / sizeof *DEFAULT_DELAYS);
        memcpy(p->delays, DEFAULT_DELAYS, sizeof DEFAULT_DELAYS);
        return 0;
    }
    for (const char *s = text;;) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        while (*end == ' ')
            end++;
        if (end == s || errno || v < 1 || v > 7 * 86400 || (*end && *end != ',') || p->count == WEBHOOK_MAX_RETRIES) {
            snprintf(err, size, "expected up to %d delays in seconds (1 to 604800) separated by commas, such as 5,300,1800",
                     WEBHOOK_MAX_RETRIES);
            return -1;
        }
        p->delays[p->count++] = (int)v;
        if (!*end)
            return 0;
        s = end + 1;
    }
}

void webhook_job_clear(struct webhook_job *job)
{
    free(job->url);
    free(job->body);
    if (job->secret)
        explicit_bzero(job->secret, strlen(job->secret));
    free(job->secret);
    job->url = job->body = job->secret = NULL;
    job->manual_id = 0;
    job->event_xid[0] = job->event_id[0] = job->type[0] = '\0';
}

/* Copies column col of row 0 into a buffer of size bytes. */
static void copy_value(const PGresult *res, int col, char *out, size_t size)
{
    snprintf(out, size, "%s", PQgetvalue(res, 0, col));
}

struct claim_args {
    int lease_pid;
    char *busy;     /* a PostgreSQL array literal of ids */
    struct webhook_job *job;
};

/* One claim: the subscription due longest ago among those with work (a
 * queued send; or, when enabled and due, an event in delivery or a new
 * event in the feed) whose lease is free (none, expired, or its backend
 * gone). Nothing is claimed for a backend that is gone itself (the
 * listening connection was lost, and the worker does not know yet). */
static duban_status claim_work(struct call *c, PGconn *conn, void *arg)
{
    struct claim_args *a = arg;
    char pid[16];
    snprintf(pid, sizeof pid, "%d", a->lease_pid);
    const char *params[] = {pid, a->busy};
    PGresult *res;
    duban_status s = db_exec(
        c, conn, &res,
        "WITH candidate AS (SELECT s.webhook_id FROM webhook_state s JOIN webhook_subscription w ON w.id = s.webhook_id "
        "WHERE (s.lease IS NULL OR s.leased_until < now() "
        "       OR s.lease_pid NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL)) "
        "AND s.webhook_id <> ALL ($2::bigint[]) "
        "AND $1::integer IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL) "
        "AND (EXISTS (SELECT 1 FROM webhook_manual m WHERE m.webhook_id = s.webhook_id) "
        "     OR (w.enabled AND s.due_at <= now() AND (s.event_xid IS NOT NULL OR EXISTS ("
        "         SELECT 1 FROM change_event e WHERE (e.xid, e.seq) > (s.after_xid, s.after_seq) "
        "         AND e.xid < pg_snapshot_xmin(pg_current_snapshot()))))) "
        "ORDER BY s.due_at LIMIT 1 FOR UPDATE OF s SKIP LOCKED) "
        "UPDATE webhook_state s SET lease = gen_random_uuid(), lease_pid = $1, leased_until = now() + " LEASE " "
        "FROM candidate WHERE s.webhook_id = candidate.webhook_id RETURNING s.webhook_id, s.lease",
        2, params);
    if (s != DUBAN_OK)
        return s;
    if (PQntuples(res) == 1) {
        a->job->webhook_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        copy_value(res, 1, a->job->lease, sizeof a->job->lease);
    }
    PQclear(res);
    return DUBAN_OK;
}

duban_status webhook_claim(struct call *c, int lease_pid, const int64_t *busy, size_t nbusy, struct webhook_job *job)
{
    memset(job, 0, sizeof *job);
    size_t size = 3 + nbusy * 21;
    struct claim_args a = {lease_pid, malloc(size), job};
    if (!a.busy)
        return call_fail(c, DUBAN_ERROR, "out of memory");
    size_t used = (size_t)snprintf(a.busy, size, "{");
    for (size_t i = 0; i < nbusy; i++)
        used += (size_t)snprintf(a.busy + used, size - used, "%s%lld", i ? "," : "", (long long)busy[i]);
    snprintf(a.busy + used, size - used, "}");
    duban_status s = db_autocommit(c, claim_work, &a);   /* one statement: atomic by itself */
    free(a.busy);
    if (s != DUBAN_OK)
        memset(job, 0, sizeof *job);
    return s;
}

/* Copies the send of row 0 of res (event id, type, payload) into job. */
static duban_status take_send(struct call *c, struct webhook_job *job, const PGresult *res)
{
    copy_value(res, 0, job->event_id, sizeof job->event_id);
    copy_value(res, 1, job->type, sizeof job->type);
    job->body = strdup(PQgetvalue(res, 0, 2));
    return job->body ? DUBAN_OK : call_fail(c, DUBAN_ERROR, "out of memory");
}

/* The first queued send of the subscription, if any. */
static duban_status next_queued(struct call *c, PGconn *conn, struct webhook_job *job, int *found)
{
    char id[24];
    id_text(job->webhook_id, id);
    const char *params[] = {id};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "SELECT event_id, event_type, payload, id FROM webhook_manual WHERE webhook_id = $1 "
                             "ORDER BY id LIMIT 1",
                             1, params);
    if (s != DUBAN_OK)
        return s;
    *found = PQntuples(res) == 1;
    if (*found) {
        job->manual_id = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
        job->attempt = 1;
        s = take_send(c, job, res);
    }
    PQclear(res);
    return s;
}

/* The event in delivery, when it is still in the feed. */
static duban_status current_event(struct call *c, PGconn *conn, struct webhook_job *job, int *found)
{
    char seq[24];
    id_text(job->event_seq, seq);
    const char *params[] = {job->event_xid, seq};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res, webhook_event_sql(), 2, params);
    if (s != DUBAN_OK)
        return s;
    *found = PQntuples(res) == 1;
    if (*found)
        s = take_send(c, job, res);
    PQclear(res);
    return s;
}

/* Looks at the subscription's next window of events: the first it wants
 * (of a type it asks for, committed after it was created) becomes the
 * event in delivery; a window wanting none is passed over. *picked is 1
 * when an event was taken; *more is 1 when a window was passed over and
 * the feed may hold more. */
static duban_status scan_window(struct call *c, PGconn *conn, struct webhook_job *job, int *picked, int *more)
{
    char id[24];
    id_text(job->webhook_id, id);
    const char *params[] = {id};
    PGresult *res;
    *picked = *more = 0;
    duban_status s = db_exec(
        c, conn, &res,
        "WITH win AS (SELECT e.xid, e.seq, webhook_matches(w.events, e.type) "
        "  AND NOT pg_visible_in_snapshot(e.xid, s.since) AS wanted "
        "  FROM webhook_state s JOIN webhook_subscription w ON w.id = s.webhook_id, "
        "  LATERAL (SELECT xid, seq, type FROM change_event e WHERE (e.xid, e.seq) > (s.after_xid, s.after_seq) "
        "           AND e.xid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY xid, seq LIMIT " WINDOW ") e "
        "  WHERE s.webhook_id = $1), "
        "pick AS (SELECT xid, seq FROM win WHERE wanted ORDER BY xid, seq LIMIT 1), "
        "last AS (SELECT xid, seq FROM win ORDER BY xid DESC, seq DESC LIMIT 1) "
        "UPDATE webhook_state s SET "
        "  event_xid = pick.xid, event_seq = pick.seq, attempts = 0, due_at = now(), "
        "  after_xid = CASE WHEN pick.xid IS NULL THEN last.xid ELSE s.after_xid END, "
        "  after_seq = CASE WHEN pick.xid IS NULL THEN last.seq ELSE s.after_seq END "
        "FROM last LEFT JOIN pick ON true WHERE s.webhook_id = $1 "
        "RETURNING pick.xid IS NOT NULL, s.event_xid, s.event_seq",
        1, params);
    if (s != DUBAN_OK)
        return s;
    if (PQntuples(res) == 1) {
        *picked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        *more = !*picked;
        if (*picked) {
            copy_value(res, 1, job->event_xid, sizeof job->event_xid);
            job->event_seq = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
            job->attempt = 1;
        }
    }
    PQclear(res);
    return s;
}

/* Drops the event in delivery when it has left the feed (purged). */
static duban_status forget_event(struct call *c, PGconn *conn, const struct webhook_job *job)
{
    char id[24];
    id_text(job->webhook_id, id);
    const char *params[] = {id};
    return db_run(c, conn,
                  "UPDATE webhook_state SET after_xid = event_xid, after_seq = event_seq, event_xid = NULL, "
                  "event_seq = NULL, attempts = 0 WHERE webhook_id = $1",
                  1, params);
}

/* The feed's next send for a subscription due now. */
static duban_status next_event(struct call *c, PGconn *conn, struct webhook_job *job, int *found)
{
    duban_status s = DUBAN_OK;
    *found = 0;
    if (job->event_xid[0]) {
        s = current_event(c, conn, job, found);
        if (s != DUBAN_OK || *found)
            return s;
        s = forget_event(c, conn, job);
    }
    int picked = 0, more = 1;
    for (int i = 0; s == DUBAN_OK && !picked && more && i < WINDOWS_PER_STEP; i++)
        s = scan_window(c, conn, job, &picked, &more);
    if (s == DUBAN_OK && picked)
        s = current_event(c, conn, job, found);
    return s;
}

struct next_args {
    struct webhook_job *job;
    int found;     /* a send was taken */
    int held;      /* the lease is still the job's */
};

/* One step under the lease: renews it and reads the subscription, then
 * the next send. */
static duban_status next_work(struct call *c, PGconn *conn, void *arg)
{
    struct next_args *a = arg;
    struct webhook_job *job = a->job;
    webhook_job_clear(job);
    a->found = a->held = 0;
    char id[24];
    id_text(job->webhook_id, id);
    const char *params[] = {id, job->lease};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "UPDATE webhook_state s SET leased_until = now() + " LEASE " "
                             "FROM webhook_subscription w, webhook_secret k "
                             "WHERE s.webhook_id = $1 AND s.lease = $2::uuid AND w.id = s.webhook_id "
                             "AND k.webhook_id = s.webhook_id "
                             "RETURNING w.url, k.secret, w.enabled AND s.due_at <= now(), "
                             "coalesce(s.event_xid::text, ''), coalesce(s.event_seq, 0), s.attempts",
                             2, params);
    if (s != DUBAN_OK)
        return s;
    int due = 0;
    a->held = PQntuples(res) == 1;
    if (a->held) {
        job->url = strdup(PQgetvalue(res, 0, 0));
        job->secret = strdup(PQgetvalue(res, 0, 1));
        due = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
        copy_value(res, 3, job->event_xid, sizeof job->event_xid);
        job->event_seq = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
        job->attempt = atoi(PQgetvalue(res, 0, 5)) + 1;
    }
    PQclear(res);
    if (!a->held)
        return DUBAN_OK;
    if (!job->url || !job->secret)
        return call_fail(c, DUBAN_ERROR, "out of memory");
    s = next_queued(c, conn, job, &a->found);
    if (s == DUBAN_OK && !a->found && due)
        s = next_event(c, conn, job, &a->found);
    return s;
}

duban_status webhook_next(struct call *c, struct webhook_job *job, int *found)
{
    struct next_args a = {job, 0, 1};
    duban_status s = db_write(c, next_work, &a);
    *found = s == DUBAN_OK && a.found;
    if (!*found)
        webhook_job_clear(job);
    if (s == DUBAN_OK && !a.held)
        job->lease[0] = '\0';
    return s;
}

/* A fraction of the delay after attempt n failed, ±20 %, in seconds. */
static double retry_delay(int n)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = UINT32_MAX / 2;
    return policy.delays[n - 1] * (0.8 + 0.4 * ((double)r / UINT32_MAX));
}

/* Adds one attempt of job to the delivery log: state, and for a retry
 * the delay before the next one. */
static duban_status log_attempt(struct call *c, PGconn *conn, const struct webhook_job *job,
                                const struct webhook_outcome *o, const char *state, double delay)
{
    char id[24], attempt[16], code[16], ms[16], wait[32];
    id_text(job->webhook_id, id);
    snprintf(attempt, sizeof attempt, "%d", job->attempt);
    snprintf(code, sizeof code, "%d", o->status_code);
    snprintf(ms, sizeof ms, "%d", o->duration_ms);
    snprintf(wait, sizeof wait, "%.3f", delay);
    const char *params[] = {id, job->event_id, job->type, attempt, state, o->status_code ? code : NULL,
                            o->error[0] ? o->error : NULL, ms, delay >= 0 ? wait : NULL, job->manual_id ? "t" : "f"};
    return db_run(c, conn,
                  "INSERT INTO webhook_delivery (webhook_id, event_id, event_type, attempt, state, status_code, error, "
                  "duration_ms, next_attempt_at, manual) VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, "
                  "now() + make_interval(secs => $9::double precision), $10)",
                  10, params);
}

/* Disables subscription job->webhook_id (when it is enabled) with reason,
 * and says so in the feed: a webhook.disabled event. */
static duban_status disable(struct call *c, PGconn *conn, const struct webhook_job *job, const char *reason)
{
    char id[24];
    id_text(job->webhook_id, id);
    const char *params[] = {id, reason};
    return db_run(c, conn,
                  "WITH r AS (UPDATE webhook_subscription SET enabled = false, disabled_reason = $2, "
                  "version = version + 1, updated_at = now() WHERE id = $1 AND enabled RETURNING *) "
                  "INSERT INTO change_event (type, entity, entity_id, version, data) "
                  "SELECT 'webhook.disabled', 'webhook', r.id, r.version, (" WEBHOOK_JSON ")::text FROM r",
                  2, params);
}

/* Moves the subscription's state on after the event in delivery, under
 * job's lease: `how` sets what changes. *held is 0 when the lease (or
 * the event) is not the job's any more; *failed is the count of events
 * given up in a row after it. */
static duban_status move_on(struct call *c, PGconn *conn, const struct webhook_job *job, const char *how,
                            const char *arg, int *held, int *failed)
{
    char id[24], seq[24], sql[1024];
    id_text(job->webhook_id, id);
    id_text(job->event_seq, seq);
    const char *params[] = {id, job->lease, job->event_xid, seq, arg};
    snprintf(sql, sizeof sql,
             "UPDATE webhook_state SET %s WHERE webhook_id = $1 AND lease = $2::uuid "
             "AND event_xid = $3::xid8 AND event_seq = $4::bigint RETURNING failed_events",
             how);
    PGresult *res;
    duban_status s = db_exec(c, conn, &res, sql, arg ? 5 : 4, params);
    if (s != DUBAN_OK)
        return s;
    *held = PQntuples(res) == 1;
    *failed = *held ? atoi(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    return DUBAN_OK;
}

#define PAST_EVENT "after_xid = event_xid, after_seq = event_seq, event_xid = NULL, event_seq = NULL, attempts = 0, due_at = now()"

/* The outcome of a feed event's send: passed, to be tried again, or given
 * up. *held: the lease is still the job's; *keep: the next send may follow. */
static duban_status record_event(struct call *c, PGconn *conn, const struct webhook_job *job,
                                 const struct webhook_outcome *o, int *held, int *keep)
{
    int ok = !o->error[0], gone = o->status_code == 410, failed = 0;
    duban_status s;
    if (ok) {
        s = move_on(c, conn, job, PAST_EVENT ", failed_events = 0", NULL, held, &failed);
        *keep = *held;
        return s == DUBAN_OK ? log_attempt(c, conn, job, o, "succeeded", -1) : s;
    }
    if (!gone && job->attempt <= policy.count) {
        double delay = retry_delay(job->attempt);
        char wait[32];
        snprintf(wait, sizeof wait, "%.3f", delay);
        s = move_on(c, conn, job,
                    "attempts = attempts + 1, due_at = now() + make_interval(secs => $5::double precision), "
                    "lease = NULL, lease_pid = NULL, leased_until = NULL",
                    wait, held, &failed);
        *held = 0;   /* let go in the same statement */
        return s == DUBAN_OK ? log_attempt(c, conn, job, o, "retrying", delay) : s;
    }
    s = move_on(c, conn, job, PAST_EVENT ", failed_events = failed_events + 1", NULL, held, &failed);
    if (s == DUBAN_OK)
        s = log_attempt(c, conn, job, o, "failed", -1);
    char reason[200];
    if (gone)
        snprintf(reason, sizeof reason, "the receiver answered 410 Gone");
    else
        snprintf(reason, sizeof reason, "the last %d events all failed", failed);
    int disabling = *held && (gone || failed >= policy.disable_after);
    if (s == DUBAN_OK && disabling)
        s = disable(c, conn, job, reason);
    *keep = *held && !disabling;
    return s;
}

/* The outcome of a queued send: logged, and taken off the queue. */
static duban_status record_queued(struct call *c, PGconn *conn, const struct webhook_job *job,
                                  const struct webhook_outcome *o, int *held, int *keep)
{
    char id[24], manual[24];
    id_text(job->webhook_id, id);
    id_text(job->manual_id, manual);
    const char *params[] = {manual, id, job->lease};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "WITH gone AS (DELETE FROM webhook_manual WHERE id = $1) "
                             "SELECT 1 FROM webhook_state WHERE webhook_id = $2 AND lease = $3::uuid",
                             3, params);
    if (s != DUBAN_OK)
        return s;
    *held = PQntuples(res) == 1;
    PQclear(res);
    s = log_attempt(c, conn, job, o, o->error[0] ? "failed" : "succeeded", -1);
    if (s == DUBAN_OK && o->status_code == 410)
        s = disable(c, conn, job, "the receiver answered 410 Gone");
    *keep = *held && o->status_code != 410;
    return s;
}

struct record_args {
    const struct webhook_job *job;
    const struct webhook_outcome *o;
    int held, keep;
};

static duban_status record_work(struct call *c, PGconn *conn, void *arg)
{
    struct record_args *a = arg;
    a->held = a->keep = 0;
    return a->job->manual_id ? record_queued(c, conn, a->job, a->o, &a->held, &a->keep)
                             : record_event(c, conn, a->job, a->o, &a->held, &a->keep);
}

duban_status webhook_record(struct call *c, struct webhook_job *job, const struct webhook_outcome *o, int *keep)
{
    struct record_args a = {job, o, 0, 0};
    duban_status s = db_write(c, record_work, &a);
    *keep = s == DUBAN_OK && a.keep;
    if (s != DUBAN_OK)
        return s;   /* the job stays whole, to be recorded again */
    if (!a.held)
        job->lease[0] = '\0';
    webhook_job_clear(job);
    return s;
}

static duban_status release_work(struct call *c, PGconn *conn, void *arg)
{
    const struct webhook_job *job = arg;
    char id[24];
    id_text(job->webhook_id, id);
    const char *params[] = {id, job->lease};
    return db_run(c, conn,
                  "UPDATE webhook_state SET lease = NULL, lease_pid = NULL, leased_until = NULL "
                  "WHERE webhook_id = $1 AND lease = $2::uuid",
                  2, params);
}

duban_status webhook_release(struct call *c, struct webhook_job *job)
{
    duban_status s = job->lease[0] ? db_write(c, release_work, job) : DUBAN_OK;
    webhook_job_clear(job);
    memset(job, 0, sizeof *job);
    return s;
}

static duban_status purge_work(struct call *c, PGconn *conn, void *arg)
{
    const char *params[] = {arg};
    return db_run(c, conn,
                  "DELETE FROM webhook_delivery WHERE id IN (SELECT id FROM webhook_delivery "
                  "WHERE at < now() - make_interval(days => $1::int) ORDER BY at LIMIT 1000)",
                  1, params);
}

duban_status webhook_log_purge(struct call *c, int days)
{
    char text[16];
    snprintf(text, sizeof text, "%d", days);
    return db_write(c, purge_work, text);
}
