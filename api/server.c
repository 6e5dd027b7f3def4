#include "api/server.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/app.h"
#include "api/exchange.h"
#include "api/router.h"
#include "api/routes.h"
#include "model/log.h"

/* CONNECTION_MEMORY bounds one request's line and headers (about 31 KiB
 * of them reach duban; libmicrohttpd answers a larger head 431 itself).
 * libmicrohttpd zeroes the whole of it for every request: 128 KiB cost a
 * task GET 13 % of its throughput (bench/README.md, "What a read builds"). */
enum { THREAD_STACK_BYTES = 512 * 1024, LISTEN_BACKLOG = 1024, CONNECTION_MEMORY = 32 * 1024 };

/* Keeps freed heap memory for the next request instead of handing it back
 * to the kernel at once. With glibc's defaults every answer of some size
 * (a list's rows, its body and the copies ulfius makes, zlib's 256 KiB of
 * state) returned its pages on free and faulted them in again on the next
 * request: 300-800 us of CPU per compressed answer on this machine
 * (bench/README.md, phones). Larger blocks than the threshold (imports)
 * still come from and go back to the kernel. */
static void keep_freed_memory(void)
{
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 16 << 20);
}

/* Releases the instance and the routes server_init made. */
static void release(struct _u_instance *instance, struct app *app)
{
    ulfius_clean_instance(instance);
    router_free(app->router);
    app->router = NULL;
}

int server_init(struct _u_instance *instance, struct app *app)
{
    keep_freed_memory();
    if (ulfius_init_instance(instance, app->cfg.listen_port, NULL, NULL) != U_OK)
        return -1;
    /* a backstop: limit_body keeps each body within its own route's limit */
    instance->max_post_body_size = (app->cfg.max_import_bytes > app->cfg.max_body_bytes ? app->cfg.max_import_bytes
                                                                                      : app->cfg.max_body_bytes) + 1;
    instance->allowed_post_processor = U_POST_PROCESS_NONE;
    /* ulfius would silently drop every query value that is not UTF-8 (a
     * filter then ignored); duban checks the URL itself and answers 400
     * (url_or_reply, first thing for every request). */
    instance->check_utf8 = 0;
    instance->timeout = (unsigned int)app->cfg.idle_timeout_s;
    app->router = router_new(instance, app);
    if (!app->router) {
        release(instance, app);
        return -1;
    }
    ulfius_add_endpoint_by_val(instance, "*", NULL, "*", PRIORITY_EXCHANGE, cb_exchange_begin, app);
    health_register(app->router);
    resources_register(app->router);
    tokens_register(app->router);
    audit_register(app->router);
    docs_register(app->router);
    documents_register(app->router);
    reports_register(app->router);
    merge_register(app->router);
    supervision_reports_register(app->router);
    supervision_actions_register(app->router);
    changes_register(app->router);
    webhooks_register(app->router);
    router_finish(app->router);
    return 0;
}

/* Resolves cfg.listen_host (empty means every IPv4 address). */
static int resolve(const struct app *app, struct sockaddr_storage *addr, int *ipv6)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *found = NULL;
    char port[8];
    snprintf(port, sizeof port, "%u", app->cfg.listen_port);
    const char *host = app->cfg.listen_host[0] ? app->cfg.listen_host : NULL;
    if (getaddrinfo(host, port, &hints, &found) != 0 || !found)
        return -1;
    memcpy(addr, found->ai_addr, found->ai_addrlen);
    *ipv6 = found->ai_family == AF_INET6;
    freeaddrinfo(found);
    return 0;
}

/* A client connection's part in a request's life: the request begun (its
 * ulfius state, counted in flight) that has not ended yet. libmicrohttpd
 * answers some requests itself before duban hears of them (a head over
 * CONNECTION_MEMORY: 431), and then never says that they ended: the
 * connection's close ends them (connection_changed). */
struct connection_state {
    void *begun;
};

