/* The outcome of every model operation: 0 is success, the rest name what went
 * wrong in domain terms. api/problem.c is the one place that turns a status
 * into an HTTP answer. */
#ifndef DUBAN_STATUS_H
#define DUBAN_STATUS_H

typedef enum duban_status {
    DUBAN_OK = 0,
    DUBAN_NOT_FOUND,      /* no such row */
    DUBAN_BAD_INPUT,      /* malformed input: wrong JSON type, bad parameter */
    DUBAN_INVALID,        /* well-formed but breaks a rule */
    DUBAN_CONFLICT,       /* unique name taken, still referenced, duplicate */
    DUBAN_STALE,          /* the version given is not the current one */
    DUBAN_FORBIDDEN,      /* the actor may not do this to this row */
    DUBAN_GONE,           /* no longer there to read: a feed cursor too old or of another feed */
    DUBAN_UNAVAILABLE,    /* database unreachable, timed out or overloaded */
    DUBAN_ERROR           /* anything else: a bug or an unexpected answer */
} duban_status;

#endif
