#include "api/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/router.h"
#include "api/server.h"
#include "model/db.h"
#include "model/listing.h"
#include "model/migrate.h"
#include "model/plan_import.h"
#include "model/resources.h"
#include "model/token.h"

enum { EXIT_FAILED = 1, EXIT_USAGE = 2 };

/* A call from the command line: journaled as the command line's doing. */
static void command_call(struct call *c, struct app *app)
{
    call_init(c, app->db);
    c->token_name = "command line";
}

/* Reports a failed call on stderr, every field error included. */
static int failed(const char *what, struct call *c)
{
    fprintf(stderr, "duban: %s: %s\n", what, c->detail[0] ? c->detail : "failed");
    size_t i;
    json_t *e;
    json_array_foreach(c->errors, i, e)
        fprintf(stderr, "  %s: %s\n", json_string_value(json_object_get(e, "field")),
                json_string_value(json_object_get(e, "message")));
    call_clear(c);
    return EXIT_FAILED;
}

/* The value after --name in argv, or NULL. */
static const char *option(int argc, char **argv, const char *name)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

int cmd_migrate(struct app *app, int argc, char **argv)
{
    int status_only = argc == 1 && strcmp(argv[0], "--status") == 0;
    if (argc > 0 && !status_only) {
        fprintf(stderr, "usage: duban migrate [--status]\n");
        return EXIT_USAGE;
    }
    struct call c;
    command_call(&c, app);
    duban_status s = status_only ? migrate_status(&c, stdout) : migrate_apply(&c, stdout);
    if (s != DUBAN_OK)
        return failed("migrate", &c);
    call_clear(&c);
    return 0;
}

/* duban token create --role R --name N [--unit ID] [--expires-at TIME]:
 * prints only the secret, so that scripts can capture it. */
static int token_create_command(struct app *app, int argc, char **argv)
{
    const char *role = option(argc, argv, "--role"), *name = option(argc, argv, "--name");
    const char *unit = option(argc, argv, "--unit"), *expires = option(argc, argv, "--expires-at");
    if (!role || !name) {
        fprintf(stderr, "usage: duban token create --role admin|editor|reporter|reader --name NAME "
                        "[--unit UNIT_ID] [--expires-at 2027-01-31T00:00:00Z]\n");
        return EXIT_USAGE;
    }
    json_t *body = json_pack("{s:s,s:s}", "role", role, "name", name), *doc = NULL;
    if (unit)
        json_object_set_new(body, "unit_id", json_integer(strtoll(unit, NULL, 10)));
    if (expires)
        json_object_set_new(body, "expires_at", json_string(expires));
    struct call c;
    command_call(&c, app);
    duban_status s = token_create(&c, body, &doc);
    json_decref(body);
    if (s != DUBAN_OK)
        return failed("token create", &c);
    printf("%s\n", json_string_value(json_object_get(doc, "token")));
    fprintf(stderr, "token %lld (%s, %s) created; it is shown only this once\n",
            (long long)json_integer_value(json_object_get(doc, "id")), role, name);
    json_decref(doc);
    call_clear(&c);
    return 0;
}

static int token_list_command(struct app *app)
{
    struct param_list q = {.items = {{"limit", "500"}}, .count = 1};
    json_t *page = NULL, *t;
    struct call c;
    command_call(&c, app);
    if (list_run(&c, &token_list, &q, NULL, &page) != DUBAN_OK)
        return failed("token list", &c);
    size_t i;
    printf("%-6s %-9s %-8s %-16s %-24s %s\n", "ID", "ROLE", "UNIT", "PREFIX", "NAME", "STATE");
    json_array_foreach(json_object_get(page, "items"), i, t) {
        const char *revoked = json_string_value(json_object_get(t, "revoked_at"));
        printf("%-6lld %-9s %-8lld %-16s %-24s %s\n", (long long)json_integer_value(json_object_get(t, "id")),
               json_string_value(json_object_get(t, "role")),
               (long long)json_integer_value(json_object_get(t, "unit_id")),
               json_string_value(json_object_get(t, "prefix")), json_string_value(json_object_get(t, "name")),
               revoked ? "revoked" : "active");
    }
    json_decref(page);
    call_clear(&c);
    return 0;
}

