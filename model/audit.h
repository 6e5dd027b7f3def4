/* The audit journal, listed with the usual filters and paging. */
#ifndef DUBAN_AUDIT_H
#define DUBAN_AUDIT_H

#include "model/listing.h"

extern const struct list_spec audit_list;

#endif
