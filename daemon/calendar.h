/*
 * Site working-day calendars: weekends, public holidays and make-up working
 * days, loaded from the JSON files in config/calendars.
 */
#ifndef SW_CALENDAR_H
#define SW_CALENDAR_H

#include <stdint.h>

typedef struct sw_calendar {
    char name[64];
    int64_t from_day, to_day; /* days since epoch the calendar covers */
    unsigned weekend_mask;    /* bit d set: weekday d (0=Mon..6=Sun) is off */
    int64_t *holidays;        /* sorted */
    int nholidays;
    int64_t *workdays; /* sorted make-up working days */
    int nworkdays;
    int work_from_min, work_to_min; /* working hours, local minutes (0-1440 if unset) */
} sw_calendar;

/* Load `path`. On error logs "PATH: key K: problem" and returns SW_ECONFIG. */
int sw_calendar_load(sw_calendar *cal, const char *path);
void sw_calendar_free(sw_calendar *cal);

/* 1 if `day` (days since epoch) is a working day. */
int sw_calendar_is_workday(const sw_calendar *cal, int64_t day);
/* 1 if the calendar covers `day`. */
int sw_calendar_covers(const sw_calendar *cal, int64_t day);

/*
 * The instant `n` working days after `start_ms` in a zone `offset_s` east of
 * UTC: the same local time of day on the n-th following working day. A start
 * on a non-working day counts from midnight of the next working day. Sets
 * *uncovered when any day walked is outside the calendar (then weekends
 * alone decide).
 */
int64_t sw_calendar_add_working_days(const sw_calendar *cal, int64_t start_ms, int n, int offset_s,
                                     int *uncovered);

/*
 * The instant `ms` of working time after `start_ms`: only time inside the
 * working hours of working days counts. Sets *uncovered as above.
 */
int64_t sw_calendar_add_working_time(const sw_calendar *cal, int64_t start_ms, int64_t ms,
                                     int offset_s, int *uncovered);

#endif
