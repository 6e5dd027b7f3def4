/* A responsibility decomposition plan (责任分解方案) as a tree, and the pure
 * parser that reads one from the text of the document.
 *
 * Pure: no database, no HTTP, no global state, only libc; every function is
 * safe to call from several threads at once on different documents.
 *
 * Ownership: a struct plan_doc owns every string and array it points to.
 * Fill one only through plan_parse, plan_parse_csv or plan_doc_add_*, and
 * release it with plan_doc_free. The rules the parser applies are written
 * at the top of model/plan_parser.c. */
#ifndef DUBAN_PLAN_DOC_H
#define DUBAN_PLAN_DOC_H

#include <stddef.h>

/* Inputs longer than this are refused before they are read. */
#define PLAN_MAX_INPUT ((size_t)4 * 1024 * 1024)
/* Documents with more nodes (headings and paragraphs) than this are refused. */
#define PLAN_MAX_NODES 20000

enum plan_recurrence {
    RECUR_NONE,
    RECUR_MONTHLY,
    RECUR_BIMONTHLY,
    RECUR_QUARTERLY,
    RECUR_SEMIANNUAL,
    RECUR_YEARLY
};

struct plan_unit_ref {
    char *name;
    char *alias;            /* second name of the same unit, NULL when none */
};

struct plan_node {
    int parent;             /* index into doc->nodes, -1 for a top-level node */
    int level;              /* 1 = 一、  2 = （一）  3 = 1.  4 = a paragraph */
    char *outline;          /* "一", "（一）", "1.", NULL for level 4 */
    char *title;            /* heading text up to and including its first 。;
                               NULL for level 4 and for a heading with no text */
    char *body;             /* the rest of the text, paragraphs joined by "\n"; or NULL */
    char **leaders;         /* 责任领导, in document order */
    size_t n_leaders;
    struct plan_unit_ref *units;    /* 责任单位; units[0] is the lead unit */
    size_t n_units;
    char due_on[11];        /* "YYYY-MM-DD" or "" */
    char *due_text;         /* the phrase the date came from, or NULL */
    enum plan_recurrence recurrence;
    char *recurrence_text;  /* e.g. "每年", or NULL */
    int line;               /* 1-based source line where the node starts */
};

struct plan_issue {
    int line;               /* 1-based line, 0 when the issue is about the whole input */
    int is_error;           /* 1: the document is refused; 0: a warning */
    char *message;          /* English, starts with "line N: " when line > 0 */
};

struct plan_doc {
    char *doc_number;       /* 文号, e.g. 青西新办发〔2018〕21号, or NULL */
    char *title;            /* e.g. 《关于打赢脱贫攻坚战三年行动的意见》 责任分解方案, or NULL */
    char *issuer;           /* issuing offices separated by one space, or NULL */
    char issued_on[11];     /* "YYYY-MM-DD" or "" */
    char *basis;            /* the document this plan implements, 《…》（…号）, or NULL */
    struct plan_node *nodes;    /* document order; nodes[i].parent < i */
    size_t n_nodes;
    struct plan_issue *issues;  /* warnings and errors, in line order of discovery */
    size_t n_issues;
    size_t nodes_cap;       /* allocated slots; maintained by plan_doc_add_node */
    size_t issues_cap;      /* allocated slots; maintained by plan_doc_add_issue */
};

/* Parses len bytes of UTF-8 text (text may be NULL when len is 0).
 * Returns 0 and fills *out when the document is usable, with warnings in
 * out->issues. Returns -1 when it is refused: no headings, invalid UTF-8, NUL
 * or control bytes, more than PLAN_MAX_INPUT bytes or PLAN_MAX_NODES nodes,
 * an assignment with no text, a 责任单位： line with no units, out of memory. Then out->issues holds
 * the errors (is_error = 1, naming the line) and nothing else.
 * In both cases *out is overwritten and the caller frees it with plan_doc_free. */
int plan_parse(const char *text, size_t len, struct plan_doc *out);

/* Frees everything doc owns and leaves it empty. doc may be NULL. */
void plan_doc_free(struct plan_doc *doc);

/* NULL, "monthly", "bimonthly", "quarterly", "semiannual", "yearly";
 * NULL as well for a value outside the enum. */
const char *plan_recurrence_name(enum plan_recurrence r);

/* The inverse of plan_recurrence_name: 0 and *out set for one of its names,
 * RECUR_NONE for NULL or ""; -1 for anything else. */
int plan_recurrence_from_name(const char *name, enum plan_recurrence *out);

/* 1 when s is a real calendar date written "YYYY-MM-DD", else 0. */
int plan_date_is_valid(const char *s);

/* Checks that len bytes are acceptable input: at most PLAN_MAX_INPUT bytes,
 * valid UTF-8, no NUL and no control character but tab, CR, LF and form feed.
 * Returns 0, or -1 after adding an error naming the line to doc->issues. */
int plan_text_check(const char *text, size_t len, struct plan_doc *doc);

/* Splits a 责任单位 list ("A、B（C）、D") into units: separators 、 ， , outside
 * brackets; the note 列在首位的为牵头单位（下同） and trailing 。 removed; a
 * trailing （…） that is a unit name of its own becomes the alias.
 * On success returns 0 and sets *out (malloc'd, free each name, alias and
 * the array; NULL when *n is 0). Returns -1 when out of memory. */
int plan_parse_units(const char *text, size_t len, struct plan_unit_ref **out, size_t *n);

/* Splits a 责任领导 list on spaces (ASCII or U+3000), 、 ， and ,.
 * Ownership and return as plan_parse_units. */
int plan_parse_leaders(const char *text, size_t len, char ***out, size_t *n);

/* Appends a zeroed node (parent -1, recurrence RECUR_NONE) to doc.
 * Returns its index, or -1 when out of memory. */
int plan_doc_add_node(struct plan_doc *doc);

/* Appends an issue whose message is "line N: " (when line > 0) followed by
 * the formatted text. Returns 0, or -1 when out of memory. */
int plan_doc_add_issue(struct plan_doc *doc, int line, int is_error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* 1 when doc->issues holds at least one error. */
int plan_doc_has_errors(const struct plan_doc *doc);

#endif
