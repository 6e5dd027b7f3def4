/* POST /api/v1/units/{id}/merge with {"from": other_id}: the other unit's
 * assignments, reports, reporter tokens and names move to this one, and
 * the other is deleted (model/unit.c). */
#include "api/answer.h"
#include "api/app.h"
#include "api/posting.h"
#include "api/problem.h"
#include "api/request.h"
#include "api/router.h"
#include "api/routes.h"
#include "model/token_cache.h"
#include "model/unit.h"

struct merge {
    int64_t into, from;
};

static duban_status run_merge(struct call *c, const void *input, const struct idempotency *idem, struct created *out)
{
    const struct merge *m = input;
    return unit_merge(c, m->into, m->from, idem, out);
}

/* Reporter tokens of the merged unit moved: forget what the cache holds. */
static void forget_tokens(struct app *app) { token_cache_clear(app->tokens); }

static int cb_unit_merge(const struct _u_request *req, struct _u_response *res, void *ctx)
{
    struct app *app = ((struct route_ctx *)ctx)->app;
    struct merge m;
    json_t *body;
    if (path_id_or_reply(req, res, &m.into) != 0 || known_query_or_reply(req, res, NULL, NULL) != 0 ||
        json_body_or_reply(req, res, 0, &body) != 0)
        return U_CALLBACK_COMPLETE;
    json_t *from = json_object_get(body, "from");
    int well_formed = json_is_integer(from) && json_object_size(body) == 1;
    m.from = json_integer_value(from);
    json_decref(body);
    if (!well_formed)
        return reply_problem(req, res, 400, "the body must be {\"from\": <id of the unit to merge into this one>}", NULL);
    if (m.from <= 0)
        return reply_problem(req, res, 422, "from must be a positive unit id", NULL);
    struct post post = {.run = run_merge, .input = &m, .status = 200, .flags = ANSWER_VERSIONED, .after = forget_tokens};
    return post_and_reply(req, res, app, &post);
}

void merge_register(struct router *r)
{
    router_add(r, "POST", "/api/v1/units/:" ROUTE_ID "/merge", cb_unit_merge, NULL);
}
