#include "model/dates.h"

#include <stddef.h>
#include <string.h>

int date_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

int date_is_real(int y, int m, int d)
{
    return y >= DATE_MIN_YEAR && y <= DATE_MAX_YEAR && m >= 1 && m <= 12 && d >= 1 &&
           d <= date_days_in_month(y, m);
}

/* Reads exactly `width` ASCII digits at *p into *out and moves *p past
 * them; -1 when any of them is not a digit. */
static int digits(const char **p, int width, int *out)
{
    int v = 0;
    for (int k = 0; k < width; k++, (*p)++) {
        if (**p < '0' || **p > '9')
            return -1;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return 0;
}

/* Reads "YYYY-MM-DD" at *p (a real day) and moves *p past it. */
static int read_date(const char **p, int *y, int *m, int *d)
{
    if (digits(p, 4, y) || *(*p)++ != '-' || digits(p, 2, m) || *(*p)++ != '-' || digits(p, 2, d))
        return -1;
    return date_is_real(*y, *m, *d) ? 0 : -1;
}

int date_parse(const char *text, int *y, int *m, int *d)
{
    int v[3];
    const char *p = text;
    if (!text || read_date(&p, &v[0], &v[1], &v[2]) != 0 || *p)
        return -1;
    if (y)
        *y = v[0];
    if (m)
        *m = v[1];
    if (d)
        *d = v[2];
    return 0;
}

int date_valid(const char *text) { return date_parse(text, NULL, NULL, NULL) == 0; }

int timestamp_valid(const char *text)
{
    int y, mo, d, h, mi, s, zh, zm;
    const char *p = text;
    if (!text || read_date(&p, &y, &mo, &d) != 0 || *p++ != 'T' || digits(&p, 2, &h) || *p++ != ':' ||
        digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &s) || h > 23 || mi > 59 || s > 60)
        return 0;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (strcmp(p, "Z") == 0)
        return 1;
    if (*p != '+' && *p != '-')
        return 0;
    p++;
    return digits(&p, 2, &zh) == 0 && *p++ == ':' && digits(&p, 2, &zm) == 0 && !*p && zh <= 23 && zm <= 59;
}
