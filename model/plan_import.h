/* Plan documents in and out of the database: a parsed 责任分解方案 becomes a
 * plan with its whole task tree and every assignment in one transaction,
 * and a stored plan is written back as text or CSV. */
#ifndef DUBAN_PLAN_IMPORT_H
#define DUBAN_PLAN_IMPORT_H

#include <jansson.h>
#include <stddef.h>

#include "model/call.h"
#include "model/idempotency.h"

enum plan_format { PLAN_TEXT, PLAN_CSV };

struct import_options {
    enum plan_format format;
    int dry_run;   /* report only: nothing is written */
    int replace;   /* an earlier import of the same document is replaced */
};

/* Imports a document. out->doc (a new reference, set on success) is the
 * report: plan_id, counts, deadlines, recurrences and warnings; with idem
 * (ignored on a dry run) a retry replays the first report. A refused
 * document fails with DUBAN_INVALID and one error per bad line in
 * c->errors; a document imported before fails with DUBAN_CONFLICT naming
 * its plan. */
duban_status plan_import(struct call *c, const char *text, size_t len, const struct import_options *opt,
                         const struct idempotency *idem, struct created *out);

/* Writes plan_id back as a document; *out is malloc'd text. */
duban_status plan_export(struct call *c, int64_t plan_id, enum plan_format format, char **out);

#endif
