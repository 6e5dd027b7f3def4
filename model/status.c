#include "model/status.h"

const char *duban_status_name(duban_status s)
{
    static const char *const names[] = {"ok", "not found", "bad input", "invalid", "conflict",
                                        "stale", "forbidden", "unavailable", "error"};
    return (unsigned)s < sizeof names / sizeof *names ? names[s] : "unknown";
}
