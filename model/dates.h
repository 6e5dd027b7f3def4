/* Calendar dates as duban accepts them everywhere: in JSON bodies, in
 * list filters and in plan documents. One year range for all of them, so
 * that an export never holds a date its import refuses. Pure: only libc. */
#ifndef DUBAN_DATES_H
#define DUBAN_DATES_H

enum { DATE_MIN_YEAR = 1900, DATE_MAX_YEAR = 2199 };

/* The days of month m (1..12) of year y. */
int date_days_in_month(int y, int m);

/* 1 when y-m-d is a real calendar day with y in DATE_MIN_YEAR..DATE_MAX_YEAR. */
int date_is_real(int y, int m, int d);

/* Parses text that is exactly "YYYY-MM-DD" (four, two and two ASCII
 * digits, no sign, space or anything else) naming a real day in the year
 * range. Returns 0 and sets *y, *m, *d (each may be NULL), or -1. */
int date_parse(const char *text, int *y, int *m, int *d);

/* 1 when date_parse accepts text (NULL is refused). */
int date_valid(const char *text);

/* 1 when text is an RFC 3339 date-time with a time zone, its date as
 * date_parse accepts it: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM). */
int timestamp_valid(const char *text);

/* What a client is told a date must be, for messages. */
#define DATE_RULE "a real date written YYYY-MM-DD, from year 1900 to 2199"

#endif
