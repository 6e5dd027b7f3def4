/* libFuzzer target over the plan parser and renderer.
 *
 * Build and run (outputs outside the repository):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *       model/plan_parser.c model/plan_preamble.c model/plan_dates.c model/plan_doc.c \
 *       model/plan_render_*.c model/dates.c model/text.c tests/fuzz/fuzz_plan_parser.c \
 *       -o /tmp/fuzz_plan
 *   /tmp/fuzz_plan -max_total_time=60 -max_len=65536 /tmp/corpus seed/
 *
 * Each input is read both as a document and as CSV. Whatever is accepted
 * is rendered as text and as CSV, and the round trips are checked (see
 * exercise). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/plan_doc.h"
#include "model/plan_render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_node(const struct plan_node *x, const struct plan_node *y)
{
    if (x->parent != y->parent || x->level != y->level || !same_str(x->outline, y->outline) ||
        !same_str(x->title, y->title) || !same_str(x->body, y->body) ||
        x->n_leaders != y->n_leaders || x->n_units != y->n_units ||
        strcmp(x->due_on, y->due_on) != 0 || !same_str(x->due_text, y->due_text) ||
        x->recurrence != y->recurrence || !same_str(x->recurrence_text, y->recurrence_text))
        return 0;
    for (size_t k = 0; k < x->n_leaders; k++)
        if (!same_str(x->leaders[k], y->leaders[k]))
            return 0;
    for (size_t k = 0; k < x->n_units; k++)
        if (!same_str(x->units[k].name, y->units[k].name) ||
            !same_str(x->units[k].alias, y->units[k].alias))
            return 0;
    return 1;
}

static int same_doc(const struct plan_doc *a, const struct plan_doc *b)
{
    if (!same_str(a->doc_number, b->doc_number) || !same_str(a->title, b->title) ||
        !same_str(a->issuer, b->issuer) || strcmp(a->issued_on, b->issued_on) != 0 ||
        !same_str(a->basis, b->basis) || a->n_nodes != b->n_nodes)
        return 0;
    for (size_t i = 0; i < a->n_nodes; i++)
        if (!same_node(&a->nodes[i], &b->nodes[i]))
            return 0;
    return 1;
}

/* Renders an accepted document both ways and checks the round trips: the
 * CSV always reads back to the same document; for a document read from
 * text (`from_text`), the rendered text renders to itself once re-read. */
static void exercise(const struct plan_doc *doc, int from_text)
{
    char *text = plan_render_text(doc), *csv = plan_render_csv(doc), *text2 = NULL;
    struct plan_doc again, reread;

    if (!text || !csv)
        abort();
    if (plan_parse_csv(csv, strlen(csv), &again) != 0 || !same_doc(doc, &again))
        abort();
    if (plan_parse(text, strlen(text), &reread) == 0 && from_text) {
        text2 = plan_render_text(&reread);
        if (!text2 || strcmp(text, text2) != 0)
            abort();
    }
    plan_doc_free(&again);
    plan_doc_free(&reread);
    free(text);
    free(text2);
    free(csv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct plan_doc doc;

    if (plan_parse((const char *)data, size, &doc) == 0)
        exercise(&doc, 1);
    plan_doc_free(&doc);
    if (plan_parse_csv((const char *)data, size, &doc) == 0)
        exercise(&doc, 0);
    plan_doc_free(&doc);
    return 0;
}
