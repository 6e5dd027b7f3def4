#include "api/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/app.h"
#include "api/exchange.h"
#include "api/router.h"
#include "api/routes.h"
#include "model/log.h"

/* CONNECTION_MEMORY bounds one request's line and headers; libmicrohttpd
 * drops a request that does not fit without calling duban at all. */
enum { THREAD_STACK_BYTES = 512 * 1024, LISTEN_BACKLOG = 1024, CONNECTION_MEMORY = 128 * 1024 };

int server_init(struct _u_instance *instance, struct app *app)
{
    if (ulfius_init_instance(instance, app->cfg.listen_port, NULL, NULL) != U_OK)
        return -1;
    instance->max_post_body_size = (app->cfg.max_import_bytes > app->cfg.max_body_bytes ? app->cfg.max_import_bytes
                                                                                      : app->cfg.max_body_bytes) + 1;
    instance->allowed_post_processor = U_POST_PROCESS_NONE;
    /* ulfius would silently drop every query value that is not UTF-8 (a
     * filter then ignored); duban checks the URL itself and answers 400
     * (url_or_reply, first thing for every request). */
    instance->check_utf8 = 0;
    instance->timeout = (unsigned int)app->cfg.idle_timeout_s;
    app->router = router_new(instance, app);
    if (!app->router)
        return -1;
    ulfius_add_endpoint_by_val(instance, "*", NULL, "*", PRIORITY_EXCHANGE, cb_exchange_begin, app);
    health_register(app->router);
    resources_register(app->router);
    tokens_register(app->router);
    audit_register(app->router);
    docs_register(app->router);
    documents_register(app->router);
    reports_register(app->router);
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

/* The first thing libmicrohttpd calls for a request, as soon as its
 * request line is read (before the body): counts it in flight, then lets
 * ulfius set up its request. */
static void *request_begun(void *cls, const char *uri)
{
    struct app *app = cls;
    atomic_fetch_add(&app->in_flight, 1);
    return ulfius_uri_logger(NULL, uri);
}

/* The last: the request is answered or abandoned. */
static void request_ended(void *cls, struct MHD_Connection *connection, void **con_cls,
                          enum MHD_RequestTerminationCode toe)
{
    struct app *app = cls;
    atomic_fetch_sub(&app->in_flight, 1);
    mhd_request_completed(NULL, connection, con_cls, toe);
}

int server_start(struct _u_instance *instance, struct app *app)
{
    struct sockaddr_storage addr;
    int ipv6 = 0;
    if (resolve(app, &addr, &ipv6) != 0) {
        log_msg(LOG_ERROR, "cannot resolve DUBAN_LISTEN host '%s'", app->cfg.listen_host);
        return -1;
    }
    unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                         MHD_USE_ITC | MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0);
    struct MHD_OptionItem options[] = {
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)request_ended, app},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)request_begun, app},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, app->cfg.max_connections, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, app->cfg.idle_timeout_s, NULL},
        {MHD_OPTION_THREAD_STACK_SIZE, THREAD_STACK_BYTES, NULL},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, LISTEN_BACKLOG, NULL},
        {MHD_OPTION_SOCK_ADDR, 0, &addr},
        {MHD_OPTION_END, 0, NULL},
    };
    if (ulfius_start_framework_with_mhd_options(instance, flags, options) != U_OK) {
        log_msg(LOG_ERROR, "cannot listen on %s:%u", app->cfg.listen_host, app->cfg.listen_port);
        return -1;
    }
    log_msg(LOG_INFO, "serving on %s:%u", app->cfg.listen_host, app->cfg.listen_port);
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
    ulfius_clean_instance(instance);
    router_free(app->router);
    app->router = NULL;
}
