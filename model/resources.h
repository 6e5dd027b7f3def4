/* The resources duban keeps: how each is stored, represented and listed.
 * Each is defined in its own file (plan.c, task.c, unit.c, leader.c,
 * progress.c) and operated through model/resource.h and model/listing.h. */
#ifndef DUBAN_RESOURCES_H
#define DUBAN_RESOURCES_H

#include "model/listing.h"
#include "model/resource.h"

extern const struct resource plan_resource, task_resource, unit_resource, leader_resource, progress_resource;
extern const struct list_spec plan_list, task_list, unit_list, leader_list, progress_list;

#endif
