/* The audit journal over HTTP: GET /api/v1/audit lists who changed what,
 * with the shared list handler (admins only; the router sees to that). */
#include "api/crud.h"
#include "api/router.h"
#include "api/routes.h"
#include "model/audit.h"

static const struct crud audit = {.list = &audit_list};

void audit_register(struct router *r)
{
    router_add(r, "GET", "/api/v1/audit", cb_crud_list, &audit);
}
