#include "model/sql.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/change_sql.h"
#include "model/list_tags.h"
#include "model/log.h"
#include "model/replica.h"
#include "model/statements.h"

enum { WRITE_ATTEMPTS = 3 };

/* Commands sent in a connection's open pipeline whose results are still
 * to be read (a transaction's begin and the statements queued after it go
 * out with the next one that waits): for each, the SQL text it prepares (a
 * copy, forgotten again unless the preparation succeeds) or NULL. */
enum { PIPELINE_MAX = 16 };
struct pipeline {
    int sent;
    char *prepares[PIPELINE_MAX];
    PGresult **results[PIPELINE_MAX];   /* where a command's result goes, NULL: nowhere */
};

struct slot {
    PGconn *conn;
    int busy;
    struct statements *prepared;   /* of conn */
    unsigned generation;           /* of the pool when conn was opened */
    int writing;                   /* inside db_write: db_queue queues */
    struct pipeline pipe;
};

/* Forgets the pipeline's commands (read, or their connection closed). */
static void pipe_reset(struct slot *slot)
{
    for (int i = 0; i < slot->pipe.sent; i++) {
        if (slot->pipe.prepares[i])
            statements_forget(slot->prepared, slot->pipe.prepares[i]);
        free(slot->pipe.prepares[i]);
        slot->pipe.prepares[i] = NULL;
        slot->pipe.results[i] = NULL;
    }
    slot->pipe.sent = 0;
}

/* The slot this thread holds, if any: db_exec finds its prepared
 * statements through it. */
static _Thread_local struct slot *held;

/* A connection of this thread's own, adopted (db_adopt). */
static _Thread_local struct slot own;

void db_adopt(PGconn *conn, struct statements *prepared)
{
    own = (struct slot){.conn = conn, .busy = 1, .prepared = prepared};
    held = conn ? &own : NULL;
}

struct db {
    char *url;
    char options[256];
    int size;
    int timeout_ms;
    pthread_mutex_t lock;
    pthread_cond_t freed;
    struct slot *slots;
    struct replica *replica;   /* the standby reads may go to, or NULL */
    unsigned generation;       /* connections of an older one are opened anew */
    void (*_Atomic committed)(void *arg);   /* db_on_commit */
    void *_Atomic committed_arg;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct db *db_open(const struct db_config *config)
{
    struct db *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    db->url = strdup(config->url);
    db->size = config->pool_size;
    db->timeout_ms = config->statement_timeout_ms;
    db->slots = calloc((size_t)db->size, sizeof *db->slots);
    /* Lock waits give up before the statement does, and after PostgreSQL's
     * deadlock check (1 s by default), so that a deadlock is reported as one
     * and its transaction retried. No JIT: duban's statements are short, and
     * one the planner thinks large (a section's rollup) spent 0.2-0.5 s
     * compiling for 80 ms of work (bench/README.md, "What a read builds").
     * A page fetched through an index costs the planner about what one read
     * in order does (random_page_cost 1.1, not 4, which models a spinning
     * disk): duban reads its tables through their indexes, from memory. At
     * 4, a list page of a few dozen rows was planned as a bitmap scan and a
     * sort that copied every row's document, not as the ordered scan of its
     * index (bench/README.md, "A list page"). */
    snprintf(db->options, sizeof db->options,
             "-c statement_timeout=%d -c lock_timeout=%d -c idle_in_transaction_session_timeout=%d "
             "-c jit=off -c random_page_cost=1.1 -c TimeZone=%s",
             db->timeout_ms, db->timeout_ms * 3 / 4, 4 * db->timeout_ms, config->timezone);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&db->freed, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&db->lock, NULL);
    for (int i = 0; db->slots && i < db->size; i++)
        if (!(db->slots[i].prepared = statements_new())) {
            db_close(db);
            return NULL;
        }
    if (!db->url || !db->slots) {
        db_close(db);
        return NULL;
    }
    if (config->read_url && *config->read_url && !(db->replica = replica_open(config))) {
        db_close(db);
        return NULL;
    }
    return db;
}

void db_close(struct db *db)
{
    if (!db)
        return;
    replica_close(db->replica);
    for (int i = 0; db->slots && i < db->size; i++) {
        if (db->slots[i].conn)
            PQfinish(db->slots[i].conn);
        statements_free(db->slots[i].prepared);
    }
    pthread_cond_destroy(&db->freed);
    pthread_mutex_destroy(&db->lock);
    free(db->slots);
    free(db->url);
    free(db);
}

