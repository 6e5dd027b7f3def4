/* The actions of the supervision loop (督办): a unit signs for a task
 * (签收), its lead unit asks to close it and an editor verifies or rejects
 * (办结 → 核查 → 销号), the office urges a unit and the unit replies (催办).
 * Each action is one transaction, journaled, idempotent with a key. The
 * body is the client's JSON object, checked here: unknown members and
 * wrong types are DUBAN_BAD_INPUT, bad values DUBAN_INVALID, every one
 * listed at once. A reporter (c->unit_scope) acts only for its own unit
 * (DUBAN_FORBIDDEN). out->doc is the answer (new reference). */
#ifndef DUBAN_SUPERVISION_ACTIONS_H
#define DUBAN_SUPERVISION_ACTIONS_H

#include <jansson.h>
#include <stdint.h>

#include "model/call.h"
#include "model/idempotency.h"
#include "model/listing.h"
#include "model/resource.h"

/* What an action is asked: the row the path names (a task, a closure
 * request or an urge), the version the client saw of a closure request or
 * urge it decides or replies to (0: any; else DUBAN_STALE when the row is
 * at another), and the body. */
struct action_request {
    int64_t id;
    int64_t if_version;
    const json_t *body;
};

typedef duban_status (*supervision_action)(struct call *c, const struct action_request *in,
                                           const struct idempotency *idem, struct created *out);

/* {"unit_id"} on task id: the unit, assigned to the task (else
 * DUBAN_INVALID), signs for it. out->doc is {task_id, unit_id,
 * acknowledged_at}; out->again is 1 when it had signed before (nothing
 * is written then, and the answer is the same), also on a replay whose
 * first answer found it so. */
duban_status acknowledgement_create(struct call *c, const struct action_request *in,
                                    const struct idempotency *idem, struct created *out);

/* {"unit_id", "summary", "evidence"} on task id: the task's lead unit asks
 * to close it. DUBAN_CONFLICT when the task is closed or a request of it
 * waits for a decision. out->doc is the request. */
duban_status closure_request_create(struct call *c, const struct action_request *in,
                                    const struct idempotency *idem, struct created *out);

/* {"decision": "accept" | "reject", "comment"} on closure request id
 * (the comment required to reject), decided by the call's token: accept
 * verifies the request and closes the task (done, progress 100); reject
 * rejects it and the task is in_progress again. DUBAN_CONFLICT when the
 * request was decided already. out->doc is the request. */
duban_status closure_request_decide(struct call *c, const struct action_request *in,
                                    const struct idempotency *idem, struct created *out);

/* {"unit_id", "message", "reply_by"} on task id: the office urges one of
 * the task's units (else DUBAN_INVALID). out->doc is the urge. */
duban_status urge_create(struct call *c, const struct action_request *in, const struct idempotency *idem,
                         struct created *out);

/* {"message"} on urge id: the urged unit replies (a reporter only for its
 * own unit). DUBAN_CONFLICT when it was replied to already. out->doc is
 * the urge. */
duban_status urge_reply(struct call *c, const struct action_request *in, const struct idempotency *idem,
                        struct created *out);

/* Closure requests and urges as resources to read and list. */
extern const struct resource closure_request_resource, urge_resource;
/* The representation of acknowledgement row `a` (it has no id: its key is
 * task_id and unit_id), an SQL expression. */
extern const char acknowledgement_json[];
extern const struct list_spec closure_request_list, urge_list;

#endif
