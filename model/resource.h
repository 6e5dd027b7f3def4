/* The life of a resource row, shared by plans, tasks, units, leaders and
 * progress logs: fetch, create (optionally idempotent), replace, merge-patch
 * and delete, each in one transaction, with optimistic concurrency through
 * the row's version. A resource describes its table, its representation
 * and its fields; hooks add what is particular to it (tree positions,
 * assignments, aliases, a task's progress) inside the same transaction.
 * This is the face api/ calls; what a resource is made of is in
 * model/resource_def.h, inside model/. */
#ifndef DUBAN_RESOURCE_H
#define DUBAN_RESOURCE_H

#include <jansson.h>
#include <stdint.h>

#include "model/call.h"
#include "model/idempotency.h"

struct resource;

/* The representation of row id as the database renders it, JSON text
 * that is sent as it is (*text, malloc'd), and the row's version (its
 * ETag) read as a column of its own. With text NULL, the version alone
 * (to answer a revalidation): no representation is computed. */
duban_status resource_get_text(struct call *c, const struct resource *r, int64_t id, char **text,
                               int64_t *version);

/* Creates a row from body, which stays as the client sent it: every
 * attempt of the transaction works on a copy. With idem, a retry with
 * the same key and request returns the first answer without writing. */
duban_status resource_create(struct call *c, const struct resource *r, json_t *body,
                             const struct idempotency *idem, struct created *out);

/* Replaces row id with body. if_version 0 means any version. */
duban_status resource_replace(struct call *c, const struct resource *r, int64_t id, int64_t if_version,
                              json_t *body, json_t **out);

/* Applies an RFC 7396 merge patch to row id. */
duban_status resource_patch(struct call *c, const struct resource *r, int64_t id, int64_t if_version,
                            json_t *patch, json_t **out);

/* Deletes row id. */
duban_status resource_delete(struct call *c, const struct resource *r, int64_t id, int64_t if_version,
                             int cascade);

#endif