int db_deadline_ms(const struct db *db) { return db->timeout_ms + 250; }

void db_reconnect_all(struct db *db)
{
    pthread_mutex_lock(&db->lock);
    db->generation++;
    pthread_mutex_unlock(&db->lock);
}

/* The call is held to its request's deadline (see struct call). */
static int bound_by_request(const struct call *c) { return c->deadline_at > 0 && c->deadline_ms == 0; }

/* When a wait of at most step_ms starting now must end: at the request's
 * deadline if that comes first. */
static int64_t wait_until(const struct call *c, int step_ms)
{
    int64_t until = now_ms() + step_ms;
    return bound_by_request(c) && c->deadline_at < until ? c->deadline_at : until;
}

/* Fails the call when its request has no time left, before anything is
 * sent (so that a healthy connection is not given up for a late request). */
static int out_of_time(struct call *c)
{
    if (!bound_by_request(c) || now_ms() < c->deadline_at)
        return 0;
    call_fail(c, DUBAN_UNAVAILABLE, "the database did not answer in time");
    return 1;
}

/* Waits until the connection's socket is ready for `events` or the deadline
 * passes. Returns 1 when ready, 0 on timeout or error. */
static int wait_socket(PGconn *conn, short events, int64_t deadline)
{
    struct pollfd pfd = {.fd = PQsocket(conn), .events = events};
    if (pfd.fd < 0)
        return 0;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return 0;
        int n = poll(&pfd, 1, (int)left);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return 0;
    }
}

/* Server notices (such as "already exists, skipping") go to the debug log. */
static void log_notice(void *arg, const char *message)
{
    (void)arg;
    log_msg(LOG_DEBUG, "database notice: %.*s", (int)strcspn(message, "\n"), message);
}

/* Opens a connection within the deadline, whatever state the server is in
 * (refusing, hung, restarting). NULL when it could not. */
static PGconn *connect_before(struct db *db, int64_t deadline)
{
    const char *keys[] = {"dbname", "options", "application_name", "client_encoding", NULL};
    const char *values[] = {db->url, db->options, "duban", "UTF8", NULL};
    PGconn *conn = PQconnectStartParams(keys, values, 1);
    if (!conn)
        return NULL;
    PostgresPollingStatusType poll_status = PGRES_POLLING_WRITING;
    while (PQstatus(conn) != CONNECTION_BAD) {
        if (poll_status == PGRES_POLLING_OK) {
            PQsetNoticeProcessor(conn, log_notice, NULL);
            return conn;
        }
        if (poll_status == PGRES_POLLING_FAILED)
            break;
        short events = poll_status == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        if (!wait_socket(conn, events, deadline))
            break;
        poll_status = PQconnectPoll(conn);
    }
    log_msg(LOG_WARN, "database connection failed: %s", PQerrorMessage(conn));
    PQfinish(conn);
    return NULL;
}

/* Takes a free slot with an open connection, waiting for one to be
 * released and for a connection to open at most one step's deadline, and
 * never past the request's. */
static duban_status acquire(struct call *c, struct slot **out)
{
    struct db *db = c->db;
    if (out_of_time(c))
        return DUBAN_UNAVAILABLE;
    int64_t deadline = wait_until(c, db_deadline_ms(db));
    struct slot *slot = NULL;
    pthread_mutex_lock(&db->lock);
    while (!slot) {
        for (int i = 0; i < db->size && !slot; i++)
            if (!db->slots[i].busy)
                slot = &db->slots[i];
        if (slot)
            break;
        struct timespec until = {.tv_sec = deadline / 1000, .tv_nsec = (deadline % 1000) * 1000000};
        if (pthread_cond_timedwait(&db->freed, &db->lock, &until) == ETIMEDOUT)
            break;
    }
    if (slot)
        slot->busy = 1;
    unsigned generation = db->generation;
    pthread_mutex_unlock(&db->lock);
    if (!slot)
        return call_fail(c, DUBAN_UNAVAILABLE, "every database connection is busy");

    if (slot->conn && (PQstatus(slot->conn) != CONNECTION_OK || slot->generation != generation)) {
        PQfinish(slot->conn);
        slot->conn = NULL;
    }
    if (!slot->conn) {
        slot->conn = connect_before(db, deadline);
        slot->generation = generation;
        statements_reset(slot->prepared);
    }
    if (!slot->conn) {
        pthread_mutex_lock(&db->lock);
        slot->busy = 0;
        pthread_cond_signal(&db->freed);
        pthread_mutex_unlock(&db->lock);
        return call_fail(c, DUBAN_UNAVAILABLE, "the database is unreachable");
    }
    c->connection_lost = 0;
    held = slot;
    *out = slot;
    return DUBAN_OK;
}

