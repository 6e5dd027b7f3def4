/* The audit journal: read-only here. Rows are written by the triggers of
 * migration 0002, in the transaction of the change they record. */
#include "model/audit.h"

static const char *const ACTIONS[] = {"insert", "update", "delete", NULL};

#define AUDIT_JSON                                                                                          \
    "json_build_object('id', r.id, 'at', rfc3339(r.at), 'token_id', r.token_id, 'token_name', r.token_name, " \
    "'request_id', r.request_id, 'action', r.action, 'entity', r.entity, 'entity_id', r.entity_id, "          \
    "'before', r.before, 'after', r.after)"

static const struct filter FILTERS[] = {
    {"entity", FILTER_TEXT, "r.entity = $$", NULL, 0, 0, NULL},
    {"entity_id", FILTER_ID, "r.entity_id = $$", NULL, 0, 0, NULL},
    {"token_id", FILTER_ID, "r.token_id = $$", NULL, 0, 0, NULL},
    {"request_id", FILTER_TEXT, "r.request_id = $$", NULL, 0, 0, NULL},
    {"action", FILTER_ENUM, "r.action = $$", NULL, 0, 0, ACTIONS},
    {"since", FILTER_TIME, "r.at >= $$::timestamptz", NULL, 0, 0, NULL},
    {"until", FILTER_TIME, "r.at <= $$::timestamptz", NULL, 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};
static const struct sort_key SORTS[] = {{"id", "r.id"}, {"at", "r.at"}, {NULL, NULL}};

const struct list_spec audit_list = {"audit_log", AUDIT_JSON, FILTERS, SORTS, "r.id"};
