#include "api/posting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/answer.h"
#include "api/exchange.h"
#include "api/problem.h"
#include "api/request.h"
#include "model/text.h"

/* A POST's Idempotency-Key with what it is scoped to. */
struct request_key {
    char scope[300];
    char *body;  /* the request body as text; owned */
    struct idempotency idem;
};

/* Reads the Idempotency-Key into k: *out is &k->idem, or NULL when the
 * request has none. Answers 400 for a malformed key. Release k with
 * free(k->body) either way. */
static int idempotency_or_reply(const struct _u_request *req, struct _u_response *res, struct request_key *k,
                                const struct idempotency **out)
{
    memset(k, 0, sizeof *k);
    *out = NULL;
    const char *key = header(req, "Idempotency-Key");
    if (!key)
        return 0;
    if (!*key || strlen(key) > 200 || !utf8_valid(key, strlen(key))) {
        reply_problem(req, res, 400, "Idempotency-Key must have 1 to 200 characters of UTF-8 text", NULL);
        return -1;
    }
    const struct exchange *ex = exchange_of(res);
    snprintf(k->scope, sizeof k->scope, "%lld POST %s", (long long)(ex ? ex->actor.token_id : 0), req->url_path);
    k->body = strndup(req->binary_body ? req->binary_body : "", req->binary_body_length);
    k->idem = (struct idempotency){.scope = k->scope, .key = key, .request = k->body ? k->body : ""};
    *out = &k->idem;
    return 0;
}

int post_and_reply(const struct _u_request *req, struct _u_response *res, struct app *app, const struct post *p)
{
    struct request_key key;
    const struct idempotency *idem;
    if (idempotency_or_reply(req, res, &key, &idem) != 0)
        return U_CALLBACK_COMPLETE;
    struct call c;
    call_for_request(&c, res, app);
    struct created out = {0};
    duban_status s = p->run(&c, p->input, idem, &out);
    free(key.body);
    if (s == DUBAN_OK) {
        json_int_t id = json_integer_value(json_object_get(out.doc, p->id_member ? p->id_member : "id"));
        if (p->items && id > 0) {
            char location[256];
            snprintf(location, sizeof location, "%s%lld", p->items, (long long)id);
            ulfius_add_header_to_response(res, "Location", location);
        }
        if (out.replayed)
            ulfius_add_header_to_response(res, "Idempotent-Replayed", "true");
        else if (p->after)
            p->after(app);
    }
    int status = p->status_again && out.again ? p->status_again : p->status;
    return reply_call(req, res, &c, s, out.doc, status, p->flags);
}
