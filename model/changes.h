/* The change feed (migration 0009): every committed write's events, one
 * per changed entity, in the order readers may rely on: (xid, seq), handed
 * out only below the oldest transaction still running, so that a reader
 * past a position never meets an event before it later. Read page by page
 * (changes_read: GET /api/v1/changes) or followed as they come
 * (model/change_hub.h: the stream). */
#ifndef DUBAN_CHANGES_H
#define DUBAN_CHANGES_H

#include <stddef.h>
#include <stdint.h>

#include "model/call.h"

/* The entities that have events, as bits of a filter: bit i is
 * change_entity_names[i]. */
enum { CHANGE_ENTITY_COUNT = 8 };
extern const char *const change_entity_names[CHANGE_ENTITY_COUNT];

/* Which events a reader wants: entities (bits; 0 for all) and a plan (0
 * for any: events of that plan's tasks, logs and supervision records, and
 * of the plan itself). */
struct change_filter {
    unsigned entities;
    int64_t plan_id;
};

/* The bit of entity name, 0 when it is none of them. */
unsigned change_entity_bit(const char *name);

/* Parses `entity=` (a comma-separated list of entity names) and
 * `plan_id=` (a positive integer), each may be NULL; every bad one is a
 * field error in c (400). */
duban_status change_filter_parse(struct call *c, const char *entities, const char *plan_id,
                                 struct change_filter *out);

/* A position in the feed: after (xid, seq). */
struct change_position {
    uint64_t xid;
    int64_t seq;
};

/* Compares positions like strcmp. */
int change_position_cmp(const struct change_position *a, const struct change_position *b);

/* One event as read: where it stands, what it is about, and its texts. */
struct change_item {
    struct change_position at;
    unsigned entity;        /* its entity's bit, 0 for other events (webhook.*) */
    int64_t plan_id;        /* 0 when none */
    char *cursor;           /* owned by the page */
    char *type;
    char *json;             /* the event as one line of JSON */
};

struct change_page {
    struct change_item *items;
    size_t count;
    int has_more;                   /* more events match after the last item */
    int held;                       /* committed events wait behind a transaction still running */
    struct change_position next;    /* where the next read starts */
    char *next_cursor;              /* the cursor of `next` */
};

/* Reads up to limit events matching f after the cursor `after` (NULL:
 * from the oldest event kept). DUBAN_BAD_INPUT (a field error on `after`)
 * when it is not a cursor at all; DUBAN_GONE when it is another feed's,
 * or older than what was purged. out->next_cursor is never empty. */
duban_status changes_read(struct call *c, const char *after, const struct change_filter *f, int limit,
                          struct change_page *out);

/* The same from a position instead of a cursor (the stream, going on). */
duban_status changes_read_from(struct call *c, const struct change_position *after, const struct change_filter *f,
                               int limit, struct change_page *out);

void change_page_clear(struct change_page *p);

#endif
