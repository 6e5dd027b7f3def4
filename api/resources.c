/* The routes of plans, tasks, units, leaders and progress logs, all served
 * by the shared handlers of api/crud.c. */
#include "api/crud.h"
#include "api/router.h"
#include "api/routes.h"

#define API "/api/v1"

static const struct crud plans = {
    .resource = &plan_resource, .list = &plan_list, .items = API "/plans/", .cascading = 1};
static const struct crud tasks = {
    .resource = &task_resource, .list = &task_list, .items = API "/tasks/", .cascading = 1};
static const struct crud units = {.resource = &unit_resource, .list = &unit_list, .items = API "/units/"};
static const struct crud leaders = {.resource = &leader_resource, .list = &leader_list, .items = API "/leaders/"};
static const struct crud progress = {
    .resource = &progress_resource, .list = &progress_list, .items = API "/progress-logs/"};

static const struct parent_ref by_task = {.param = "task_id", .table = "task", .name = "task"};
static const struct parent_ref by_unit = {.param = "unit_id", .table = "unit", .name = "unit"};
static const struct parent_ref by_leader = {.param = "leader_id", .table = "leader", .name = "leader"};
static const struct crud task_progress = {
    .resource = &progress_resource, .list = &progress_list, .items = API "/progress-logs/", .parent = &by_task};
static const struct crud unit_tasks = {
    .resource = &task_resource, .list = &task_list, .items = API "/tasks/", .parent = &by_unit};
static const struct crud leader_tasks = {
    .resource = &task_resource, .list = &task_list, .items = API "/tasks/", .parent = &by_leader};

void resources_register(struct router *r)
{
    crud_register(r, API "/plans", &plans);
    crud_register(r, API "/tasks", &tasks);
    crud_register(r, API "/units", &units);
    crud_register(r, API "/leaders", &leaders);
    crud_register(r, API "/progress-logs", &progress);
    router_add(r, "GET", API "/tasks/:" ROUTE_ID "/progress-logs", cb_crud_list, &task_progress);
    router_add(r, "POST", API "/tasks/:" ROUTE_ID "/progress-logs", cb_crud_create, &task_progress);
    router_add(r, "GET", API "/units/:" ROUTE_ID "/tasks", cb_crud_list, &unit_tasks);
    router_add(r, "GET", API "/leaders/:" ROUTE_ID "/tasks", cb_crud_list, &leader_tasks);
}
