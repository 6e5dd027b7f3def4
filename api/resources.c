/* The routes of plans, tasks, units, leaders and progress logs, all served
 * by the shared handlers of api/crud.c. */
#include "api/crud.h"
#include "api/router.h"
#include "api/routes.h"

#define API "/api/v1"

static const struct crud plans = {&plan_resource, &plan_list, API "/plans/", NULL, 1};
static const struct crud tasks = {&task_resource, &task_list, API "/tasks/", NULL, 1};
static const struct crud units = {&unit_resource, &unit_list, API "/units/", NULL, 0};
static const struct crud leaders = {&leader_resource, &leader_list, API "/leaders/", NULL, 0};
static const struct crud progress = {&progress_resource, &progress_list, API "/progress-logs/", NULL, 0};

static const struct parent_ref by_task = {"task_id", "task", "task"};
static const struct parent_ref by_unit = {"unit_id", "unit", "unit"};
static const struct parent_ref by_leader = {"leader_id", "leader", "leader"};
static const struct crud task_progress = {&progress_resource, &progress_list, API "/progress-logs/", &by_task, 0};
static const struct crud unit_tasks = {&task_resource, &task_list, API "/tasks/", &by_unit, 0};
static const struct crud leader_tasks = {&task_resource, &task_list, API "/tasks/", &by_leader, 0};

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