static struct connection_state *state_of(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

/* The first thing libmicrohttpd calls for a request, as soon as its
 * request line is read (before the body): counts it in flight, then lets
 * ulfius set up its request. */
static void *request_begun(void *cls, const char *uri, struct MHD_Connection *connection)
{
    struct app *app = cls;
    atomic_fetch_add(&app->in_flight, 1);
    void *begun = ulfius_uri_logger(NULL, uri);
    struct connection_state *state = state_of(connection);
    if (state)
        state->begun = begun;
    return begun;
}

/* ulfius's request handler and what it serves, captured when ulfius
 * starts libmicrohttpd (below); set once, before any connection. */
static MHD_AccessHandlerCallback ulfius_handler;
static const struct app *limited_app;

/* The connection whose request the callbacks running on this thread
 * serve (ulfius runs them from within its handler, on this thread). */
static _Thread_local struct MHD_Connection *serving;

struct MHD_Connection *server_connection(void) { return serving; }

/* In front of ulfius's handler, which buffers a whole body (cut, not
 * refused, at max_post_body_size): keeps each request's body within its
 * route's limit. A body over it is kept to limit + 1 bytes and the rest is
 * read and dropped, so that cb_exchange_begin answers 413 (with
 * Connection: close) once it is in: libmicrohttpd cannot answer in the
 * middle of a body, and a connection closed while the client still sends
 * is reset, which can destroy the answer before the client reads it. Only
 * a Content-Length over DISCARD_FACTOR times the limit is answered at once,
 * before its body is read (libmicrohttpd then closes the connection):
 * reading that much would only serve a client that misbehaves. */
enum { DISCARD_FACTOR = 4 };
static enum MHD_Result limit_body(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct connection_info_struct *info = *con_cls;
    serving = connection;
    if (!info || !info->request || !limited_app)
        return ulfius_handler(cls, connection, url, method, version, upload_data, upload_data_size, con_cls);
    size_t limit = exchange_body_limit(limited_app, info->request->url_path);
    if (info->callback_first_iteration) {
        /* ulfius reads the head on its first call */
        enum MHD_Result r = ulfius_handler(cls, connection, url, method, version, upload_data, upload_data_size, con_cls);
        if (r != MHD_YES || !info->request || !exchange_body_too_large(info->request, DISCARD_FACTOR * limit))
            return r;
        size_t no_body = 0;   /* runs the callbacks now: they answer 413 */
        return ulfius_handler(cls, connection, url, method, version, NULL, &no_body, con_cls);
    }
    size_t have = info->request->binary_body_length;
    if (*upload_data_size == 0 || have + *upload_data_size <= limit + 1)
        return ulfius_handler(cls, connection, url, method, version, upload_data, upload_data_size, con_cls);
    enum MHD_Result r = MHD_YES;
    if (have <= limit) {
        size_t part = limit + 1 - have;
        r = ulfius_handler(cls, connection, url, method, version, upload_data, &part, con_cls);
    }
    *upload_data_size = 0;
    return r;
}

/* libulfius starts libmicrohttpd through this name, and duban, which
 * defines it, comes first in the symbol lookup: the daemon is started as
 * ulfius asks, with limit_body in front of ulfius's handler. */
struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc, void *apc_cls,
                                    MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
    va_list options;
    va_start(options, dh_cls);
    ulfius_handler = dh;
    struct MHD_Daemon *daemon = MHD_start_daemon_va(flags, port, apc, apc_cls, limit_body, dh_cls, options);
    va_end(options);
    return daemon;
}

/* The last: the request is answered or abandoned. */
static void request_ended(void *cls, struct MHD_Connection *connection, void **con_cls,
                          enum MHD_RequestTerminationCode toe)
{
    struct app *app = cls;
    struct connection_state *state = state_of(connection);
    if (state)
        state->begun = NULL;
    atomic_fetch_sub(&app->in_flight, 1);
    mhd_request_completed(NULL, connection, con_cls, toe);
}

/* A client connection opens or closes (on its own thread, as its requests'
 * callbacks). A request still begun at the close was dropped by
 * libmicrohttpd: it ends here. */
