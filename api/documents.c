/* Plan documents over HTTP: POST /api/v1/plans/import takes the text (or
 * CSV) of a 责任分解方案 and answers with the import report;
 * GET /api/v1/plans/{id}/export gives the plan back as text or CSV. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/answer.h"
#include "api/app.h"
#include "api/posting.h"
#include "api/exchange.h"
#include "api/problem.h"
#include "api/request.h"
#include "api/router.h"
#include "api/routes.h"
#include "model/plan_import.h"

/* Reads a query flag that must be true or false (absent is false). */
static int flag_or_reply(const struct _u_request *req, struct _u_response *res, const struct param_list *q,
                         const char *name, int *out)
{
    const char *v = params_get(q, name);
    *out = v && strcmp(v, "true") == 0;
    if (!v || strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
        return 0;
    char detail[96];
    snprintf(detail, sizeof detail, "%s must be true or false", name);
    reply_problem(req, res, 400, detail, NULL);
    return -1;
}

static int media_type_starts(const char *content_type, const char *type)
{
    return content_type && strncasecmp(content_type, type, strlen(type)) == 0 &&
           (content_type[strlen(type)] == '\0' || content_type[strlen(type)] == ';' ||
            content_type[strlen(type)] == ' ');
}

/* An import's input: the document and how to take it. */
struct plan_document {
    const char *text;
    size_t len;
    const struct import_options *opt;
};

static duban_status run_import(struct call *c, const void *input, const struct idempotency *idem, struct created *out)
{
    const struct plan_document *doc = input;
    return plan_import(c, doc->text, doc->len, doc->opt, idem, out);
}

static int cb_plan_import(const struct _u_request *req, struct _u_response *res, void *ctx)
{
    struct app *app = ((struct route_ctx *)ctx)->app;
    static const char *const allowed[] = {"dry_run", "replace", NULL};
    struct param_list q;
    struct import_options opt = {PLAN_TEXT, 0, 0};
    if (known_query_or_reply(req, res, allowed, &q) != 0 ||
        flag_or_reply(req, res, &q, "dry_run", &opt.dry_run) != 0 ||
        flag_or_reply(req, res, &q, "replace", &opt.replace) != 0)
        return U_CALLBACK_COMPLETE;
    const char *type = header(req, "Content-Type");
    if (media_type_starts(type, "text/csv"))
        opt.format = PLAN_CSV;
    else if (!media_type_starts(type, "text/plain"))
        return reply_problem(req, res, 415, "send the document as text/plain; charset=utf-8 or as text/csv", NULL);

    struct plan_document doc = {req->binary_body ? req->binary_body : "", req->binary_body_length, &opt};
    struct post post = {.run = run_import, .input = &doc, .status = opt.dry_run ? 200 : 201,
                        .items = "/api/v1/plans/", .id_member = "plan_id"};
    return post_and_reply(req, res, app, &post);
}

/* The format asked for: ?format=text|csv, else the Accept header (text/csv,
 * or text/plain or any text). -1 when nothing acceptable was asked for. */
static int export_format(const struct _u_request *req, const struct param_list *q)
{
    const char *format = params_get(q, "format");
    if (format)
        return strcmp(format, "csv") == 0 ? PLAN_CSV : strcmp(format, "text") == 0 ? PLAN_TEXT : -1;
    const char *accept = header(req, "Accept");
    if (!accept)
        return PLAN_TEXT;
    if (strstr(accept, "text/csv") && !strstr(accept, "text/plain"))
        return PLAN_CSV;
    if (strstr(accept, "text/plain") || strstr(accept, "*/*") || strstr(accept, "text/*"))
        return PLAN_TEXT;
    return -1;
}

static int cb_plan_export(const struct _u_request *req, struct _u_response *res, void *ctx)
{
    struct app *app = ((struct route_ctx *)ctx)->app;
    static const char *const allowed[] = {"format", NULL};
    struct param_list q;
    int64_t id;
    if (path_id_or_reply(req, res, &id) != 0 || known_query_or_reply(req, res, allowed, &q) != 0)
        return U_CALLBACK_COMPLETE;
    int format = export_format(req, &q);
    if (format < 0)
        return reply_problem(req, res, params_get(&q, "format") ? 400 : 406,
                             "the export is available as text/plain (format=text) or text/csv (format=csv)", NULL);
    struct call c;
    call_for_request(&c, res, app);
    char *text = NULL;
    duban_status s = plan_export(&c, id, (enum plan_format)format, &text);
    int rc = s == DUBAN_OK ? reply_text(res, 200, text, strlen(text),
                                        format == PLAN_CSV ? "text/csv; charset=utf-8" : "text/plain; charset=utf-8")
                           : reply_failure(req, res, &c, s);
    free(text);
    call_clear(&c);
    return rc;
}

void documents_register(struct router *r)
{
    router_add(r, "POST", "/api/v1/plans/import", cb_plan_import, NULL);
    router_add(r, "GET", "/api/v1/plans/:" ROUTE_ID "/export", cb_plan_export, NULL);
}
