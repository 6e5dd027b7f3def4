/* Schema migrations: numbered SQL files compiled into the executable, applied
 * forward only, each in its own transaction, recorded with a checksum in
 * schema_migrations. An advisory lock keeps two instances from racing. */
#ifndef DUBAN_MIGRATE_H
#define DUBAN_MIGRATE_H

#include <stddef.h>
#include <stdio.h>

#include "model/call.h"

struct migration {
    const char *name;   /* file name, e.g. "0001_schema.sql" */
    const char *sql;
};

extern const struct migration duban_migrations[];
extern const size_t duban_migration_count;

/* Applies every pending migration, reporting each to `report` (may be
 * NULL). Fails with DUBAN_CONFLICT, naming the file, when an applied
 * migration's text has changed since. */
duban_status migrate_apply(struct call *c, FILE *report);

/* Writes one line per migration to out: "applied" or "pending". */
duban_status migrate_status(struct call *c, FILE *out);

/* DUBAN_OK when every migration is applied and unchanged. */
duban_status migrate_check_current(struct call *c);

#endif
