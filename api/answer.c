#include "api/answer.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/app.h"
#include "api/exchange.h"
#include "api/problem.h"
#include "api/request.h"

void call_for_request(struct call *c, const struct _u_response *res, struct app *app)
{
    call_init(c, app->db);
    struct exchange *ex = exchange_of(res);
    if (!ex)
        return;
    c->request_id = ex->request_id;
    c->deadline_at = ex->deadline_ms;
    /* a GET may be answered by the standby, once it holds the client's
     * last write; a write leaves its token in the exchange */
    c->read_standby = strcmp(ex->method, "GET") == 0 || strcmp(ex->method, "HEAD") == 0;
    c->read_after = header(ex->request, "Consistency-Token");
    c->written = ex->consistency;
    if (ex->authenticated) {
        c->token_id = ex->actor.token_id;
        c->token_name = ex->actor.name;
        c->unit_scope = ex->actor.role == ROLE_REPORTER ? ex->actor.unit_id : 0;
    }
}

void set_version_etag(struct _u_response *res, int64_t version)
{
    char etag[32];
    snprintf(etag, sizeof etag, "\"%lld\"", (long long)version);
    ulfius_add_header_to_response(res, "ETag", etag);
}

void keep_out_of_caches(struct _u_response *res) { ulfius_add_header_to_response(res, "Cache-Control", "no-store"); }

static void set_etag(struct _u_response *res, const json_t *doc)
{
    set_version_etag(res, json_integer_value(json_object_get(doc, "version")));
}

int reply_document(struct _u_response *res, int status, const json_t *doc)
{
    set_etag(res, doc);
    return reply_json(res, status, doc);
}

unsigned preferred_return(const struct _u_request *req)
{
    return prefers(req, "return", "minimal") ? ANSWER_MINIMAL : 0;
}

int reply_call(const struct _u_request *req, struct _u_response *res, struct call *c, duban_status s, json_t *doc,
               int status, unsigned flags)
{
    int rc;
    if (s != DUBAN_OK) {
        rc = reply_failure(req, res, c, s);
    } else if (flags & ANSWER_MINIMAL) {
        if (flags & ANSWER_VERSIONED)
            set_etag(res, doc);
        ulfius_add_header_to_response(res, "Preference-Applied", "return=minimal");
        rc = reply_empty(res, status == 200 ? 204 : status);
    } else if (flags & ANSWER_VERSIONED) {
        rc = reply_document(res, status, doc);
    } else {
        rc = reply_json(res, status, doc);
    }
    json_decref(doc);
    call_clear(c);
    return rc;
}
