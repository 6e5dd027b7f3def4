/* Reading the change feed: cursors, filters and pages (model/changes.h). */
#include "model/changes.h"
#include "model/change_sql.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <orcania.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/sql.h"

const char *const change_entity_names[CHANGE_ENTITY_COUNT] = {
    "plan", "task", "unit", "leader", "progress_log", "acknowledgement", "closure_request", "urge",
};

unsigned change_entity_bit(const char *name)
{
    for (unsigned i = 0; i < CHANGE_ENTITY_COUNT; i++)
        if (strcmp(name, change_entity_names[i]) == 0)
            return 1u << i;
    return 0;
}

/* A whole decimal number from 1 to INT64_MAX, else 0. */
static int64_t positive(const char *text)
{
    if (!text || !isdigit((unsigned char)*text))
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    return errno || *end || v < 1 ? 0 : (int64_t)v;
}

duban_status change_filter_parse(struct call *c, const char *entities, const char *plan_id, struct change_filter *out)
{
    out->entities = 0;
    out->plan_id = 0;
    for (const char *p = entities; p && *p;) {
        size_t n = strcspn(p, ",");
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), p);
        unsigned bit = n < sizeof name ? change_entity_bit(name) : 0;
        if (!bit)
            call_field_error(c, "entity", "'%.*s' is not one of plan, task, unit, leader, progress_log, "
                             "acknowledgement, closure_request, urge", (int)(n > 40 ? 40 : n), p);
        out->entities |= bit;
        p += n + (p[n] == ',');
        if (!*p && p[-1] == ',')
            call_field_error(c, "entity", "must not end with a comma");
    }
    if (entities && !*entities)
        call_field_error(c, "entity", "must name at least one entity");
    if (plan_id && !(out->plan_id = positive(plan_id)))
        call_field_error(c, "plan_id", "must be a positive integer");
    return call_errors_status(c, DUBAN_BAD_INPUT);
}

