/* duban: the command line. `serve` (the default) runs the HTTP service;
 * the other commands work on the same database from a shell. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "api/app.h"
#include "api/router.h"
#include "api/server.h"
#include "model/db.h"
#include "model/log.h"
#include "model/migrate.h"

enum { EXIT_USAGE = 2, DRAIN_MS = 9000 };

static void usage(FILE *out)
{
    fprintf(out,
            "duban %s: tracks how a responsibility decomposition plan (责任分解方案) is carried out\n\n"
            "usage: duban [command]\n\n"
            "commands:\n"
            "  serve              serve the HTTP API (the default)\n"
            "  migrate            apply pending database migrations\n"
            "  migrate --status   list applied and pending migrations\n"
            "  routes             list the routes the server answers\n"
            "  --version          print the version\n"
            "  --help             print this help\n\n"
            "configuration (environment variables):\n",
            DUBAN_VERSION);
    config_describe(out);
}

/* Reports a failed model call on stderr and gives the exit code. */
static int failed(const char *what, const struct call *c)
{
    fprintf(stderr, "duban: %s: %s\n", what, c->detail[0] ? c->detail : "failed");
    return 1;
}

static int cmd_migrate(struct app *app, int status_only)
{
    struct call c;
    call_init(&c, app->db);
    duban_status s = status_only ? migrate_status(&c, stdout) : migrate_apply(&c, stdout);
    int rc = s == DUBAN_OK ? 0 : failed("migrate", &c);
    call_clear(&c);
    return rc;
}

/* Serves until SIGINT or SIGTERM, then drains and stops. Signals are
 * blocked before any thread starts, so only sigwait sees them. */
static int cmd_serve(struct app *app)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (app->cfg.auto_migrate && cmd_migrate(app, 0) != 0)
        return 1;
    struct _u_instance instance;
    if (server_init(&instance, app) != 0 || server_start(&instance, app) != 0)
        return 1;
    int sig = 0;
    sigwait(&stop, &sig);
    log_msg(LOG_INFO, "stopping on signal %d", sig);
    server_stop(&instance, app, DRAIN_MS);
    return 0;
}

static int cmd_routes(struct app *app)
{
    struct _u_instance instance;
    if (server_init(&instance, app) != 0)
        return 1;
    router_list(app->router, stdout);
    ulfius_clean_instance(&instance);
    router_free(app->router);
    return 0;
}

int main(int argc, char **argv)
{
    const char *command = argc > 1 ? argv[1] : "serve";
    if (strcmp(command, "--version") == 0) {
        printf("duban %s\n", DUBAN_VERSION);
        return 0;
    }
    if (strcmp(command, "--help") == 0 || strcmp(command, "help") == 0) {
        usage(stdout);
        return 0;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    json_object_seed(0);

    static struct app app;
    if (config_load(&app.cfg, stderr) != 0)
        return EXIT_USAGE;
    log_set_level(app.cfg.log_level);
    struct db_config db_config = {app.cfg.database_url, app.cfg.db_pool_size, app.cfg.statement_timeout_ms,
                                  app.cfg.near_due_days};
    app.db = db_open(&db_config);
    if (!app.db)
        return 1;

    int rc;
    if (strcmp(command, "serve") == 0)
        rc = cmd_serve(&app);
    else if (strcmp(command, "migrate") == 0 && (argc == 2 || (argc == 3 && strcmp(argv[2], "--status") == 0)))
        rc = cmd_migrate(&app, argc == 3);
    else if (strcmp(command, "routes") == 0)
        rc = cmd_routes(&app);
    else {
        fprintf(stderr, "duban: unknown command '%s'\n\n", command);
        usage(stderr);
        rc = EXIT_USAGE;
    }
    db_close(app.db);
    return rc;
}
