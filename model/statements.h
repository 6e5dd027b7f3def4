/* The prepared statements of one database connection: each distinct SQL
 * text gets a name the first time it runs and is then executed by name, so
 * that PostgreSQL parses and plans it once per connection, not per call. */
#ifndef DUBAN_STATEMENTS_H
#define DUBAN_STATEMENTS_H

struct statements;

struct statements *statements_new(void);
void statements_free(struct statements *s);

/* Forgets every statement (the connection was replaced). */
void statements_reset(struct statements *s);

/* The name for sql (valid until the next reset). *fresh is 1 when the
 * statement still has to be prepared under that name. NULL when the
 * registry is full: run sql unprepared. */
const char *statements_name(struct statements *s, const char *sql, int *fresh);

/* Drops sql again (its preparation failed). */
void statements_forget(struct statements *s, const char *sql);

#endif
