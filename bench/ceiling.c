/* The ceilings duban is measured against: the least a ulfius service can do
 * per request on this machine, started exactly as duban starts ulfius
 * (api/server.c: one thread per connection, poll, the same MHD options).
 *
 *   GET /fixed      a small constant JSON body: the HTTP ceiling
 *   GET /row/{id}   one prepared single-row query on table task, its JSON
 *                   sent as PostgreSQL built it: the HTTP + database ceiling
 *
 * usage: ceiling PORT DATABASE_URL [POOL_SIZE]
 *
 * The pool is a mutex-guarded array of libpq connections, all opened and
 * prepared before serving starts. Runs until SIGINT or SIGTERM.
 * Built by scripts/bench with a plain cc; not part of duban. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ulfius.h>
#include <unistd.h>

enum { MAX_POOL = 64, THREAD_STACK_BYTES = 512 * 1024, LISTEN_BACKLOG = 1024, CONNECTION_LIMIT = 4000,
       IDLE_TIMEOUT_S = 30 };

static const char ROW_SQL[] =
    "SELECT json_build_object('id', id, 'plan_id', plan_id, 'parent_id', parent_id, 'level', level, "
    "'path', array_to_string(path, '.'), 'title', title, 'status', status, 'due_on', due_on, "
    "'progress', progress, 'version', version) FROM task WHERE id = $1";

static const char FIXED_BODY[] = "{\"id\":1,\"title\":\"摸清摸实精准脱贫底数。\",\"status\":\"in_progress\",\"progress\":50}";

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    int size;
    PGconn *conns[MAX_POOL];
    int busy[MAX_POOL];
};

static struct pool pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .freed = PTHREAD_COND_INITIALIZER};

/* Opens every connection and prepares the row query on it; 0 on success. */
static int pool_open(const char *url, int size)
{
    pool.size = size;
    for (int i = 0; i < size; i++) {
        PGconn *conn = PQconnectdb(url);
        if (PQstatus(conn) != CONNECTION_OK) {
            fprintf(stderr, "ceiling: cannot connect: %s", PQerrorMessage(conn));
            PQfinish(conn);
            return -1;
        }
        PGresult *res = PQprepare(conn, "row", ROW_SQL, 1, NULL);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "ceiling: cannot prepare: %s", PQresultErrorMessage(res));
        PQclear(res);
        pool.conns[i] = conn;
        if (!ok)
            return -1;
    }
    return 0;
}

static void pool_close(void)
{
    for (int i = 0; i < pool.size; i++)
        PQfinish(pool.conns[i]);
}

/* Waits for a free connection; returns its slot. */
static int pool_acquire(void)
{
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        for (int i = 0; i < pool.size; i++) {
            if (!pool.busy[i]) {
                pool.busy[i] = 1;
                pthread_mutex_unlock(&pool.lock);
                return i;
            }
        }
        pthread_cond_wait(&pool.freed, &pool.lock);
    }
}

static void pool_release(int slot)
{
    pthread_mutex_lock(&pool.lock);
    pool.busy[slot] = 0;
    pthread_cond_signal(&pool.freed);
    pthread_mutex_unlock(&pool.lock);
}

static int reply(struct _u_response *res, unsigned int status, const char *body, size_t len)
{
    ulfius_set_binary_body_response(res, status, body, len);
    ulfius_add_header_to_response(res, "Content-Type", "application/json");
    return U_CALLBACK_COMPLETE;
}

static int cb_fixed(const struct _u_request *req, struct _u_response *res, void *user_data)
{
    (void)req;
    (void)user_data;
    return reply(res, 200, FIXED_BODY, sizeof FIXED_BODY - 1);
}

/* A positive decimal id and nothing else; 0 when the text is not one. */
static int64_t parse_id(const char *text)
{
    if (!text || *text < '1' || *text > '9')
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    return errno || *end ? 0 : (int64_t)v;
}

static int cb_row(const struct _u_request *req, struct _u_response *res, void *user_data)
{
    (void)user_data;
    static const char not_found[] = "{\"status\":404}", failed[] = "{\"status\":500}";
    int64_t id = parse_id(u_map_get(req->map_url, "id"));
    if (!id)
        return reply(res, 404, not_found, sizeof not_found - 1);
    char idbuf[24];
    snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
    const char *params[] = {idbuf};
    int slot = pool_acquire();
    PGresult *pg = PQexecPrepared(pool.conns[slot], "row", 1, params, NULL, NULL, 0);
    pool_release(slot);
    int rc;
    if (PQresultStatus(pg) != PGRES_TUPLES_OK)
        rc = reply(res, 500, failed, sizeof failed - 1);
    else if (PQntuples(pg) == 0)
        rc = reply(res, 404, not_found, sizeof not_found - 1);
    else
        rc = reply(res, 200, PQgetvalue(pg, 0, 0), (size_t)PQgetlength(pg, 0, 0));
    PQclear(pg);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ceiling PORT DATABASE_URL [POOL_SIZE]\n");
        return 2;
    }
    long port = strtol(argv[1], NULL, 10);
    long size = argc > 3 ? strtol(argv[3], NULL, 10) : 8;
    if (port < 1 || port > 65535 || size < 1 || size > MAX_POOL) {
        fprintf(stderr, "ceiling: bad port or pool size\n");
        return 2;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (pool_open(argv[2], (int)size) != 0)
        return 1;

    struct _u_instance instance;
    if (ulfius_init_instance(&instance, (unsigned int)port, NULL, NULL) != U_OK)
        return 1;
    instance.allowed_post_processor = U_POST_PROCESS_NONE;
    instance.timeout = IDLE_TIMEOUT_S;
    ulfius_add_endpoint_by_val(&instance, "GET", NULL, "/fixed", 10, cb_fixed, NULL);
    ulfius_add_endpoint_by_val(&instance, "GET", NULL, "/row/:id", 10, cb_row, NULL);

    /* The same flags and options as duban's server_start. */
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                         MHD_USE_ITC | MHD_USE_ERROR_LOG;
    struct MHD_OptionItem options[] = {
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)mhd_request_completed, NULL},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)ulfius_uri_logger, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S, NULL},
        {MHD_OPTION_THREAD_STACK_SIZE, THREAD_STACK_BYTES, NULL},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, LISTEN_BACKLOG, NULL},
        {MHD_OPTION_SOCK_ADDR, 0, &addr},
        {MHD_OPTION_END, 0, NULL},
    };
    if (ulfius_start_framework_with_mhd_options(&instance, flags, options) != U_OK) {
        fprintf(stderr, "ceiling: cannot listen on 127.0.0.1:%ld\n", port);
        ulfius_clean_instance(&instance);
        pool_close();
        return 1;
    }
    fprintf(stderr, "ceiling: serving on 127.0.0.1:%ld with %ld database connections\n", port, size);
    int sig = 0;
    sigwait(&stop, &sig);
    ulfius_stop_framework(&instance);
    ulfius_clean_instance(&instance);
    pool_close();
    return 0;
}