/* Gives a slot back. A connection that was lost, or is still inside a
 * transaction after its work, is closed rather than handed to the next user. */
static void release(struct call *c, struct slot *slot)
{
    struct db *db = c->db;
    held = NULL;
    if (slot->conn && (c->connection_lost || slot->pipe.sent || PQtransactionStatus(slot->conn) != PQTRANS_IDLE)) {
        PQfinish(slot->conn);
        slot->conn = NULL;
    }
    pipe_reset(slot);
    pthread_mutex_lock(&db->lock);
    slot->busy = 0;
    pthread_cond_signal(&db->freed);
    pthread_mutex_unlock(&db->lock);
}

static int sqlstate_is(const struct call *c, const char *state) { return strcmp(c->sqlstate, state) == 0; }

static int retryable(const struct call *c) { return sqlstate_is(c, "40001") || sqlstate_is(c, "40P01"); }

/* Tables that hold a field of another resource: a task's ordered lists. */
static const struct {
    const char *table, *field;
} TABLE_FIELDS[] = {
    {"task_leader", "leader_ids"},
    {"task_unit", "unit_ids"},
};

/* Constraints not named after the column they guard. */
static const struct {
    const char *constraint, *field;
} CONSTRAINT_FIELDS[] = {
    {"task_sibling_position", "position"},
    {"task_check", "title"},
    {"plan_check", "ends_on"},
    {"api_token_check", "unit_id"},
    {"unit_name_pkey", "name"},
};

/* The request field a broken rule of the data is about, into field ("" when
 * it cannot be known): from the table for a task's lists, else the column
 * PostgreSQL names (a missing value), the table above, or the column in a
 * constraint named as PostgreSQL names them: <table>_<column>_fkey, _key
 * or _check. */
static void field_of(const PGresult *res, char *field, size_t size)
{
    const char *table = PQresultErrorField(res, PG_DIAG_TABLE_NAME);
    const char *column = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
    const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    static const char *const suffixes[] = {"_fkey", "_key", "_check"};
    field[0] = '\0';
    for (size_t i = 0; table && i < sizeof TABLE_FIELDS / sizeof *TABLE_FIELDS; i++)
        if (strcmp(table, TABLE_FIELDS[i].table) == 0) {
            snprintf(field, size, "%s", TABLE_FIELDS[i].field);
            return;
        }
    if (column) {
        snprintf(field, size, "%s", column);
        return;
    }
    if (!constraint)
        return;
    for (size_t i = 0; i < sizeof CONSTRAINT_FIELDS / sizeof *CONSTRAINT_FIELDS; i++)
        if (strcmp(constraint, CONSTRAINT_FIELDS[i].constraint) == 0) {
            snprintf(field, size, "%s", CONSTRAINT_FIELDS[i].field);
            return;
        }
    size_t prefix = table ? strlen(table) : 0;
    if (!table || strncmp(constraint, table, prefix) != 0 || constraint[prefix] != '_')
        return;
    const char *rest = constraint + prefix + 1;
    size_t len = strlen(rest);
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        size_t cut = strlen(suffixes[i]);
        if (len > cut && strcmp(rest + len - cut, suffixes[i]) == 0) {
            snprintf(field, size, "%.*s", (int)(len - cut), rest);
            return;
        }
    }
}

/* A value breaks a rule of the data (SQLSTATE class 22 or 23): a 409 for
 * a value taken, else a 422, naming the field when it can be known. A
 * caller deleting a row turns 23503 (still referenced) into a conflict. */