int change_position_cmp(const struct change_position *a, const struct change_position *b)
{
    if (a->xid != b->xid)
        return a->xid < b->xid ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* A decoded cursor: its position and the feed that issued it. */
struct cursor {
    struct change_position at;
    char feed[40];
};

/* Decodes base64url("xid.seq.feed"); -1 when text is no such thing. */
static int cursor_parse(const char *text, struct cursor *out)
{
    unsigned char plain[128];
    size_t len = 0, n = strlen(text);
    if (n == 0 || n > 160 || !o_base64url_decode((const unsigned char *)text, n, NULL, &len) || len >= sizeof plain ||
        !o_base64url_decode((const unsigned char *)text, n, plain, &len))
        return -1;
    plain[len] = '\0';
    char xid[24], seq[24];
    int used = 0;
    if (sscanf((const char *)plain, "%23[0-9].%23[0-9].%39[0-9a-f]%n", xid, seq, out->feed, &used) != 3 ||
        (size_t)used != len)
        return -1;
    errno = 0;
    out->at.xid = strtoull(xid, NULL, 10);
    long long s = strtoll(seq, NULL, 10);
    out->at.seq = s;
    return errno ? -1 : 0;
}

/* The page statement. $1, $2: the position after which to read; $3: how
 * many rows at most; $4: entities (text[]); $5: plan id
 * (null for any). Every row carries the feed's identity, its purge mark
 * and its tail (the newest event readable now, (0, 0) when none), and
 * whether committed events wait behind a transaction still running, all
 * from the one snapshot whose xmin bounds what is read; an empty page is
 * one row without an event. An event not rendered at its commit (written
 * by SQL run outside duban) is flagged: its representation comes from
 * the second statement, kept apart so that the page statement stays
 * small to plan. */
static char page_sql[4096], rendered_sql[20480];
static pthread_once_t page_built = PTHREAD_ONCE_INIT;

static void build_page_sql(void)
{
    int r = snprintf(rendered_sql, sizeof rendered_sql,
                     "SELECT change_json(e, %s) FROM change_event e WHERE e.xid = $1::xid8 AND e.seq = $2::bigint",
                     change_data_sql());
    int n = snprintf(page_sql, sizeof page_sql,
        "WITH v AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin), "
        "t AS (SELECT coalesce(max(x.xid), '0') AS xid, coalesce(max(x.seq), 0) AS seq FROM ("
        "  SELECT e.xid, e.seq FROM change_event e, v WHERE e.xid < v.xmin ORDER BY e.xid DESC, e.seq DESC LIMIT 1) x), "
        "h AS (SELECT f.feed, f.purged_xid::text AS purged_xid, f.purged_seq, t.xid::text AS tail_xid, t.seq AS tail_seq, "
        "  change_cursor(t.xid, t.seq) AS tail_cursor FROM change_feed f, t), "
        "p AS (SELECT e.xid, e.seq, e.entity, e.plan_id, e.type, change_cursor(e.xid, e.seq) AS cursor, "
        "  change_json(e, e.data) AS json, %s AS unrendered FROM change_event e, v "
        "  WHERE (e.xid, e.seq) > ($1::xid8, $2::bigint) AND e.xid < v.xmin "
        "    AND e.entity = ANY ($4::text[]) AND ($5::bigint IS NULL OR e.plan_id = $5::bigint) "
        "  ORDER BY e.xid, e.seq LIMIT $3::integer) "
        "SELECT h.feed, h.purged_xid, h.purged_seq, h.tail_xid, h.tail_seq, h.tail_cursor, "
        "  coalesce((SELECT e.xid FROM change_event e ORDER BY e.xid DESC, e.seq DESC LIMIT 1) >= (SELECT xmin FROM v), false), "
        "  p.xid::text, p.seq, p.entity, p.plan_id, p.type, p.cursor, p.json, p.unrendered "
        "FROM h LEFT JOIN p ON true ORDER BY p.xid, p.seq",
        change_unrendered_sql());
    if (n < 0 || (size_t)n >= sizeof page_sql || r < 0 || (size_t)r >= sizeof rendered_sql)
        abort();   /* the representations outgrew the buffer: a defect every test catches */
}

enum { COL_FEED, COL_PURGED_XID, COL_PURGED_SEQ, COL_TAIL_XID, COL_TAIL_SEQ, COL_TAIL_CURSOR, COL_HELD, COL_XID, COL_SEQ,
       COL_ENTITY, COL_PLAN, COL_TYPE, COL_CURSOR, COL_JSON, COL_UNRENDERED };

static struct change_position position_at(const PGresult *res, int row, int xid_col, int seq_col)
{
    return (struct change_position){strtoull(PQgetvalue(res, row, xid_col), NULL, 10),
                                    strtoll(PQgetvalue(res, row, seq_col), NULL, 10)};
}

/* Copies row `row` of the page statement into item, with json (the
 * event's JSON text). 0, or -1 when out of memory. */
static int take_item(const PGresult *res, int row, const char *json, struct change_item *item)
{
    const char *cursor = PQgetvalue(res, row, COL_CURSOR), *type = PQgetvalue(res, row, COL_TYPE);
    size_t lc = strlen(cursor) + 1, lt = strlen(type) + 1, lj = strlen(json) + 1;
    char *block = malloc(lc + lt + lj);
    if (!block)
        return -1;
    item->cursor = memcpy(block, cursor, lc);
    item->type = memcpy(block + lc, type, lt);
    item->json = memcpy(block + lc + lt, json, lj);
    item->at = position_at(res, row, COL_XID, COL_SEQ);
    item->entity = change_entity_bit(PQgetvalue(res, row, COL_ENTITY));
    item->plan_id = PQgetisnull(res, row, COL_PLAN) ? 0 : strtoll(PQgetvalue(res, row, COL_PLAN), NULL, 10);
    return 0;
}

/* The entities of a filter as an SQL array, into buf; all eight when it
 * names none (the feed carries no other events: a webhook.disabled event
 * in the table is for webhook subscribers, admins' business). */
static const char *entity_array(unsigned entities, char *buf, size_t size)
{
    if (!entities)
        entities = (1u << CHANGE_ENTITY_COUNT) - 1;
    size_t used = (size_t)snprintf(buf, size, "{");
    for (unsigned i = 0; i < CHANGE_ENTITY_COUNT; i++)
        if (entities & (1u << i))
            used += (size_t)snprintf(buf + used, size - used, "%s%s", used > 1 ? "," : "", change_entity_names[i]);
    snprintf(buf + used, size - used, "}");
    return buf;
}

/* What a page read asks: after where (and as which cursor, when a client
 * gave one: the feed is then checked), for what, how many. */
struct page_read {
    struct cursor from;
    const char *cursor;       /* NULL when reading from a position of ours */
    const struct change_filter *filter;
    int limit;
    struct change_page *out;
};

/* The JSON of the event at row `row` of the page statement into *json:
 * as read, or, not rendered at its commit, with its entity as it is now
 * (*rendered then holds that result, to be freed). */
static duban_status event_json(struct call *c, PGconn *conn, const PGresult *res, int row, PGresult **rendered,
                               const char **json)
{
    *rendered = NULL;
    *json = PQgetvalue(res, row, COL_JSON);
    if (strcmp(PQgetvalue(res, row, COL_UNRENDERED), "t") != 0)
        return DUBAN_OK;
    const char *params[] = {PQgetvalue(res, row, COL_XID), PQgetvalue(res, row, COL_SEQ)};
    duban_status s = db_exec(c, conn, rendered, rendered_sql, 2, params);
    if (s == DUBAN_OK && PQntuples(*rendered) == 1)
        *json = PQgetvalue(*rendered, 0, 0);
    return s;
}

/* Fills the page from the statement's rows, after checking the cursor's
 * feed and that nothing after it was purged. */
static duban_status fill_page(struct call *c, PGconn *conn, const PGresult *res, struct page_read *r)
{
    struct change_page *out = r->out;
    if (r->cursor && strcmp(r->from.feed, PQgetvalue(res, 0, COL_FEED)) != 0)
        return call_fail(c, DUBAN_GONE, "this cursor was not issued by this service's change feed: "
                         "resynchronise from the lists, then follow the feed from its next_cursor");
    struct change_position purged = position_at(res, 0, COL_PURGED_XID, COL_PURGED_SEQ);
    if ((r->cursor || r->from.at.xid) && change_position_cmp(&r->from.at, &purged) < 0)
        return call_fail(c, DUBAN_GONE, "this cursor is older than the change events kept (DUBAN_CHANGES_RETENTION_DAYS): "
                         "resynchronise from the lists, then follow the feed from its next_cursor");
    int rows = PQgetisnull(res, 0, COL_XID) ? 0 : PQntuples(res);
    out->held = strcmp(PQgetvalue(res, 0, COL_HELD), "t") == 0;
    out->has_more = r->limit > 0 && rows > r->limit;
    out->count = (size_t)(out->has_more ? r->limit : rows);
    out->items = out->count ? calloc(out->count, sizeof *out->items) : NULL;
    if (out->count && !out->items)
        return call_fail(c, DUBAN_ERROR, "out of memory");
    for (size_t i = 0; i < out->count; i++) {
        PGresult *rendered;
        const char *json;
        duban_status s = event_json(c, conn, res, (int)i, &rendered, &json);
        int taken = s == DUBAN_OK ? take_item(res, (int)i, json, &out->items[i]) : 0;
        PQclear(rendered);
        if (s != DUBAN_OK)
            return s;
        if (taken != 0)
            return call_fail(c, DUBAN_ERROR, "out of memory");
    }
    /* on: after the last item when more follow, else at the tail (past
     * events the filter left out) unless the reader was ahead of it */
    struct change_position tail = position_at(res, 0, COL_TAIL_XID, COL_TAIL_SEQ);
    const char *next = out->has_more ? out->items[out->count - 1].cursor
                       : change_position_cmp(&tail, &r->from.at) > 0 || !r->cursor ? PQgetvalue(res, 0, COL_TAIL_CURSOR)
                                                                                    : r->cursor;
    out->next = out->has_more ? out->items[out->count - 1].at
                : change_position_cmp(&tail, &r->from.at) > 0 ? tail : r->from.at;
    if (!(out->next_cursor = strdup(next)))
        return call_fail(c, DUBAN_ERROR, "out of memory");
    return DUBAN_OK;
}

static duban_status page_work(struct call *c, PGconn *conn, void *arg)
{
    struct page_read *r = arg;
    pthread_once(&page_built, build_page_sql);
    char xid[24], seq[24], limit[16], plan[24], entities[160];
    snprintf(xid, sizeof xid, "%" PRIu64, r->from.at.xid);
    snprintf(seq, sizeof seq, "%" PRId64, r->from.at.seq);
    snprintf(limit, sizeof limit, "%d", r->limit ? r->limit + 1 : 0);
    snprintf(plan, sizeof plan, "%" PRId64, r->filter->plan_id);
    const char *params[] = {xid, seq, limit, entity_array(r->filter->entities, entities, sizeof entities),
                            r->filter->plan_id ? plan : NULL};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res, page_sql, 5, params);
    if (s != DUBAN_OK)
        return s;
    change_page_clear(r->out);
    s = PQntuples(res) > 0 ? fill_page(c, conn, res, r) : call_fail(c, DUBAN_ERROR, "the change feed is not set up");
    PQclear(res);
    if (s != DUBAN_OK)
        change_page_clear(r->out);
    return s;
}

