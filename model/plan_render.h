/* The inverse of plan_parse: a struct plan_doc written back as document
 * text (model/plan_render_text.c) or as CSV, and the CSV read back
 * (model/plan_render_csv.c). Pure and thread-safe like model/plan_doc.h.
 *
 * Text layout (what plan_parse reads back to the same tree, metadata,
 * assignments, deadlines and cadences), every line followed by a blank line:
 *     <doc_number>
 *     <issuer>                      (when there is an issue date)
 *     <YYYY年M月D日>
 *     <issuer> 印发本方案的通知     (instead, when there is no issue date)
 *     <title>
 *     根据<basis>，制定本方案。
 *     一、<title>   （一）<title>   1. <title><body>   <body paragraph>
 *     责任领导：<leader> <leader>
 *     责任单位：<lead unit>、<unit>、<name>（<alias>）
 *
 * CSV (RFC 4180: CRLF line ends, fields quoted when they hold a comma, a
 * quote, CR or LF, quotes doubled). The first record is the header
 *     path,level,outline,title,body,leaders,lead_unit,units,due_on,due_text,
 *     recurrence,recurrence_text
 * Then five metadata records, whose path is "#" and a key and whose second
 * field is the value (the other fields empty):
 *     #doc_number, #title, #issuer, #issued_on (YYYY-MM-DD), #basis
 * Then one record per node in document order:
 *     path         "2.1.3": 1-based positions among siblings from the top
 *     level        1..4
 *     outline      "一", "（一）", "1.", empty for level 4
 *     title, body  as in struct plan_node (body paragraphs separated by LF)
 *     leaders      separated by one space
 *     lead_unit    the first unit
 *     units        the cooperating units, separated by 、
 *                  (a unit with an alias is written 名称（别名）)
 *     due_on       YYYY-MM-DD or empty;  due_text  the phrase
 *     recurrence   empty, monthly, bimonthly, quarterly, semiannual, yearly
 *     recurrence_text  the phrase
 * An empty field is a NULL string. */
#ifndef DUBAN_PLAN_RENDER_H
#define DUBAN_PLAN_RENDER_H

#include <stddef.h>

#include "model/plan_doc.h"

/* The document as text, NUL-terminated and malloc'd (caller frees).
 * NULL when out of memory or when doc breaks its own invariants (a parent
 * index not below the node's own, a level outside 1..4). */
char *plan_render_text(const struct plan_doc *doc);

/* The document as CSV in the layout above; ownership and NULL as
 * plan_render_text. */
char *plan_render_csv(const struct plan_doc *doc);

/* Reads CSV in the layout above. Returns 0 and fills *out, or -1 when the
 * CSV is refused (too big, not UTF-8, bad quoting, a wrong header, a record
 * with the wrong number of fields, an unknown parent path, a bad level,
 * date or recurrence, a cooperating unit without a lead unit, ...); then
 * out->issues holds the errors, naming the CSV line, and nothing else.
 * In both cases the caller frees *out with plan_doc_free. */
int plan_parse_csv(const char *text, size_t len, struct plan_doc *out);

#endif
