/* Working-day calendars: the shipped 2026 calendar of China (holidays and
 * make-up working days of the State Council notice), small calendars written
 * for the test, working-day and working-time arithmetic, coverage warnings and
 * every loader error naming its key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "calendar.h"
#include "siteward/types.h"
#include "timeutil.h"

#define CN2026 SW_SOURCE_DIR "/config/calendars/cn-2026.json"
#define CN     (8 * 3600) /* China: UTC+8 */
#define MIN    60000LL
#define HOUR   3600000LL

static struct {
    char dir[UNIT_DIR_MAX];
    sw_calendar cn;
} fx;

static int64_t day(int y, unsigned m, unsigned d)
{
    return sw_days_from_civil(y, m, d);
}

/* The instant of local time y-m-d h:mi at `off` seconds east of UTC. */
static int64_t at(int y, unsigned m, unsigned d, int h, int mi, int off)
{
    return day(y, m, d) * SW_MS_PER_DAY + h * HOUR + mi * MIN - off * 1000LL;
}

/* Compare instants as RFC 3339 text, so that a failure shows both. */
static void expect_time(int64_t got, int off, const char *want)
{
    char buf[40];
    sw_time_format(got, off, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static int64_t add_days(const sw_calendar *cal, int64_t start, int n, int off, int *uncovered)
{
    return sw_calendar_add_working_days(cal, start, n, off, uncovered);
}

static int64_t add_time(const sw_calendar *cal, int64_t start, int64_t ms, int off, int *uncovered)
{
    return sw_calendar_add_working_time(cal, start, ms, off, uncovered);
}

static int setup(void **state)
{
    (void)state;
    if (unit_tmpdir(fx.dir, sizeof fx.dir))
        return -1;
    return sw_calendar_load(&fx.cn, CN2026) ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    sw_calendar_free(&fx.cn);
    unit_rmtree(fx.dir);
    return 0;
}

static void test_cn2026_loads(void **state)
{
    (void)state;
    const sw_calendar *c = &fx.cn;
    assert_string_equal(c->name, "cn-2026");
    assert_int_equal(c->from_day, day(2026, 1, 1));
    assert_int_equal(c->to_day, day(2026, 12, 31));
    assert_int_equal(c->weekend_mask, (1u << 5) | (1u << 6)); /* sat, sun */
    assert_int_equal(c->nholidays, 33);
    assert_int_equal(c->nworkdays, 6);
    assert_int_equal(c->work_from_min, 8 * 60 + 30);
    assert_int_equal(c->work_to_min, 17 * 60 + 30);
    for (int i = 1; i < c->nholidays; i++)
        assert_true(c->holidays[i - 1] < c->holidays[i]);
    for (int i = 1; i < c->nworkdays; i++)
        assert_true(c->workdays[i - 1] < c->workdays[i]);
}

/* The notice of 2025-11-04 as DOMAIN.md lists it. */
static void test_cn2026_holidays_and_makeup_days(void **state)
{
    (void)state;
    static const struct {
        unsigned m1, d1, m2, d2;
    } holidays[] = {{1, 1, 1, 3},   {2, 15, 2, 23}, {4, 4, 4, 6},  {5, 1, 5, 5},
                    {6, 19, 6, 21}, {9, 25, 9, 27}, {10, 1, 10, 7}};
    static const struct {
        unsigned m, d;
    } makeup[] = {{1, 4}, {2, 14}, {2, 28}, {5, 9}, {9, 20}, {10, 10}};
    int n = 0;

    for (size_t i = 0; i < sizeof holidays / sizeof *holidays; i++)
        for (int64_t d = day(2026, holidays[i].m1, holidays[i].d1);
             d <= day(2026, holidays[i].m2, holidays[i].d2); d++, n++)
            if (sw_calendar_is_workday(&fx.cn, d))
                fail_msg("holiday %lld is a working day", (long long)(d - day(2026, 1, 1)));
    assert_int_equal(n, 33);
    for (size_t i = 0; i < sizeof makeup / sizeof *makeup; i++) {
        int64_t d = day(2026, makeup[i].m, makeup[i].d);
        int wd = (int)((d + 3) % 7); /* 0 = Monday */
        assert_true(wd >= 5);        /* make-up days fall on weekends */
        if (!sw_calendar_is_workday(&fx.cn, d))
            fail_msg("make-up day 2026-%02u-%02u is not a working day", makeup[i].m, makeup[i].d);
    }
    /* Ordinary days around them. */
    assert_true(sw_calendar_is_workday(&fx.cn, day(2026, 9, 24)));   /* Thu */
    assert_true(sw_calendar_is_workday(&fx.cn, day(2026, 9, 28)));   /* Mon */
    assert_false(sw_calendar_is_workday(&fx.cn, day(2026, 9, 19)));  /* Sat */
    assert_false(sw_calendar_is_workday(&fx.cn, day(2026, 10, 11))); /* Sun */
    assert_true(sw_calendar_is_workday(&fx.cn, day(2026, 11, 23)));  /* Mon */
    assert_false(sw_calendar_is_workday(&fx.cn, day(2026, 11, 21))); /* Sat */
    assert_false(sw_calendar_is_workday(&fx.cn, day(2026, 11, 22))); /* Sun */

    /* 261 weekdays, 22 of them holidays, and 6 make-up days: 248. */
    int work = 0;
    for (int64_t d = day(2026, 1, 1); d <= day(2026, 12, 31); d++)
        work += sw_calendar_is_workday(&fx.cn, d);
    assert_int_equal(work, 248);
}

static void test_cn2026_covers(void **state)
{
    (void)state;
    assert_false(sw_calendar_covers(&fx.cn, day(2025, 12, 31)));
    assert_true(sw_calendar_covers(&fx.cn, day(2026, 1, 1)));
    assert_true(sw_calendar_covers(&fx.cn, day(2026, 7, 1)));
    assert_true(sw_calendar_covers(&fx.cn, day(2026, 12, 31)));
    assert_false(sw_calendar_covers(&fx.cn, day(2027, 1, 1)));
}

static void test_working_days_across_holidays(void **state)
{
    (void)state;
    const sw_calendar *c = &fx.cn;
    int unc = 0;
    /* Thursday before the Sep 25-27 holiday: the next working day is Monday. */
    expect_time(add_days(c, at(2026, 9, 24, 10, 0, CN), 1, CN, &unc), CN,
                "2026-09-28T10:00:00+08:00");
    expect_time(add_days(c, at(2026, 9, 24, 10, 0, CN), 3, CN, &unc), CN,
                "2026-09-30T10:00:00+08:00");
    /* A repair's 3 working days from the eve of National Day: Oct 1-7 are
     * off, Oct 8 and 9 count, and so does Saturday Oct 10 (make-up day). */
    expect_time(add_days(c, at(2026, 9, 30, 14, 0, CN), 1, CN, &unc), CN,
                "2026-10-08T14:00:00+08:00");
    expect_time(add_days(c, at(2026, 9, 30, 14, 0, CN), 3, CN, &unc), CN,
                "2026-10-10T14:00:00+08:00");
    expect_time(add_days(c, at(2026, 9, 30, 14, 0, CN), 4, CN, &unc), CN,
                "2026-10-12T14:00:00+08:00");
    /* Ten working days through both holidays and both make-up days. */
    expect_time(add_days(c, at(2026, 9, 18, 9, 15, CN), 10, CN, &unc), CN,
                "2026-10-09T09:15:00+08:00");
    /* The time of day is kept to the millisecond, late in the day too. */
    expect_time(add_days(c, at(2026, 9, 24, 23, 59, CN) + 999, 1, CN, &unc), CN,
                "2026-09-28T23:59:00.999+08:00");
    assert_int_equal(unc, 0);
}

static void test_working_days_make_up_days(void **state)
{
    (void)state;
    const sw_calendar *c = &fx.cn;
    int unc = 0;
    /* Friday Sep 18: Saturday is off, Sunday Sep 20 is a make-up working day. */
    expect_time(add_days(c, at(2026, 9, 18, 9, 0, CN), 1, CN, &unc), CN,
                "2026-09-20T09:00:00+08:00");
    expect_time(add_days(c, at(2026, 9, 18, 9, 0, CN), 2, CN, &unc), CN,
                "2026-09-21T09:00:00+08:00");
    /* Starting on a make-up day keeps the time of day: it is a working day. */
    expect_time(add_days(c, at(2026, 9, 20, 11, 0, CN), 1, CN, &unc), CN,
                "2026-09-21T11:00:00+08:00");
    expect_time(add_days(c, at(2026, 10, 10, 11, 0, CN), 1, CN, &unc), CN,
                "2026-10-12T11:00:00+08:00");
    /* Friday Oct 9 to Saturday Oct 10. */
    expect_time(add_days(c, at(2026, 10, 9, 16, 0, CN), 1, CN, &unc), CN,
                "2026-10-10T16:00:00+08:00");
    assert_int_equal(unc, 0);
}

/* A start on a non-working day counts from midnight of the next working day. */
static void test_working_days_start_on_a_day_off(void **state)
{
    (void)state;
    const sw_calendar *c = &fx.cn;
    int unc = 0;
    /* Saturday: counting starts Monday 00:00, so 3 working days end with Wednesday. */
    expect_time(add_days(c, at(2026, 11, 21, 10, 0, CN), 3, CN, &unc), CN,
                "2026-11-26T00:00:00+08:00");
    /* An ordinary Sunday. */
    expect_time(add_days(c, at(2026, 9, 13, 10, 0, CN), 1, CN, &unc), CN,
                "2026-09-15T00:00:00+08:00");
    /* A holiday on a weekday (Thu Oct 1): counting starts Thu Oct 8. */
    expect_time(add_days(c, at(2026, 10, 1, 9, 0, CN), 3, CN, &unc), CN,
                "2026-10-12T00:00:00+08:00");
    /* A holiday on a Saturday (Oct 3). */
    expect_time(add_days(c, at(2026, 10, 3, 15, 0, CN), 1, CN, &unc), CN,
                "2026-10-09T00:00:00+08:00");
    /* Sat Sep 19, the day before a make-up Sunday. */
    expect_time(add_days(c, at(2026, 9, 19, 15, 0, CN), 1, CN, &unc), CN,
                "2026-09-21T00:00:00+08:00");
    assert_int_equal(unc, 0);
}

/* Days are the site's local days, not UTC days. */
static void test_working_days_use_the_local_date(void **state)
{
    (void)state;
    const sw_calendar *c = &fx.cn;
    int unc = 0;
    int64_t t = at(2026, 9, 24, 20, 0, 0); /* Thursday 20:00 UTC */
    /* In China it is already Friday Sep 25, a holiday. */
    expect_time(add_days(c, t, 1, CN, &unc), CN, "2026-09-29T00:00:00+08:00");
    /* At UTC it is still a Thursday working day. */
    expect_time(add_days(c, t, 1, 0, &unc), 0, "2026-09-28T20:00:00Z");
    /* West of UTC, 01:00Z on Monday Sep 28 is Sunday evening, a holiday. */
    expect_time(add_days(c, at(2026, 9, 28, 1, 0, 0), 1, -5 * 3600, &unc), -5 * 3600,
                "2026-09-29T00:00:00-05:00");
    assert_int_equal(unc, 0);
}

/* Days outside the calendar are decided by weekends alone, and flagged. */
static void test_uncovered_days_are_flagged(void **state)
{
    (void)state;
    const sw_calendar *c = &fx.cn;
    int unc = 0;
    expect_time(add_days(c, at(2026, 12, 28, 10, 0, CN), 3, CN, &unc), CN,
                "2026-12-31T10:00:00+08:00");
    assert_int_equal(unc, 0);
    /* Into 2027: Jan 1 is a weekday to a calendar that does not know it. */
    expect_time(add_days(c, at(2026, 12, 30, 10, 0, CN), 3, CN, &unc), CN,
                "2027-01-04T10:00:00+08:00");
    assert_int_equal(unc, 1);
    /* A start before the calendar, walking into it. */
    unc = 0;
    expect_time(add_days(c, at(2025, 12, 31, 10, 0, CN), 1, CN, &unc), CN,
                "2026-01-04T10:00:00+08:00");
    assert_int_equal(unc, 1);
    /* The last covered day at 23:00 local is 15:00Z, still covered. */
    unc = 0;
    add_days(c, at(2026, 12, 31, 23, 0, CN), 0, CN, &unc);
    assert_int_equal(unc, 0);
    /* One hour later it is 2027 at the site. */
    add_days(c, at(2027, 1, 1, 0, 0, CN), 0, CN, &unc);
    assert_int_equal(unc, 1);
    /* Working time walks days too. */
    unc = 0;
    expect_time(add_time(c, at(2026, 12, 31, 17, 0, CN), HOUR, CN, &unc), CN,
                "2027-01-01T09:00:00+08:00");
    assert_int_equal(unc, 1);
    unc = 0;
    expect_time(add_time(c, at(2026, 12, 31, 16, 0, CN), HOUR, CN, &unc), CN,
                "2026-12-31T17:00:00+08:00");
    assert_int_equal(unc, 0);
}

/* cn-2026 works 08:30-17:30. */
static void test_working_time(void **state)
{
    (void)state;
    const sw_calendar *c = &fx.cn;
    int unc = 0;
    expect_time(add_time(c, at(2026, 11, 23, 10, 0, CN), 2 * HOUR, CN, &unc), CN,
                "2026-11-23T12:00:00+08:00");
    /* Past the end of the day: the rest carries to the next morning. */
    expect_time(add_time(c, at(2026, 11, 23, 16, 30, CN), 2 * HOUR, CN, &unc), CN,
                "2026-11-24T09:30:00+08:00");
    /* Before opening and after closing. */
    expect_time(add_time(c, at(2026, 11, 23, 7, 0, CN), HOUR, CN, &unc), CN,
                "2026-11-23T09:30:00+08:00");
    expect_time(add_time(c, at(2026, 11, 23, 20, 0, CN), HOUR, CN, &unc), CN,
                "2026-11-24T09:30:00+08:00");
    /* A whole working day ends at closing time, not the next morning. */
    expect_time(add_time(c, at(2026, 11, 23, 8, 30, CN), 9 * HOUR, CN, &unc), CN,
                "2026-11-23T17:30:00+08:00");
    expect_time(add_time(c, at(2026, 11, 23, 12, 0, CN), 8 * HOUR, CN, &unc), CN,
                "2026-11-24T11:00:00+08:00");
    /* Over a weekend. */
    expect_time(add_time(c, at(2026, 11, 27, 17, 0, CN), HOUR, CN, &unc), CN,
                "2026-11-30T09:00:00+08:00");
    /* Over the Sep 25-27 holiday, onto the make-up Sunday, over National Day. */
    expect_time(add_time(c, at(2026, 9, 24, 17, 0, CN), HOUR, CN, &unc), CN,
                "2026-09-28T09:00:00+08:00");
    expect_time(add_time(c, at(2026, 9, 18, 17, 0, CN), HOUR, CN, &unc), CN,
                "2026-09-20T09:00:00+08:00");
    expect_time(add_time(c, at(2026, 9, 30, 17, 0, CN), HOUR, CN, &unc), CN,
                "2026-10-08T09:00:00+08:00");
    expect_time(add_time(c, at(2026, 10, 9, 17, 0, CN), 9 * HOUR, CN, &unc), CN,
                "2026-10-10T17:00:00+08:00");
    /* Starting inside a holiday. */
    expect_time(add_time(c, at(2026, 10, 3, 10, 0, CN), 2 * HOUR, CN, &unc), CN,
                "2026-10-08T10:30:00+08:00");
    assert_int_equal(unc, 0);
}

static void load_text(const char *name, const char *text, sw_calendar *cal)
{
    char path[PATH_MAX];
    unit_write(fx.dir, name, text, path, sizeof path);
    assert_int_equal(sw_calendar_load(cal, path), 0);
}

#define COVERS_2026 "\"covers\": {\"from\": \"2026-01-01\", \"to\": \"2026-12-31\"}"

/* A Friday-Saturday weekend: the day names map to the right weekdays. */
static void test_other_weekend(void **state)
{
    (void)state;
    sw_calendar cal;
    int unc = 0;
    load_text("fri-sat.json",
              "{\"name\": \"fri-sat\", " COVERS_2026 ", \"weekend\": [\"fri\", \"sat\"]}", &cal);
    assert_string_equal(cal.name, "fri-sat");
    assert_int_equal(cal.weekend_mask, (1u << 4) | (1u << 5));
    assert_false(sw_calendar_is_workday(&cal, day(2026, 11, 27))); /* Fri */
    assert_false(sw_calendar_is_workday(&cal, day(2026, 11, 28))); /* Sat */
    assert_true(sw_calendar_is_workday(&cal, day(2026, 11, 29)));  /* Sun */
    /* No holidays here: Oct 1 2026 is a Thursday like any other. */
    assert_true(sw_calendar_is_workday(&cal, day(2026, 10, 1)));
    expect_time(add_days(&cal, at(2026, 11, 26, 10, 0, CN), 1, CN, &unc), CN,
                "2026-11-29T10:00:00+08:00");
    assert_int_equal(unc, 0);
    sw_calendar_free(&cal);
}

/* Skipping from a day off to the next working day can leave the calendar:
 * that is flagged as well, even with nothing more to add. */
static void test_uncovered_after_a_day_off(void **state)
{
    (void)state;
    sw_calendar cal;
    int unc = 0;
    load_text("november.json",
              "{\"covers\": {\"from\": \"2026-11-01\", \"to\": \"2026-11-28\"},"
              " \"weekend\": [\"sat\", \"sun\"]}",
              &cal);
    expect_time(add_days(&cal, at(2026, 11, 27, 10, 0, CN), 0, CN, &unc), CN,
                "2026-11-27T10:00:00+08:00");
    assert_int_equal(unc, 0);
    /* Saturday Nov 28 is the last covered day; Monday is beyond it. */
    expect_time(add_days(&cal, at(2026, 11, 28, 10, 0, CN), 0, CN, &unc), CN,
                "2026-11-30T00:00:00+08:00");
    assert_int_equal(unc, 1);
    sw_calendar_free(&cal);
}

/* Every weekday name, alone. */
static void test_each_day_name(void **state)
{
    (void)state;
    static const char *names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    for (int i = 0; i < 7; i++) {
        char text[256];
        sw_calendar cal;
        snprintf(text, sizeof text, "{" COVERS_2026 ", \"weekend\": [\"%s\"]}", names[i]);
        load_text("one.json", text, &cal);
        assert_int_equal(cal.weekend_mask, 1u << i);
        /* Mon Nov 23 2026 + i is the only day off of that week. */
        for (int j = 0; j < 7; j++)
            assert_int_equal(sw_calendar_is_workday(&cal, day(2026, 11, 23) + j), i != j);
        sw_calendar_free(&cal);
    }
}

/* Without working hours the whole day counts; holidays may come unsorted;
 * no name means the path names it. */
static void test_defaults_and_unsorted_dates(void **state)
{
    (void)state;
    sw_calendar cal;
    int unc = 0;
    char path[PATH_MAX];
    unit_write(fx.dir, "plain.json",
               "{" COVERS_2026 ", \"weekend\": [\"sat\", \"sun\"], "
               "\"holidays\": [\"2026-12-25\", \"2026-03-02\", \"2026-07-01\"], "
               "\"workdays\": [\"2026-12-27\", \"2026-03-07\"]}",
               path, sizeof path);
    assert_int_equal(sw_calendar_load(&cal, path), 0);
    assert_string_equal(cal.name, path);
    assert_int_equal(cal.work_from_min, 0);
    assert_int_equal(cal.work_to_min, 24 * 60);
    assert_false(sw_calendar_is_workday(&cal, day(2026, 3, 2)));
    assert_false(sw_calendar_is_workday(&cal, day(2026, 7, 1)));
    assert_false(sw_calendar_is_workday(&cal, day(2026, 12, 25)));
    assert_true(sw_calendar_is_workday(&cal, day(2026, 3, 3)));
    assert_true(sw_calendar_is_workday(&cal, day(2026, 3, 7)));   /* make-up Sat */
    assert_true(sw_calendar_is_workday(&cal, day(2026, 12, 27))); /* make-up Sun */
    assert_false(sw_calendar_is_workday(&cal, day(2026, 12, 26)));
    /* Friday 20:00 + 10 h: 4 h on Friday, 6 h from Monday midnight. */
    expect_time(add_time(&cal, at(2026, 11, 27, 20, 0, CN), 10 * HOUR, CN, &unc), CN,
                "2026-11-30T06:00:00+08:00");
    /* Round the clock, 48 h is two working days. */
    expect_time(add_time(&cal, at(2026, 11, 23, 10, 0, CN), 48 * HOUR, CN, &unc), CN,
                "2026-11-25T10:00:00+08:00");
    assert_int_equal(unc, 0);
    sw_calendar_free(&cal);

    /* An empty weekend: every day but a holiday works. */
    load_text("noweekend.json",
              "{" COVERS_2026 ", \"weekend\": [], \"holidays\": [\"2026-11-24\"], "
              "\"working_hours\": {\"from\": \"00:00\", \"to\": \"24:00\"}}",
              &cal);
    assert_int_equal(cal.weekend_mask, 0);
    assert_int_equal(cal.work_to_min, 24 * 60);
    assert_true(sw_calendar_is_workday(&cal, day(2026, 11, 21)));
    assert_true(sw_calendar_is_workday(&cal, day(2026, 11, 22)));
    /* Monday + 2 skips the Tuesday holiday: Wednesday, then Thursday. */
    expect_time(add_days(&cal, at(2026, 11, 23, 10, 0, CN), 2, CN, &unc), CN,
                "2026-11-26T10:00:00+08:00");
    sw_calendar_free(&cal);
}

/* Working hours of a short day, in a zone west of UTC. */
static void test_working_hours_elsewhere(void **state)
{
    (void)state;
    const int ny = -5 * 3600;
    sw_calendar cal;
    int unc = 0;
    load_text("short.json",
              "{" COVERS_2026 ", \"weekend\": [\"sat\", \"sun\"], "
              "\"working_hours\": {\"from\": \"09:00\", \"to\": \"12:00\"}}",
              &cal);
    assert_int_equal(cal.work_from_min, 9 * 60);
    assert_int_equal(cal.work_to_min, 12 * 60);
    /* 4 h of a 3-hour day: 3 h Monday, 1 h Tuesday. */
    expect_time(add_time(&cal, at(2026, 11, 23, 8, 0, ny), 4 * HOUR, ny, &unc), ny,
                "2026-11-24T10:00:00-05:00");
    /* Afternoon of Friday: nothing left that day. */
    expect_time(add_time(&cal, at(2026, 11, 27, 13, 0, ny), 30 * MIN, ny, &unc), ny,
                "2026-11-30T09:30:00-05:00");
    assert_int_equal(unc, 0);
    sw_calendar_free(&cal);
}

static void test_bad_calendars(void **state)
{
    (void)state;
    static const struct {
        const char *text, *key;
    } bad[] = {
        {"{\"weekend\": [\"sat\"]}", "covers"},
        {"{\"covers\": \"2026\", \"weekend\": []}", "covers"},
        {"{\"covers\": {\"from\": \"2026-01-01\"}, \"weekend\": []}", "covers"},
        {"{\"covers\": {\"from\": \"2026-02-30\", \"to\": \"2026-12-31\"}, \"weekend\": []}",
         "covers"},
        {"{\"covers\": {\"from\": 20260101, \"to\": \"2026-12-31\"}, \"weekend\": []}", "covers"},
        {"{" COVERS_2026 "}", "weekend"},
        {"{" COVERS_2026 ", \"weekend\": \"sat\"}", "weekend"},
        {"{" COVERS_2026 ", \"weekend\": [\"saturday\"]}", "weekend"},
        {"{" COVERS_2026 ", \"weekend\": [\"Sat\"]}", "weekend"},
        {"{" COVERS_2026 ", \"weekend\": [6]}", "weekend"},
        {"{" COVERS_2026 ", \"weekend\": [], \"working_hours\": \"08:30-17:30\"}", "working_hours"},
        {"{" COVERS_2026 ", \"weekend\": [], \"working_hours\": {\"from\": \"08:30\"}}",
         "working_hours"},
        {"{" COVERS_2026
         ", \"weekend\": [], \"working_hours\": {\"from\": \"17:30\", \"to\": \"08:30\"}}",
         "working_hours"},
        {"{" COVERS_2026
         ", \"weekend\": [], \"working_hours\": {\"from\": \"08:30\", \"to\": \"08:30\"}}",
         "working_hours"},
        {"{" COVERS_2026
         ", \"weekend\": [], \"working_hours\": {\"from\": \"24:00\", \"to\": \"24:00\"}}",
         "working_hours"},
        {"{" COVERS_2026
         ", \"weekend\": [], \"working_hours\": {\"from\": \"08:30\", \"to\": \"24:30\"}}",
         "working_hours"},
        {"{" COVERS_2026
         ", \"weekend\": [], \"working_hours\": {\"from\": \"08:60\", \"to\": \"17:00\"}}",
         "working_hours"},
        {"{" COVERS_2026
         ", \"weekend\": [], \"working_hours\": {\"from\": \"8h\", \"to\": \"17h\"}}",
         "working_hours"},
        {"{" COVERS_2026 ", \"weekend\": [], \"holidays\": \"2026-10-01\"}", "holidays"},
        {"{" COVERS_2026 ", \"weekend\": [], \"holidays\": [\"2026-10-01\", 5]}", "holidays"},
        {"{" COVERS_2026 ", \"weekend\": [], \"holidays\": [\"2026-13-01\"]}", "holidays"},
        {"{" COVERS_2026 ", \"weekend\": [], \"holidays\": [\"2026-10-1\"]}", "holidays"},
        {"{" COVERS_2026 ", \"weekend\": [], \"workdays\": [\"2026-02-30\"]}", "workdays"},
        {"{" COVERS_2026 ", \"weekend\": [], \"workdays\": {\"a\": \"2026-02-01\"}}", "workdays"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char path[PATH_MAX], log[4096], want[64];
        sw_calendar cal;
        unit_capture cap;
        unit_write(fx.dir, "bad.json", bad[i].text, path, sizeof path);
        unit_capture_start(&cap, fx.dir);
        int rc = sw_calendar_load(&cal, path);
        unit_capture_stop(&cap, log, sizeof log);
        if (rc != SW_ECONFIG)
            fail_msg("calendar %zu loaded (rc %d): %s", i, rc, bad[i].text);
        snprintf(want, sizeof want, "key '%s'", bad[i].key);
        if (!strstr(log, path) || !strstr(log, want))
            fail_msg("calendar %zu: the error does not name %s and %s: %s", i, path, want, log);
        /* Nothing is left allocated after a failure. */
        assert_null(cal.holidays);
        assert_null(cal.workdays);
    }
}

static void test_unreadable_calendars(void **state)
{
    (void)state;
    static const char *bad[] = {"", "{\"covers\": ", "[]", "\"cn-2026\"", "{} {}"};
    char path[PATH_MAX], log[4096];
    sw_calendar cal;
    unit_capture cap;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        unit_write(fx.dir, "broken.json", bad[i], path, sizeof path);
        unit_capture_start(&cap, fx.dir);
        int rc = sw_calendar_load(&cal, path);
        unit_capture_stop(&cap, log, sizeof log);
        if (rc != SW_ECONFIG || !strstr(log, path))
            fail_msg("calendar '%s': rc %d, log %s", bad[i], rc, log);
    }
    snprintf(path, sizeof path, "%s/no-such-calendar.json", fx.dir);
    unit_capture_start(&cap, fx.dir);
    int rc = sw_calendar_load(&cal, path);
    unit_capture_stop(&cap, log, sizeof log);
    assert_int_equal(rc, SW_ECONFIG);
    assert_non_null(strstr(log, path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cn2026_loads),
        cmocka_unit_test(test_cn2026_holidays_and_makeup_days),
        cmocka_unit_test(test_cn2026_covers),
        cmocka_unit_test(test_working_days_across_holidays),
        cmocka_unit_test(test_working_days_make_up_days),
        cmocka_unit_test(test_working_days_start_on_a_day_off),
        cmocka_unit_test(test_working_days_use_the_local_date),
        cmocka_unit_test(test_uncovered_days_are_flagged),
        cmocka_unit_test(test_working_time),
        cmocka_unit_test(test_other_weekend),
        cmocka_unit_test(test_uncovered_after_a_day_off),
        cmocka_unit_test(test_each_day_name),
        cmocka_unit_test(test_defaults_and_unsorted_dates),
        cmocka_unit_test(test_working_hours_elsewhere),
        cmocka_unit_test(test_bad_calendars),
        cmocka_unit_test(test_unreadable_calendars),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
