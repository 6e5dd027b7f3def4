/* libFuzzer target over the list query parser: the bytes are read as a
 * query string (name=value pairs split on '&', the first byte choosing the
 * resource) and turned into SQL. Preparing must never crash, every bad
 * parameter must be named, and the SQL must use only parameters it binds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/audit.h"
#include "model/resources.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct list_spec *const all[] = {&plan_list, &task_list, &unit_list, &leader_list, &progress_list,
                                                  &audit_list};
    if (size < 1 || size > 4096)
        return 0;
    const struct list_spec *spec = all[data[0] % (sizeof all / sizeof *all)];
    char *text = strndup((const char *)data + 1, size - 1);
    struct param_list q = {.count = 0};
    char *save = NULL;
    for (char *pair = strtok_r(text, "&", &save); pair && q.count < sizeof q.items / sizeof *q.items;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (eq)
            *eq = '\0';
        q.items[q.count].name = pair;
        q.items[q.count].value = eq ? eq + 1 : "";
        q.count++;
    }
    struct call c;
    call_init(&c, NULL);
    struct list_query lq;
    duban_status s = list_prepare(&c, spec, &q, NULL, &lq);
    if (s != DUBAN_OK && json_array_size(c.errors) == 0 && !c.detail[0])
        abort();
    if (s == DUBAN_OK) {
        char highest[16];
        snprintf(highest, sizeof highest, "$%d", lq.nvalues + 1);
        if (strstr(lq.sql, highest))
            abort();
    }
    list_query_clear(&lq);
    call_clear(&c);
    free(text);
    return 0;
}