static void connection_changed(void *cls, struct MHD_Connection *connection, void **socket_context,
                               enum MHD_ConnectionNotificationCode code)
{
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = calloc(1, sizeof(struct connection_state));
        return;
    }
    struct connection_state *state = *socket_context;
    void *begun = state ? state->begun : NULL;
    if (begun)
        request_ended(cls, connection, &begun, MHD_REQUEST_TERMINATED_WITH_ERROR);
    free(state);
    *socket_context = NULL;
}

int server_start(struct _u_instance *instance, struct app *app)
{
    struct sockaddr_storage addr;
    int ipv6 = 0;
    if (resolve(app, &addr, &ipv6) != 0) {
        log_msg(LOG_ERROR, "cannot resolve DUBAN_LISTEN host '%s'", app->cfg.listen_host);
        release(instance, app);
        return -1;
    }
    /* DUBAN_THREADS=0: a thread per connection (a slow database call
     * delays only its own client); N: N epoll threads share every
     * connection (fewer context switches and threads, but one worker's
     * database wait delays that worker's other clients, each wait being
     * bounded by the request deadline, so a hung database can hold an
     * answer for several deadlines, and requests queued behind it are not
     * yet in flight when server_stop drains). MHD_USE_ITC lets
     * MHD_quiesce_daemon stop a pool's listeners too. */
    unsigned int mode = app->cfg.threads > 0 ? MHD_USE_EPOLL : MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    /* a pool suspends a change stream's connection between its events
     * (api/changes.c), so that no worker waits for them */
    unsigned int flags = mode | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                         (ipv6 ? MHD_USE_IPv6 : 0) | (app->cfg.threads > 0 ? MHD_ALLOW_SUSPEND_RESUME : 0);
    struct MHD_OptionItem options[] = {
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)request_ended, app},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)request_begun, app},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)connection_changed, app},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY, NULL},
        /* change streams come on top: they never take an ordinary request's place */
        {MHD_OPTION_CONNECTION_LIMIT, app->cfg.max_connections + app->cfg.max_streams, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, app->cfg.idle_timeout_s, NULL},
        {MHD_OPTION_THREAD_STACK_SIZE, THREAD_STACK_BYTES, NULL},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, LISTEN_BACKLOG, NULL},
        {MHD_OPTION_SOCK_ADDR, 0, &addr},
        {MHD_OPTION_END, 0, NULL},   /* the pool's size, in pool mode */
        {MHD_OPTION_END, 0, NULL},
    };
    if (app->cfg.threads > 0)
        options[sizeof options / sizeof *options - 2] =
            (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, app->cfg.threads, NULL};
    limited_app = app;
    if (ulfius_start_framework_with_mhd_options(instance, flags, options) != U_OK) {
        log_msg(LOG_ERROR, "cannot listen on %s:%u", app->cfg.listen_host, app->cfg.listen_port);
        release(instance, app);
        return -1;
    }
    if (app->cfg.threads > 0)
        log_msg(LOG_INFO, "serving on %s:%u with %d epoll threads", app->cfg.listen_host, app->cfg.listen_port,
                app->cfg.threads);
    else
        log_msg(LOG_INFO, "serving on %s:%u, a thread per connection", app->cfg.listen_host, app->cfg.listen_port);
    return 0;
}

void server_stop(struct _u_instance *instance, struct app *app, int drain_ms)
{
    MHD_socket listener = MHD_quiesce_daemon(instance->mhd_daemon);
    struct timespec tick = {.tv_nsec = 10 * 1000000L};
    for (int waited = 0; atomic_load(&app->in_flight) > 0 && waited < drain_ms; waited += 10)
        nanosleep(&tick, NULL);
    if (atomic_load(&app->in_flight) > 0)
        log_msg(LOG_WARN, "stopping with %d requests still in flight", atomic_load(&app->in_flight));
    ulfius_stop_framework(instance);
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    release(instance, app);
}