static duban_status rule_broken(struct call *c, const PGresult *res)
{
    char field[64];
    field_of(res, field, sizeof field);
    duban_status s = DUBAN_INVALID;
    const char *detail = "a value breaks a rule of the data", *message = "is not allowed here";
    if (sqlstate_is(c, "23505")) {
        s = DUBAN_CONFLICT;
        detail = "a value that must be unique is already taken";
        message = "is already taken";
    } else if (sqlstate_is(c, "23503")) {
        detail = "a value refers to something that does not exist";
        message = "refers to something that does not exist";
    } else if (sqlstate_is(c, "23502")) {
        message = "is required";
    } else if (strncmp(c->sqlstate, "22", 2) == 0) {
        detail = "a value is not valid";
        message = "is not a valid value";
    }
    if (field[0])
        call_field_error(c, field, "%s", message);
    return call_fail(c, s, "%s", detail);
}

/* A statement refused the request (refuse(), migration 0017): SQLSTATE
 * 'DB' and the HTTP status, the message its detail, or the message of the
 * field it names. */
static duban_status refused(struct call *c, const PGresult *res)
{
    const char *message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *field = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
    int status = atoi(c->sqlstate + 2);
    if (!message)
        message = "the request was refused";
    if (status == 422 && field && *field) {
        call_field_error(c, field, "%s", message);
        return call_errors_status(c, DUBAN_INVALID);
    }
    return call_fail(c, status == 404 ? DUBAN_NOT_FOUND : status == 403 ? DUBAN_FORBIDDEN
                        : status == 409 ? DUBAN_CONFLICT : DUBAN_INVALID, "%s", message);
}

/* Maps a failed result (or none at all) to a status; the one place where
 * SQLSTATEs become statuses. Records the SQLSTATE and constraint in c.
 * Only a database that cannot be reached or did not answer in time (or
 * kept failing to serialise) is DUBAN_UNAVAILABLE; a broken rule is the
 * client's; anything else is a defect, logged with the request id. */
