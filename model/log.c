#include "model/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level current_level = LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

int log_level_parse(const char *text)
{
    for (int i = 0; text && i <= LOG_DEBUG; i++)
        if (strcmp(text, level_names[i]) == 0)
            return i;
    return -1;
}

void log_set_level(enum log_level level) { current_level = level; }

int log_enabled(enum log_level level) { return level <= current_level; }

/* Writes one line: an RFC 3339 UTC timestamp, the level, the message. The
 * whole line goes out under the stream lock so lines never interleave. */
void log_msg(enum log_level level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    struct timespec now;
    struct tm tm;
    char stamp[32];
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    va_list ap;
    va_start(ap, fmt);
    flockfile(stderr);
    fprintf(stderr, "%s.%03ldZ %s ", stamp, now.tv_nsec / 1000000L, level_names[level]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    funlockfile(stderr);
    va_end(ap);
}
