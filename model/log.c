#include "model/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* Writes one line: an RFC 3339 UTC timestamp, the level, the message,
 * formatted in the caller's own buffer and handed to the kernel in one
 * write(2), with no lock held across the I/O (stderr's stream lock would
 * serialise every request's access-log line). One write keeps a line whole
 * and never interleaved with another (the file offset is shared; a pipe
 * writes up to PIPE_BUF bytes at once). A line longer than LINE_MAX_BYTES
 * is cut, ending with "...". */
enum { LINE_MAX_BYTES = 4096 };

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    struct timespec now;
    struct tm tm;
    char line[LINE_MAX_BYTES];
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t len = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    len += (size_t)snprintf(line + len, sizeof line - len, ".%03ldZ %s ", now.tv_nsec / 1000000L, level_names[level]);

    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + len, sizeof line - len, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof line - len) {
        len = sizeof line - 4;
        memcpy(line + len - 3, "...", 3);
    } else {
        len += (size_t)n;
    }
    line[len++] = '\n';
    for (size_t done = 0; done < len;) {
        ssize_t w = write(STDERR_FILENO, line + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
}