static duban_status failure_status(struct call *c, PGconn *conn, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    snprintf(c->sqlstate, sizeof c->sqlstate, "%s", state ? state : "");
    snprintf(c->constraint, sizeof c->constraint, "%s", constraint ? constraint : "");

    /* 25006: a write reached a server that is read-only now (a primary
     * demoted, a standby): the session is dropped, so that the next one
     * finds the primary (target_session_attrs=read-write). */
    if (!state || PQstatus(conn) == CONNECTION_BAD || strncmp(state, "08", 2) == 0 ||
        strncmp(state, "57P", 3) == 0 || strcmp(state, "25006") == 0) {
        c->connection_lost = 1;
        log_msg(LOG_WARN, "database connection lost: %s", res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
        return call_fail(c, DUBAN_UNAVAILABLE, "the database connection was lost");
    }
    if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
        return rule_broken(c, res);
    if (strncmp(state, "DB", 2) == 0)
        return refused(c, res);
    if (retryable(c))
        return call_fail(c, DUBAN_UNAVAILABLE, "the database could not serialise this change");
    if (sqlstate_is(c, "57014") || sqlstate_is(c, "55P03"))
        return call_fail(c, DUBAN_UNAVAILABLE, "the database did not answer in time");
    const char *message = PQresultErrorMessage(res);
    log_msg(LOG_ERROR, "database error %s: %.*s request_id=%s", state, (int)strcspn(message, "\n"), message,
            c->request_id ? c->request_id : "-");
    return call_fail(c, DUBAN_ERROR, "unexpected database error");
}

/* Waits until a result can be read from conn without blocking, at most
 * until deadline; 0 when the connection failed or the time ran out. */
static int await_result(PGconn *conn, int64_t deadline)
{
    while (PQisBusy(conn))
        if (!wait_socket(conn, POLLIN, deadline) || !PQconsumeInput(conn))
            return 0;
    return 1;
}

/* The connection is unusable: it failed or did not answer in time. */
static duban_status no_answer(struct call *c)
{
    c->connection_lost = 1;
    c->sqlstate[0] = '\0';
    return call_fail(c, DUBAN_UNAVAILABLE, "the database did not answer in time");
}

/* Collects every result of the query in flight within the statement's
 * deadline (and the request's). The first failed result wins, else the
 * last one. */
static duban_status collect(struct call *c, PGconn *conn, PGresult **res)
{
    int64_t deadline = wait_until(c, c->deadline_ms > 0 ? c->deadline_ms : db_deadline_ms(c->db));
    PGresult *kept = NULL;
    for (;;) {
        if (!await_result(conn, deadline)) {
            PQclear(kept);
            return no_answer(c);
        }
        PGresult *r = PQgetResult(conn);
        if (!r)
            break;
        if (kept && PQresultStatus(kept) == PGRES_FATAL_ERROR) {
            PQclear(r);
            continue;
        }
        PQclear(kept);
        kept = r;
    }
    if (!kept || PQresultStatus(kept) == PGRES_FATAL_ERROR || PQresultStatus(kept) == PGRES_NONFATAL_ERROR) {
        duban_status s = failure_status(c, conn, kept);
        PQclear(kept);
        return s;
    }
    c->sqlstate[0] = c->constraint[0] = '\0';
    *res = kept;
    return DUBAN_OK;
}

/* Takes back the results the pipeline's commands gave their callers, and
 * forgets where they were to go. */
static void pipe_drop_results(struct pipeline *p)
{
    for (int i = 0; i < p->sent; i++)
        if (p->results[i]) {
            PQclear(*p->results[i]);
            *p->results[i] = NULL;
            p->results[i] = NULL;
        }
}

/* Reads the results of the held connection's pipeline up to the sync
 * just sent, within the statement's deadline (and the request's), and
 * leaves pipeline mode. Each command queued with a place for its result
 * gets it there; the first failure wins, and then none is kept. A
 * preparation that did not succeed is forgotten again, so that its text
 * is prepared anew. */
static duban_status pipe_collect(struct call *c, struct slot *slot)
{
    PGconn *conn = slot->conn;
    struct pipeline *p = &slot->pipe;
    int64_t deadline = wait_until(c, c->deadline_ms > 0 ? c->deadline_ms : db_deadline_ms(c->db));
    PGresult *failed = NULL;
    int lost = 0, command = 0;   /* whose results come now: each command's end with a null */
    for (int nulls = 0; !lost;) {
        if ((lost = !await_result(conn, deadline)))
            break;
        PGresult *r = PQgetResult(conn);
        if (!r) {   /* two in a row: nothing more will come */
            lost = ++nulls > 1;
            command++;
            continue;
        }
        nulls = 0;
        ExecStatusType status = PQresultStatus(r);
        if (status == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (command < p->sent && p->prepares[command] && status == PGRES_COMMAND_OK) {
            free(p->prepares[command]);
            p->prepares[command] = NULL;
        }
        if (!failed && (status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR)) {
            failed = r;
        } else if (!failed && command < p->sent && p->results[command]) {
            PQclear(*p->results[command]);
            *p->results[command] = r;
        } else {
            PQclear(r);
        }
    }
    if (lost || failed)
        pipe_drop_results(p);
    pipe_reset(slot);
    if (lost || !PQexitPipelineMode(conn)) {
        PQclear(failed);
        return no_answer(c);
    }
    if (failed) {
        duban_status s = failure_status(c, conn, failed);
        PQclear(failed);
        return s;
    }
    c->sqlstate[0] = c->constraint[0] = '\0';
    return DUBAN_OK;
}

/* Ends the held connection's pipeline: sends the sync and reads every
 * result (pipe_collect). */
static duban_status pipe_flush(struct call *c, struct slot *slot)
{
    if (!PQpipelineSync(slot->conn)) {
        pipe_drop_results(&slot->pipe);
        pipe_reset(slot);
        c->connection_lost = 1;
        return failure_status(c, slot->conn, NULL);
    }
    return pipe_collect(c, slot);
}

/* Adds sql to the held connection's pipeline (opening it), by name, its
 * preparation going first the first time; its result is to go to *res
 * (when res is not NULL, and set NULL until then). A full pipeline is
 * flushed first, which may report an earlier command's failure. */
static duban_status pipe_queue(struct call *c, struct slot *slot, const char *sql, int nparams,
                               const char *const *params, PGresult **res)
{
    struct pipeline *p = &slot->pipe;
    if (res)
        *res = NULL;
    if (p->sent + 2 > PIPELINE_MAX) {
        duban_status s = pipe_flush(c, slot);
        if (s != DUBAN_OK)
            return s;
    }
    PGconn *conn = slot->conn;
    int fresh = 0;
    const char *name = statements_name(slot->prepared, sql, &fresh);
    int sent = PQpipelineStatus(conn) != PQ_PIPELINE_OFF || PQenterPipelineMode(conn);
    if (sent && fresh) {
        sent = PQsendPrepare(conn, name, sql, nparams, NULL);
        if (sent)
            p->prepares[p->sent++] = strdup(sql);   /* NULL when out of memory: kept even if it fails */
        else
            statements_forget(slot->prepared, sql);
    }
    if (sent)
        sent = name ? PQsendQueryPrepared(conn, name, nparams, params, NULL, NULL, 0)
                    : PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (!sent) {
        c->connection_lost = 1;
        return failure_status(c, conn, NULL);
    }
    p->results[p->sent] = res;
    p->prepares[p->sent++] = NULL;
    return DUBAN_OK;
}

/* Runs the statement by name on the held connection (its first run there
 * prepares it, in the same round trip), with whatever is queued before it;
 * unprepared on any other connection. */
duban_status db_exec(struct call *c, PGconn *conn, PGresult **res,
                     const char *sql, int nparams, const char *const *params)
{
    *res = NULL;
    if (out_of_time(c))
        return DUBAN_UNAVAILABLE;
    if (held && held->conn == conn) {
        duban_status s = pipe_queue(c, held, sql, nparams, params, res);
        return s != DUBAN_OK ? s : pipe_flush(c, held);
    }
    if (!PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0))
        return failure_status(c, conn, NULL);
    return collect(c, conn, res);
}

duban_status db_exec_all(struct call *c, PGconn *conn, int n, const struct db_statement *st, PGresult **res)
{
    for (int i = 0; i < n; i++)
        res[i] = NULL;
    if (!held || held->conn != conn || n > PIPELINE_MAX / 2) {
        duban_status s = DUBAN_OK;
        for (int i = 0; i < n && s == DUBAN_OK; i++)
            s = db_exec(c, conn, &res[i], st[i].sql, st[i].nparams, st[i].params);
        if (s != DUBAN_OK)
            for (int i = 0; i < n; i++) {
                PQclear(res[i]);
                res[i] = NULL;
            }
        return s;
    }
    if (out_of_time(c))
        return DUBAN_UNAVAILABLE;
    duban_status s = DUBAN_OK;
    for (int i = 0; i < n && s == DUBAN_OK; i++)
        s = pipe_queue(c, held, st[i].sql, st[i].nparams, st[i].params, &res[i]);
    if (s == DUBAN_OK)
        return pipe_flush(c, held);
    pipe_drop_results(&held->pipe);
    return s;
}

duban_status db_run(struct call *c, PGconn *conn, const char *sql,
                    int nparams, const char *const *params)
{
    PGresult *res;
    duban_status s = db_exec(c, conn, &res, sql, nparams, params);
    PQclear(res);
    return s;
}

duban_status db_exec_script(struct call *c, PGconn *conn, const char *sql)
{
    PGresult *res = NULL;
    if (out_of_time(c))
        return DUBAN_UNAVAILABLE;
    if (!PQsendQuery(conn, sql))
        return failure_status(c, conn, NULL);
    duban_status s = collect(c, conn, &res);
    PQclear(res);
    return s;
}

/* db_read on the pool of c->db. */
static duban_status read_on(struct call *c, db_work_fn work, void *arg)
{
    duban_status s = DUBAN_UNAVAILABLE;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct slot *slot;
        s = acquire(c, &slot);
        if (s != DUBAN_OK)
            return s;
        s = work(c, slot->conn, arg);
        int lost = c->connection_lost;
        release(c, slot);
        if (!(s == DUBAN_UNAVAILABLE && lost))
            break;
        call_clear(c);
    }
    return s;
}