int cmd_token(struct app *app, int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "create") == 0)
        return token_create_command(app, argc - 1, argv + 1);
    if (argc == 1 && strcmp(argv[0], "list") == 0)
        return token_list_command(app);
    if (argc == 2 && strcmp(argv[0], "revoke") == 0) {
        struct call c;
        command_call(&c, app);
        if (token_revoke(&c, strtoll(argv[1], NULL, 10), 0) != DUBAN_OK)
            return failed("token revoke", &c);
        call_clear(&c);
        fprintf(stderr, "token %s revoked\n", argv[1]);
        return 0;
    }
    fprintf(stderr, "usage: duban token create|list|revoke ...\n");
    return EXIT_USAGE;
}

int cmd_routes(struct app *app, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct _u_instance instance;
    if (server_init(&instance, app) != 0)
        return EXIT_FAILED;
    router_list(app->router, stdout);
    ulfius_clean_instance(&instance);
    router_free(app->router);
    app->router = NULL;
    return 0;
}

static int has_flag(int argc, char **argv, const char *flag)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], flag) == 0)
            return 1;
    return 0;
}

/* Reads a whole file into a malloc'd buffer; NULL on failure. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len == cap) {
            cap = cap ? 2 * cap : 65536;
            char *grown = realloc(data, cap + 1);
            if (!grown)
                break;
            data = grown;
        }
        size_t n = fread(data + *len, 1, cap - *len, f);
        *len += n;
        if (n == 0)
            break;
    }
    int failed_read = ferror(f);
    fclose(f);
    if (failed_read || !data) {
        free(data);
        return NULL;
    }
    data[*len] = '\0';
    return data;
}

/* 1 when the database holds no plan yet. */
static int no_plans(struct app *app)
{
    struct param_list q = {.items = {{"limit", "1"}}, .count = 1};
    json_t *page = NULL;
    struct call c;
    command_call(&c, app);
    int empty = list_run(&c, &plan_list, &q, NULL, &page) == DUBAN_OK &&
                json_integer_value(json_object_get(page, "total")) == 0;
    json_decref(page);
    call_clear(&c);
    return empty;
}

/* duban import FILE [--dry-run] [--replace] [--csv] [--if-empty]: prints the report. */
int cmd_import(struct app *app, int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 0; i < argc; i++)
        if (argv[i][0] != '-')
            path = argv[i];
    if (!path) {
        fprintf(stderr, "usage: duban import FILE [--dry-run] [--replace] [--csv] [--if-empty]\n");
        return EXIT_USAGE;
    }
    if (has_flag(argc, argv, "--if-empty") && !no_plans(app)) {
        fprintf(stderr, "duban: import: the database already holds a plan; nothing imported\n");
        return 0;
    }
    size_t len;
    char *text = read_file(path, &len);
    if (!text) {
        fprintf(stderr, "duban: import: cannot read %s\n", path);
        return EXIT_FAILED;
    }
    struct import_options opt = {has_flag(argc, argv, "--csv") ? PLAN_CSV : PLAN_TEXT, has_flag(argc, argv, "--dry-run"),
                                 has_flag(argc, argv, "--replace")};
    struct call c;
    command_call(&c, app);
    struct created out;
    duban_status s = plan_import(&c, text, len, &opt, NULL, &out);
    free(text);
    if (s != DUBAN_OK)
        return failed("import", &c);
    json_dumpf(out.doc, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(out.doc);
    call_clear(&c);
    return 0;
}

/* duban export PLAN_ID [--format text|csv]: writes the document to stdout. */
int cmd_export(struct app *app, int argc, char **argv)
{
    const char *format = option(argc, argv, "--format");
    long long id = argc > 0 ? strtoll(argv[0], NULL, 10) : 0;
    if (id <= 0 || (format && strcmp(format, "text") != 0 && strcmp(format, "csv") != 0)) {
        fprintf(stderr, "usage: duban export PLAN_ID [--format text|csv]\n");
        return EXIT_USAGE;
    }
    struct call c;
    command_call(&c, app);
    char *text = NULL;
    if (plan_export(&c, id, format && strcmp(format, "csv") == 0 ? PLAN_CSV : PLAN_TEXT, &text) != DUBAN_OK)
        return failed("export", &c);
    fputs(text, stdout);
    free(text);
    call_clear(&c);
    return 0;
}
