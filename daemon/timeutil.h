/*
 * Durations and timestamps.
 *
 * Policy durations are written "<n><unit>" with unit s, m, h, d (calendar
 * time), wd (working days of the site calendar) or wh (working hours: time
 * inside the calendar's working hours on working days). Timestamps are RFC 3339
 * with the site's fixed UTC offset, or epoch milliseconds.
 */
#ifndef SW_TIMEUTIL_H
#define SW_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

typedef struct sw_duration {
    int64_t ms;         /* calendar time */
    int working_days;   /* > 0 for "wd" durations; the others are then 0 */
    int64_t working_ms; /* > 0 for "wh" durations; the others are then 0 */
} sw_duration;

/* Returns 0, or SW_EINVAL for anything but "<digits><unit>". */
int sw_duration_parse(const char *text, sw_duration *out);
/* As above but only calendar units; used by the plugin API. */
int sw_duration_parse_ms(const char *text, int64_t *ms);

/* "HH:MM", two digits each, 00:00-23:59 (and "24:00" when `allow_24`):
 * minutes of the day, or -1 for anything else. */
int sw_hhmm_parse(const char *s, int allow_24);

/* Parse "+08:00", "-05:30" or "Z"/"UTC" into seconds east of UTC. */
int sw_tz_parse(const char *text, int *offset_s);

/* Format epoch ms as RFC 3339 at `offset_s` ("2026-11-22T08:15:03+08:00";
 * milliseconds are printed only when non-zero). buf needs 32 bytes. */
void sw_time_format(int64_t ms, int offset_s, char *buf, size_t len);
/* Parse RFC 3339 with offset (or Z), fractional seconds allowed. */
int sw_time_parse(const char *text, int64_t *ms);

/* Civil date helpers (proleptic Gregorian). */
int64_t sw_days_from_civil(int y, unsigned m, unsigned d);
void sw_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d);
/* Parse "YYYY-MM-DD" into days since 1970-01-01. */
int sw_date_parse(const char *text, int64_t *days);

#define SW_MS_PER_DAY 86400000LL

#endif