/* A read the standby may answer goes there when replica_chosen says so;
 * should the standby fail it (unreachable, a query cancelled by replay, a
 * relation it cannot read), the primary answers. Once the primary has
 * answered a call, its later reads stay there: never older than the first. */
duban_status db_read(struct call *c, db_work_fn work, void *arg)
{
    struct db *db = c->db;
    if (c->read_standby && db->replica && replica_chosen(db->replica, c)) {
        c->db = replica_pool(db->replica);
        duban_status s = read_on(c, work, arg);
        c->db = db;
        if (s != DUBAN_UNAVAILABLE && s != DUBAN_ERROR)
            return s;
        replica_failed(db->replica);
        call_clear(c);
        c->detail[0] = '\0';
    }
    c->read_standby = 0;
    return read_on(c, work, arg);
}

duban_status db_autocommit(struct call *c, db_work_fn work, void *arg)
{
    c->read_standby = 0;
    return read_on(c, work, arg);
}

const char *db_standby_state(struct db *db) { return db->replica ? replica_state(db->replica) : "none"; }

void db_standby_counts(struct db *db, long *standby, long *primary)
{
    *standby = *primary = 0;
    if (db->replica)
        replica_counts(db->replica, standby, primary);
}

duban_status db_queue(struct call *c, PGconn *conn, const char *sql, int nparams, const char *const *params)
{
    if (!held || held->conn != conn || !held->writing)
        return db_run(c, conn, sql, nparams, params);
    if (out_of_time(c))
        return DUBAN_UNAVAILABLE;
    return pipe_queue(c, held, sql, nparams, params, NULL);
}

