/* libFuzzer target over the JSON validators: any bytes are parsed as the
 * server parses request bodies, then checked against every resource's
 * fields. Validation must never crash, and must accept or refuse with at
 * least one named error. */
#include <stdint.h>
#include <stdlib.h>

#include "model/resource_def.h"
#include "model/resources.h"
#include "model/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct resource *const all[] = {&plan_resource, &task_resource, &unit_resource,
                                                 &leader_resource, &progress_resource, &token_resource};
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return 0;
    }
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        json_t *copy = json_deep_copy(doc);
        struct call c;
        call_init(&c, NULL);
        duban_status s = validate_document(&c, &all[i]->fields, copy);
        if (s != DUBAN_OK && json_array_size(c.errors) == 0)
            abort();
        for (size_t f = 0; s == DUBAN_OK && f < all[i]->fields.count; f++)
            free(sql_text(json_object_get(copy, all[i]->fields.fields[f].name)));
        call_clear(&c);
        json_decref(copy);
    }
    json_decref(doc);
    return 0;
}
