#include "model/periods.h"

#include <stdio.h>
#include <string.h>

#include "model/dates.h"

/* The value of the n ASCII digits at s, or -1 when one of them is not a
 * digit (a NUL included). */
static int number(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153L * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil. */
static void civil_from_days(long z, int *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* The ISO weekday (1 = Monday .. 7 = Sunday) of a day number. */
static int iso_weekday(long days)
{
    long w = (days + 3) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w) + 1;
}

int period_iso_weeks(int y)
{
    int jan1 = iso_weekday(days_from_civil(y, 1, 1));
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return jan1 == 4 || (leap && jan1 == 3) ? 53 : 52;
}

/* The first day (a Monday) of ISO week w of ISO year y: week 1 is the one
 * holding 4 January. */
static void iso_week_start(int y, int w, struct period *out)
{
    long jan4 = days_from_civil(y, 1, 4);
    long monday = jan4 - (iso_weekday(jan4) - 1) + 7L * (w - 1);
    civil_from_days(monday, &out->year, &out->month, &out->day);
}

int period_parse(const char *text, struct period *out)
{
    if (!text || strlen(text) < 7 || text[4] != '-')
        return -1;
    int year = number(text, 4);
    if (year < DATE_MIN_YEAR || year > DATE_MAX_YEAR)
        return -1;
    const char *rest = text + 5;
    size_t len = strlen(rest);
    int n;
    if (len == 2 && (n = number(rest, 2)) >= 1 && n <= 12) {
        *out = (struct period){PERIOD_MONTHLY, year, n, 1};
    } else if (len == 2 && rest[0] == 'Q' && (n = number(rest + 1, 1)) >= 1 && n <= 4) {
        *out = (struct period){PERIOD_QUARTERLY, year, 3 * n - 2, 1};
    } else if (len == 3 && rest[0] == 'W' && (n = number(rest + 1, 2)) >= 1 && n <= period_iso_weeks(year)) {
        out->cadence = PERIOD_WEEKLY;
        iso_week_start(year, n, out);
    } else {
        return -1;
    }
    return 0;
}

const char *period_cadence_name(enum period_cadence cadence)
{
    switch (cadence) {
    case PERIOD_WEEKLY: return "weekly";
    case PERIOD_MONTHLY: return "monthly";
    case PERIOD_QUARTERLY: return "quarterly";
    }
    return "monthly";
}

char *period_start_text(const struct period *p, char *out)
{
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)p->year % 10000u, (unsigned)p->month % 100u, (unsigned)p->day % 100u);
    return out;
}