static const char SET_ACTOR[] = "SELECT set_config('duban.token_id', $1, true), set_config('duban.token_name', $2, true), "
                                "set_config('duban.request_id', $3, true), "
                                "set_config('duban.notify_after_commit', $4, true)";

void db_on_commit(struct db *db, void (*committed)(void *arg), void *arg)
{
    atomic_store(&db->committed_arg, arg);
    atomic_store(&db->committed, committed);
}

/* Opens a transaction and tells the audit triggers who is acting (and the
 * change triggers whether the writer announces): BEGIN and the settings
 * are queued, to go out with the work's first statement. */
static duban_status begin(struct call *c, struct slot *slot)
{
    if (out_of_time(c))
        return DUBAN_UNAVAILABLE;
    char token_id[24];
    snprintf(token_id, sizeof token_id, "%lld", (long long)c->token_id);
    const char *params[] = {token_id, c->token_name ? c->token_name : "", c->request_id ? c->request_id : "",
                            atomic_load(&c->db->committed) ? "on" : ""};
    duban_status s = pipe_queue(c, slot, "BEGIN", 0, NULL, NULL);
    return s != DUBAN_OK ? s : pipe_queue(c, slot, SET_ACTOR, 4, params, NULL);
}

/* Renders the change events the transaction wrote (migration 0009: each
 * entity as its reads show it, model/change_render.c) and commits, with
 * whatever the work left queued, in one round trip. */
static duban_status commit(struct call *c, struct slot *slot)
{
    if (out_of_time(c))
        return DUBAN_UNAVAILABLE;
    duban_status s = pipe_queue(c, slot, change_render_sql(), 0, NULL, NULL);
    if (s == DUBAN_OK)
        s = pipe_queue(c, slot, "COMMIT", 0, NULL, NULL);
    return s != DUBAN_OK ? s : pipe_flush(c, slot);
}

duban_status db_write(struct call *c, db_work_fn work, void *arg)
{
    struct slot *slot;
    duban_status s = acquire(c, &slot);
    if (s != DUBAN_OK)
        return s;
    slot->writing = 1;
    for (int attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
        s = begin(c, slot);
        if (s == DUBAN_OK)
            s = work(c, slot->conn, arg);
        if (s == DUBAN_OK)
            s = commit(c, slot);
        if (s == DUBAN_OK || c->connection_lost)
            break;
        int again = retryable(c);
        struct call scratch;
        call_init(&scratch, c->db);
        scratch.deadline_at = bound_by_request(c) ? c->deadline_at : 0;
        if (slot->pipe.sent)   /* what the work queued before it failed: its outcome no longer matters */
            (void)pipe_flush(&scratch, slot);
        if (scratch.connection_lost || db_run(&scratch, slot->conn, "ROLLBACK", 0, NULL) != DUBAN_OK)
            c->connection_lost = 1;
        call_clear(&scratch);
        if (!again || c->connection_lost)
            break;
        call_clear(c);
        c->detail[0] = '\0';
    }
    slot->writing = 0;
    list_tags_forget();   /* before the answer: a revalidation after it sees the write */
    void (*committed)(void *) = atomic_load(&c->db->committed);
    if (s == DUBAN_OK && committed)
        committed(atomic_load(&c->db->committed_arg));
    if (s == DUBAN_OK && c->db->replica)
        replica_note_commit(c, slot->conn);
    release(c, slot);
    return s;
}
