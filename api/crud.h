/* The HTTP face of a resource, shared by every resource file: list, get,
 * create, replace, patch and delete, with ETags, conditional requests,
 * idempotent POSTs, paging links and problems for every failure. A route
 * registered with one of these callbacks names a struct crud as target. */
#ifndef DUBAN_CRUD_H
#define DUBAN_CRUD_H

#include <ulfius.h>

#include "model/resources.h"

struct app;
struct router;

/* A collection under a parent in the path, e.g. /tasks/{id}/progress-logs. */
struct parent_ref {
    const char *param;   /* the field or filter the parent fixes: "task_id" */
    const char *table;   /* the parent's table */
    const char *name;    /* the parent's name for messages */
};

struct crud {
    const struct resource *resource;
    const struct list_spec *list;
    const char *items;                /* the items' path prefix, e.g. "/api/v1/units/" */
    const struct parent_ref *parent;  /* for collections under a parent, else NULL */
    int cascading;                    /* DELETE accepts ?cascade=true */
};

int cb_crud_list(const struct _u_request *req, struct _u_response *res, void *route_ctx);
int cb_crud_get(const struct _u_request *req, struct _u_response *res, void *route_ctx);
int cb_crud_create(const struct _u_request *req, struct _u_response *res, void *route_ctx);
int cb_crud_replace(const struct _u_request *req, struct _u_response *res, void *route_ctx);
int cb_crud_patch(const struct _u_request *req, struct _u_response *res, void *route_ctx);
int cb_crud_delete(const struct _u_request *req, struct _u_response *res, void *route_ctx);

/* Registers GET and POST on `collection` and GET, PUT, PATCH and DELETE on
 * `collection`/:id for target. */
void crud_register(struct router *r, const char *collection, const struct crud *target);

#endif
