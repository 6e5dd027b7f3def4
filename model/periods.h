/* Reporting periods as clients name them: 2019-06 (a month), 2019-Q2 (a
 * quarter), 2019-W23 (an ISO 8601 week, Monday to Sunday). Pure: only
 * libc. A period is its cadence and its first day; the database computes
 * the rest from those two (period_end, period_due and period_label of
 * migration 0008), so C and SQL cannot disagree on a period's days. */
#ifndef DUBAN_PERIODS_H
#define DUBAN_PERIODS_H

enum period_cadence { PERIOD_WEEKLY, PERIOD_MONTHLY, PERIOD_QUARTERLY };

struct period {
    enum period_cadence cadence;
    int year, month, day;          /* its first day */
};

/* Parses text that is exactly YYYY-MM (month 01..12), YYYY-Qn (n 1..4) or
 * YYYY-Www (two digits, 01 up to the ISO year's last week, 52 or 53), with
 * the year in DATE_MIN_YEAR..DATE_MAX_YEAR, uppercase Q and W, nothing
 * before or after. Returns 0 and fills *out, or -1 (NULL is refused). */
int period_parse(const char *text, struct period *out);

/* The cadence's name as the database spells it: weekly, monthly, quarterly. */
const char *period_cadence_name(enum period_cadence cadence);

/* The first day as YYYY-MM-DD (out holds at least 11 bytes); returns out. */
char *period_start_text(const struct period *p, char *out);

/* The number of weeks of ISO year y: 53 when its 1 January is a Thursday,
 * or a Wednesday in a leap year; else 52. */
int period_iso_weeks(int y);

/* What a client is told a period must be, for messages. */
#define PERIOD_RULE "a month (2019-06), a quarter (2019-Q2) or an ISO week (2019-W23)"

#endif