duban_status changes_read(struct call *c, const char *after, const struct change_filter *f, int limit,
                          struct change_page *out)
{
    memset(out, 0, sizeof *out);
    struct page_read r = {.cursor = after, .filter = f, .limit = limit, .out = out};
    if (after && cursor_parse(after, &r.from) != 0) {
        call_field_error(c, "after", "is not a cursor of this change feed (cursors are used as given: next_cursor, "
                         "URL-encoded)");
        return call_fail(c, DUBAN_BAD_INPUT, "after is not a cursor");
    }
    return db_read(c, page_work, &r);
}

duban_status change_page_on(struct call *c, PGconn *conn, const struct change_position *after,
                            const struct change_filter *f, int limit, struct change_page *out)
{
    memset(out, 0, sizeof *out);
    struct page_read r = {.from.at = *after, .filter = f, .limit = limit, .out = out};
    return conn ? page_work(c, conn, &r) : db_read(c, page_work, &r);
}

duban_status changes_read_from(struct call *c, const struct change_position *after, const struct change_filter *f,
                               int limit, struct change_page *out)
{
    return change_page_on(c, NULL, after, f, limit, out);
}

void change_page_clear(struct change_page *p)
{
    for (size_t i = 0; p->items && i < p->count; i++)
        free(p->items[i].cursor);
    free(p->items);
    free(p->next_cursor);
    memset(p, 0, sizeof *p);
}

duban_status change_purge_on(struct call *c, PGconn *conn, int retention_days, int batch, long *removed)
{
    char days[16], size[16];
    snprintf(days, sizeof days, "%d", retention_days);
    snprintf(size, sizeof size, "%d", batch);
    const char *params[] = {days, size};
    PGresult *res;
    *removed = 0;
    duban_status s = db_exec(c, conn, &res, "SELECT change_purge(now() - make_interval(days => $1::integer), $2::integer)",
                             2, params);
    if (s == DUBAN_OK) {
        *removed = strtol(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
    }
    return s;
}
