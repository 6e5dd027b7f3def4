/* duban: the command line. `serve` (the default) runs the HTTP service;
 * the other commands (api/commands.c) work on the same database. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "api/app.h"
#include "api/commands.h"
#include "api/ratelimit.h"
#include "api/server.h"
#include "api/webhook_worker.h"
#include "model/change_hub.h"
#include "model/today.h"
#include "model/db.h"
#include "model/idempotency.h"
#include "model/log.h"
#include "model/token_cache.h"

enum { EXIT_USAGE = 2, DRAIN_MS = 9000, TOKEN_CACHE_TTL_S = 60 };

static void usage(FILE *out)
{
    fprintf(out,
            "duban %s: tracks how a responsibility decomposition plan (责任分解方案) is carried out\n\n"
            "usage: duban [command]\n\n"
            "commands:\n"
            "  serve                       serve the HTTP API (the default)\n"
            "  migrate [--status]          apply pending database migrations, or list them\n"
            "  token create --role ROLE --name NAME [--unit ID] [--expires-at TIME]\n"
            "                              create an API token and print it (shown once)\n"
            "  token list                  list tokens (never their secrets)\n"
            "  token revoke ID             revoke a token\n"
            "  import FILE [--dry-run] [--replace] [--csv] [--if-empty]\n"
            "                              import a plan document (责任分解方案) and print the report\n"
            "  export PLAN_ID [--format text|csv]\n"
            "                              write a plan back as a document\n"
            "  routes                      list the routes the server answers\n"
            "  --version, --help\n\n"
            "configuration (environment variables):\n",
            DUBAN_VERSION);
    config_describe(out);
}

/* Serves until SIGINT or SIGTERM, then drains and stops; 1 when a part
 * could not start (then the parts already started are stopped, so that no
 * thread of theirs still uses libpq while the process exits). Signals are
 * blocked before any thread starts, so only sigwait sees them. */
static int cmd_serve(struct app *app, int argc, char **argv)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (webhook_settings_apply(app, stderr) != 0)
        return EXIT_USAGE;
    if (app->cfg.auto_migrate && cmd_migrate(app, 0, argv + argc) != 0)
        return 1;
    app->ratelimit = ratelimit_new(app->cfg.rate_limit_per_min, app->db);
    app->tokens = token_cache_start(app->cfg.database_url, TOKEN_CACHE_TTL_S);
    struct change_hub_config changes = {app->cfg.database_url, app->cfg.max_streams, app->cfg.changes_retention_days,
                                        app->cfg.timezone};
    app->changes = change_hub_start(app->db, &changes);
    if (app->changes)
        db_on_commit(app->db, change_hub_committed, app->changes);
    struct _u_instance instance;
    int serving = app->ratelimit && app->tokens && app->changes && server_init(&instance, app) == 0 &&
                  server_start(&instance, app) == 0;
    struct webhook_worker *webhooks = serving ? webhook_worker_start(app) : NULL;
    if (serving && !webhooks)
        log_msg(LOG_ERROR, "webhook deliveries could not start");
    struct today_refresher *today = webhooks ? today_refresher_start(app->db) : NULL;
    if (webhooks && !today)
        log_msg(LOG_ERROR, "the refresher of today's colours could not start");
    if (today) {
        int sig = 0;
        sigwait(&stop, &sig);
        log_msg(LOG_INFO, "stopping on signal %d", sig);
    }
    webhook_worker_stop(webhooks);
    today_refresher_stop(today);
    /* writes in the drain notify for themselves (one that began before may
     * go unannounced: the other instances' hubs read at least every second) */
    db_on_commit(app->db, NULL, NULL);
    change_hub_stop(app->changes);   /* streams end first: they would hold the drain up */
    if (serving)
        server_stop(&instance, app, DRAIN_MS);
    change_hub_free(app->changes);
    token_cache_stop(app->tokens);
    ratelimit_free(app->ratelimit);
    return today ? 0 : 1;
}

static const struct {
    const char *name;
    int (*run)(struct app *app, int argc, char **argv);
} commands[] = {
    {"serve", cmd_serve},
    {"migrate", cmd_migrate},
    {"token", cmd_token},
    {"routes", cmd_routes},
    {"import", cmd_import},
    {"export", cmd_export},
};

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
    size_t i = 0;
    while (i < sizeof commands / sizeof *commands && strcmp(commands[i].name, command) != 0)
        i++;
    if (i == sizeof commands / sizeof *commands) {
        fprintf(stderr, "duban: unknown command '%s'\n\n", command);
        usage(stderr);
        return EXIT_USAGE;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    json_object_seed(0);

    static struct app app;
    if (config_load(&app.cfg, stderr) != 0)
        return EXIT_USAGE;
    log_set_level(app.cfg.log_level);
    idempotency_set_ttl_hours(app.cfg.idempotency_ttl_h);
    struct db_config db_config = {app.cfg.database_url, app.cfg.db_pool_size, app.cfg.statement_timeout_ms,
                                  app.cfg.timezone, app.cfg.database_read_url, app.cfg.read_wait_ms,
                                  app.cfg.max_replica_lag_ms};
    app.db = db_open(&db_config);
    if (!app.db)
        return 1;
    int rc = commands[i].run(&app, argc > 2 ? argc - 2 : 0, argv + 2);
    db_close(app.db);
    return rc;
}
