/* The statements that read change events as webhook bodies: built once,
 * around the feed's own rendering of an event (change_json, with the data
 * expression of model/change_sql.h), so that a webhook receives exactly
 * what the feed shows. */
#include "model/webhook_payload.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/change_sql.h"

static char event_sql[20480], redeliver_sql[20480];
static pthread_once_t built = PTHREAD_ONCE_INIT;

static void build(void)
{
    const char *data = change_data_sql();
    int n = snprintf(event_sql, sizeof event_sql,
                     "SELECT e.id, e.type, change_json(e, %s) FROM change_event e "
                     "WHERE e.xid = $1::xid8 AND e.seq = $2::bigint",
                     data);
    int m = snprintf(redeliver_sql, sizeof redeliver_sql,
                     "WITH q AS (INSERT INTO webhook_manual (webhook_id, event_id, event_type, payload) "
                     "SELECT $1::bigint, e.id, e.type, change_json(e, %s) FROM change_event e "
                     "WHERE e.id = CASE WHEN $2::text ~* '^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$' "
                     "THEN $2::text::uuid END RETURNING *) " QUEUED_JSON,
                     data);
    if (n < 0 || (size_t)n >= sizeof event_sql || m < 0 || (size_t)m >= sizeof redeliver_sql)
        abort();   /* the representations outgrew the buffer: a defect every test catches */
}

const char *webhook_event_sql(void)
{
    pthread_once(&built, build);
    return event_sql;
}

const char *webhook_redeliver_sql(void)
{
    pthread_once(&built, build);
    return redeliver_sql;
}
