/* Lists: filters from query parameters, combined with AND; sort over an
 * allow-list; limit and offset, or a keyset cursor `after` (opaque: the
 * base64url of the sort key values of the last row of the page before);
 * the {items, total, limit, offset} envelope, total left out on request.
 * Every parameter is checked, and an unknown or malformed one is reported
 * by name (DUBAN_BAD_INPUT), never ignored. */
#ifndef DUBAN_LISTING_H
#define DUBAN_LISTING_H

#include "model/call.h"
#include "model/params.h"

/* FILTER_TIME takes a date (YYYY-MM-DD) or an RFC 3339 date-time.
 * FILTER_ENUM_LIST takes one choice or several separated by commas, bound
 * to `$$` as written (the SQL splits it).
 * FILTER_SWITCH takes one of two choices: `sql` for the first, `sql_false`
 * for the second (written out, so the planner sees plain conditions). */
enum filter_type {
    FILTER_ID, FILTER_ID_OR_NULL, FILTER_INT, FILTER_DATE, FILTER_TIME, FILTER_TEXT, FILTER_ENUM, FILTER_BOOL,
    FILTER_SWITCH, FILTER_ENUM_LIST
};

/* A filter's SQL is a condition on row r in which `$$` stands for its
 * value and `{name}` for the value of another filter, which must then be
 * given too. */
struct filter {
    const char *name;
    enum filter_type type;
    const char *sql;          /* for FILTER_BOOL: the condition when true */
    const char *sql_false;    /* FILTER_BOOL: when false; FILTER_ID_OR_NULL: when "null" */
    long min, max;            /* FILTER_INT */
    const char *const *choices;
    const char *implied_by;   /* a filter whose condition implies this one's: given, this one adds none */
};

struct sort_key {
    const char *name;
    const char *sql;          /* an expression on row r */
};

/* A total the database keeps for one set of filters, each given in its
 * positive sense (overdue=true, not false), in any order: the list reads
 * it instead of counting its rows. At most one of the filters has a value,
 * which is then $1. */
struct kept_count {
    const char *filters[4];   /* their names, NULL-terminated */
    const char *sql;          /* one row, one column: the total */
};

struct list_spec {
    const char *table;              /* aliased r */
    const char *json;               /* the representation of row r */
    const struct filter *filters;   /* terminated by a NULL name */
    const struct sort_key *sorts;   /* terminated by a NULL name */
    const char *default_order;      /* SQL over columns never NULL, ending in a unique key */
    const struct kept_count *kept;  /* terminated by a NULL sql; NULL: every total is counted */
    const char *lateral;            /* NULL, or a LATERAL item of exactly one row per row r that json
                                       reads: joined once per page, not a subplan run per row */
};

/* A list within a parent: the parent must exist, and `param` is fixed. */
struct list_scope {
    const char *param;        /* the filter the parent fixes, e.g. "unit_id" */
    const char *table;        /* the parent's table */
    const char *name;         /* the parent's name for messages */
    int64_t id;
};

enum { LIST_MAX_PARAMS = 40, LIST_MAX_KEYS = 12 };

/* A list request checked and turned into SQL (pure: no database). The
 * values are the filters' ($1..nfilter), the cursor's, then the offset
 * when it is not 0 (limit + 1 is written into the statement). */
struct list_query {
    const struct list_spec *spec;
    const struct param_list *q;
    const struct list_scope *scope;
    unsigned flags;
    char scope_id[24];
    const char *values[LIST_MAX_PARAMS];        /* borrowed from q, this struct and cursor */
    int nvalues, nfilter;
    long limit, offset;
    char limit_text[24], offset_text[24];
    char where[4096];
    const struct filter *applied[LIST_MAX_PARAMS];   /* each condition's filter, NULL when negated */
    int napplied;
    const char *count_sql;                 /* the spec's kept total for these filters, or NULL: count */
    char order[1024];
    int nkeys;                             /* the sort keys: order split at its top-level commas */
    char keys[LIST_MAX_KEYS][256];
    int desc[LIST_MAX_KEYS];
    const char *after;                     /* the cursor given, or NULL */
    json_t *cursor;                        /* decoded: [order tag, key values...] */
    char keyset[4096];                     /* " AND (rows after the cursor)", or "" */
    char *sql;                             /* owned: the page */
};

/* Checks every parameter of q against spec (DUBAN_BAD_INPUT naming each bad
 * one) and builds the SQL of the page. Clear *out with list_query_clear
 * either way. */
duban_status list_prepare(struct call *c, const struct list_spec *spec, const struct param_list *q,
                          const struct list_scope *scope, struct list_query *out);
void list_query_clear(struct list_query *qr);

enum { LIST_TAG_SIZE = 24, LIST_CURSOR_SIZE = 2048 };

/* LIST_NO_TOTAL: the client asked for no total (Prefer: count=none); the
 * filtered rows are then not counted, and the tag covers the page alone.
 * LIST_TAG_ONLY: only the page's numbers and tag are wanted (to answer a
 * revalidation): no item is rendered and no text is made. */
enum { LIST_NO_TOTAL = 1, LIST_TAG_ONLY = 2 };

struct list_page {
    long total;                /* -1 when not counted */
    long limit, offset;        /* offset 0 for a page after a cursor */
    int has_next;              /* a row follows the page (found by fetching limit + 1) */
    int keyset;                /* the page was asked with `after` */
    char next_after[LIST_CURSOR_SIZE];   /* the cursor of the next page, "" when none */
    char tag[LIST_TAG_SIZE];   /* the list's entity-tag, W/"..." (see model/listing.c) */
};

/* Runs the list described by spec and the query q: *text (malloc'd) is the
 * JSON envelope {items, total, limit, offset} around the items as the
 * database rendered them (NULL with LIST_TAG_ONLY), and *page its numbers,
 * for paging links, and its tag. */
duban_status list_run_text(struct call *c, const struct list_spec *spec, const struct param_list *q,
                           const struct list_scope *scope, unsigned flags, char **text, struct list_page *page);

/* Whether the list's current tag is known without asking the database
 * (model/list_tags.h), and then the tag. A query prepare would refuse is
 * not known; its errors are not kept in c. */
int list_known_tag(struct call *c, const struct list_spec *spec, const struct param_list *q,
                   const struct list_scope *scope, unsigned flags, char tag[LIST_TAG_SIZE]);

/* The same, with the envelope parsed; *out is a new reference. */
duban_status list_run(struct call *c, const struct list_spec *spec, const struct param_list *q,
                      const struct list_scope *scope, json_t **out);

#endif
