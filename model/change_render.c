#include "model/change_sql.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/resource_def.h"
#include "model/resources.h"
#include "model/supervision_actions.h"

/* Events not rendered yet: an entity's (not a delete's) whose data is
 * still null, or an acknowledgement's, which holds '#' and its unit. */
#define UNRENDERED "(e.data LIKE '#%' OR (e.data IS NULL AND e.type NOT LIKE '%.deleted'))"

static char data_sql[16384];
static char render_sql[17408];
static pthread_once_t built = PTHREAD_ONCE_INIT;

/* Appends the representation of resource r's row e.entity_id. */
static size_t add_resource(size_t at, const char *entity, const struct resource *r)
{
    return at + (size_t)snprintf(data_sql + at, sizeof data_sql - at,
                                 " WHEN '%s' THEN (SELECT (%s)::text FROM %s r WHERE r.id = e.entity_id)", entity,
                                 r->ready ? r->ready : r->json, r->table);
}

/* Builds both texts from the resources' expressions, once. */
static void build(void)
{
    size_t at = (size_t)snprintf(data_sql, sizeof data_sql,
                                 "CASE WHEN e.type LIKE '%%.deleted' THEN NULL WHEN NOT %s THEN e.data "
                                 "ELSE CASE e.entity", UNRENDERED);
    at = add_resource(at, "plan", &plan_resource);
    at = add_resource(at, "task", &task_resource);
    at = add_resource(at, "unit", &unit_resource);
    at = add_resource(at, "leader", &leader_resource);
    at = add_resource(at, "progress_log", &progress_resource);
    at = add_resource(at, "closure_request", &closure_request_resource);
    at = add_resource(at, "urge", &urge_resource);
    at += (size_t)snprintf(data_sql + at, sizeof data_sql - at,
                           " WHEN 'acknowledgement' THEN (SELECT (%s)::text FROM acknowledgement a"
                           " WHERE a.task_id = e.entity_id AND a.unit_id = substr(e.data, 2)::bigint) END END",
                           acknowledgement_json);
    if (at >= sizeof data_sql)
        abort();   /* a representation outgrew the buffer: a defect caught by every test */
    if ((size_t)snprintf(render_sql, sizeof render_sql,
                         "UPDATE change_event e SET data = %s WHERE e.xid = pg_current_xact_id_if_assigned() AND %s",
                         data_sql, UNRENDERED) >= sizeof render_sql)
        abort();
}

const char *change_unrendered_sql(void) { return UNRENDERED; }

const char *change_data_sql(void)
{
    pthread_once(&built, build);
    return data_sql;
}

const char *change_render_sql(void)
{
    pthread_once(&built, build);
    return render_sql;
}
