/* Durations, RFC 3339 times at a site's offset, and civil dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "siteward/types.h"
#include "timeutil.h"

#define MIN  60000LL
#define HOUR 3600000LL

static void test_durations(void **state)
{
    (void)state;
    sw_duration d;
    assert_int_equal(sw_duration_parse("90s", &d), 0);
    assert_int_equal(d.ms, 90000);
    assert_int_equal(sw_duration_parse("5m", &d), 0);
    assert_int_equal(d.ms, 300000);
    assert_int_equal(sw_duration_parse("24h", &d), 0);
    assert_int_equal(d.ms, 86400000);
    assert_int_equal(sw_duration_parse("3d", &d), 0);
    assert_int_equal(d.ms, 3 * 86400000LL);
    assert_int_equal(sw_duration_parse("3wd", &d), 0);
    assert_int_equal(d.working_days, 3);
    assert_int_equal(d.ms, 0);
    assert_int_equal(sw_duration_parse("8wh", &d), 0);
    assert_int_equal(d.working_ms, 8 * HOUR);
    assert_int_equal(sw_duration_parse("0s", &d), 0);
    assert_int_equal(d.ms, 0);
    const char *bad[] = {"", "5", "m", "5 m", "-5m", "5min", "1.5h", "5M", "0wd", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(sw_duration_parse(bad[i], &d), SW_EINVAL);
    int64_t ms;
    assert_int_equal(sw_duration_parse_ms("3wd", &ms), SW_EINVAL);
    assert_int_equal(sw_duration_parse_ms("2h", &ms), 0);
    assert_int_equal(ms, 7200000);
}

/* Each parse sets exactly one of the three fields; the others are cleared
 * even when the struct held a different kind before. */
static void test_duration_kinds_are_exclusive(void **state)
{
    (void)state;
    sw_duration d;
    assert_int_equal(sw_duration_parse("3wd", &d), 0);
    assert_int_equal(sw_duration_parse("5m", &d), 0);
    assert_int_equal(d.ms, 5 * MIN);
    assert_int_equal(d.working_days, 0);
    assert_int_equal(d.working_ms, 0);
    assert_int_equal(sw_duration_parse("2wh", &d), 0);
    assert_int_equal(d.ms, 0);
    assert_int_equal(d.working_days, 0);
    assert_int_equal(d.working_ms, 2 * HOUR);
    assert_int_equal(sw_duration_parse("1wd", &d), 0);
    assert_int_equal(d.ms, 0);
    assert_int_equal(d.working_days, 1);
    assert_int_equal(d.working_ms, 0);
}

static void test_duration_limits(void **state)
{
    (void)state;
    sw_duration d;
    int64_t ms;
    /* The largest count, in the largest unit, still fits in int64 ms. */
    assert_int_equal(sw_duration_parse("100000000d", &d), 0);
    assert_int_equal(d.ms, 100000000LL * 86400000LL);
    assert_int_equal(sw_duration_parse("100000001s", &d), SW_EINVAL);
    assert_int_equal(sw_duration_parse("99999999999999999999999h", &d), SW_EINVAL);
    assert_int_equal(sw_duration_parse("999wd", &d), 0);
    assert_int_equal(d.working_days, 999);
    assert_int_equal(sw_duration_parse("1000wd", &d), SW_EINVAL);
    assert_int_equal(sw_duration_parse("9999wh", &d), 0);
    assert_int_equal(d.working_ms, 9999 * HOUR);
    assert_int_equal(sw_duration_parse("10000wh", &d), SW_EINVAL);
    assert_int_equal(sw_duration_parse("0wh", &d), SW_EINVAL);
    /* Leading zeros are digits like any other. */
    assert_int_equal(sw_duration_parse("015m", &d), 0);
    assert_int_equal(d.ms, 15 * MIN);
    const char *bad[] = {" 5m", "5m ", "+5m", "5mm", "5hs", "5w", "5dw", "5W", "5wD", "h5", NULL};
    for (int i = 0; bad[i]; i++)
        if (sw_duration_parse(bad[i], &d) != SW_EINVAL)
            fail_msg("duration '%s' was accepted", bad[i]);
    assert_int_equal(sw_duration_parse(NULL, &d), SW_EINVAL);
    assert_int_equal(sw_duration_parse_ms("8wh", &ms), SW_EINVAL);
    assert_int_equal(sw_duration_parse_ms("", &ms), SW_EINVAL);
    assert_int_equal(sw_duration_parse_ms("0s", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(sw_duration_parse_ms("365d", &ms), 0);
    assert_int_equal(ms, 365 * 86400000LL);
}

static void test_offsets(void **state)
{
    (void)state;
    int off;
    assert_int_equal(sw_tz_parse("+08:00", &off), 0);
    assert_int_equal(off, 8 * 3600);
    assert_int_equal(sw_tz_parse("-05:30", &off), 0);
    assert_int_equal(off, -(5 * 3600 + 30 * 60));
    assert_int_equal(sw_tz_parse("Z", &off), 0);
    assert_int_equal(off, 0);
    assert_int_equal(sw_tz_parse("Asia/Shanghai", &off), SW_EINVAL);
    assert_int_equal(sw_tz_parse("+8", &off), SW_EINVAL);
    assert_int_equal(sw_tz_parse("+15:00", &off), SW_EINVAL);
}

static void test_offsets_more(void **state)
{
    (void)state;
    int off = 1;
    assert_int_equal(sw_tz_parse("UTC", &off), 0);
    assert_int_equal(off, 0);
    assert_int_equal(sw_tz_parse("+05:45", &off), 0); /* Nepal */
    assert_int_equal(off, 5 * 3600 + 45 * 60);
    assert_int_equal(sw_tz_parse("+14:00", &off), 0); /* Kiribati, the largest in use */
    assert_int_equal(off, 14 * 3600);
    assert_int_equal(sw_tz_parse("-00:00", &off), 0);
    assert_int_equal(off, 0);
    const char *bad[] = {"",        "08:00",   "+0800",  "+08:0",  "+08:60",
                         "+08:00 ", " +08:00", "*08:00", "+08-00", "+8:00",
                         "+008:00", "CST",     "GMT+8",  "utc",    NULL};
    for (int i = 0; bad[i]; i++) {
        off = 12345;
        if (sw_tz_parse(bad[i], &off) != SW_EINVAL)
            fail_msg("offset '%s' was accepted as %d s", bad[i], off);
        assert_int_equal(off, 12345); /* left alone on error */
    }
    assert_int_equal(sw_tz_parse(NULL, &off), SW_EINVAL);
}

static void test_format_and_parse(void **state)
{
    (void)state;
    char buf[40];
    int64_t ms;
    /* 2026-11-22T00:15:03Z is 08:15:03 in China. */
    assert_int_equal(sw_time_parse("2026-11-22T08:15:03+08:00", &ms), 0);
    assert_int_equal(ms, 1795306503000LL);
    sw_time_format(ms, 8 * 3600, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-22T08:15:03+08:00");
    sw_time_format(ms, 0, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-22T00:15:03Z");
    sw_time_format(ms + 7, -(5 * 3600 + 30 * 60), buf, sizeof buf);
    assert_string_equal(buf, "2026-11-21T18:45:03.007-05:30");
    /* 16:30Z is already the next day at +08:00. */
    assert_int_equal(sw_time_parse("2026-12-31T16:30:00Z", &ms), 0);
    sw_time_format(ms, 8 * 3600, buf, sizeof buf);
    assert_string_equal(buf, "2027-01-01T00:30:00+08:00");
    /* Fractions, lower-case separators, negative offsets. */
    assert_int_equal(sw_time_parse("2026-11-22t00:15:03.5z", &ms), 0);
    assert_int_equal(ms, 1795306503500LL);
    assert_int_equal(sw_time_parse("2026-11-21T19:15:03-05:00", &ms), 0);
    assert_int_equal(ms, 1795306503000LL);
    const char *bad[] = {
        "2026-11-22T08:15:03",   "2026-11-22 08:15",         "2026-13-01T00:00:00Z",
        "2026-11-22T25:00:00Z",  "2026-11-22T08:15:03+0800", "yesterday",
        "2026-11-22T08:15:03.Z", "2026-11-22T08:15:03Zjunk", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(sw_time_parse(bad[i], &ms), SW_EINVAL);
}

static void test_format_edges(void **state)
{
    (void)state;
    char buf[40];
    sw_time_format(0, 0, buf, sizeof buf);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    /* Before the epoch: days round down, not toward zero. */
    sw_time_format(-1, 0, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    sw_time_format(0, 8 * 3600, buf, sizeof buf);
    assert_string_equal(buf, "1970-01-01T08:00:00+08:00");
    sw_time_format(0, -3600, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31T23:00:00-01:00");
    /* A leap day, at a quarter-hour offset. */
    int64_t leap = sw_days_from_civil(2024, 2, 29) * SW_MS_PER_DAY;
    sw_time_format(leap + 23 * HOUR + 59 * MIN, 5 * 3600 + 45 * 60, buf, sizeof buf);
    assert_string_equal(buf, "2024-03-01T05:44:00+05:45");
    sw_time_format(leap + 999, 0, buf, sizeof buf);
    assert_string_equal(buf, "2024-02-29T00:00:00.999Z");
    /* The documented 32 bytes hold the longest form. */
    sw_time_format(leap + 1, -(14 * 3600), buf, 32);
    assert_string_equal(buf, "2024-02-28T10:00:00.001-14:00");
}

static void test_parse_offsets_name_one_instant(void **state)
{
    (void)state;
    const char *same[] = {"2026-11-22T08:15:03+08:00", "2026-11-22T00:15:03Z",
                          "2026-11-22T00:15:03+00:00", "2026-11-22T00:15:03-00:00",
                          "2026-11-21T18:45:03-05:30", "2026-11-22T06:00:03+05:45",
                          "2026-11-22 08:15:03+08:00", NULL};
    for (int i = 0; same[i]; i++) {
        int64_t ms = 0;
        if (sw_time_parse(same[i], &ms) || ms != 1795306503000LL)
            fail_msg("'%s' parsed to %lld", same[i], (long long)ms);
    }
}

static void test_parse_fractions(void **state)
{
    (void)state;
    int64_t ms;
    const int64_t base = 1795306503000LL;
    assert_int_equal(sw_time_parse("2026-11-22T00:15:03.05Z", &ms), 0);
    assert_int_equal(ms - base, 50);
    assert_int_equal(sw_time_parse("2026-11-22T00:15:03.123Z", &ms), 0);
    assert_int_equal(ms - base, 123);
    /* Digits past milliseconds are read and dropped, not rounded. */
    assert_int_equal(sw_time_parse("2026-11-22T00:15:03.123999999Z", &ms), 0);
    assert_int_equal(ms - base, 123);
    assert_int_equal(sw_time_parse("2026-11-22T08:15:03.000+08:00", &ms), 0);
    assert_int_equal(ms, base);
    assert_int_equal(sw_time_parse("2026-11-22T00:15:03.1x", &ms), SW_EINVAL);
    assert_int_equal(sw_time_parse("2026-11-22T00:15:03,5Z", &ms), SW_EINVAL);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    int64_t ms = 42;
    const char *bad[] = {"",
                         "2026-11-22",
                         "2026-11-22T",
                         "2026-11-22T08:15Z",
                         "2026-11-22X08:15:03Z",
                         "2026-11-22T08:15:03+08",
                         "2026-11-22T08:15:03+08:0",
                         "2026-11-22T08:15:03+24:00",
                         "2026-11-22T08:15:03+08:60",
                         "2026-11-22T08:60:03Z",
                         "2026-11-22T08:15:61Z",
                         "2026-00-22T08:15:03Z",
                         "2026-11-00T08:15:03Z",
                         "2026-11-32T08:15:03Z",
                         "26-11-22T08:15:03Z",
                         "2026/11/22T08:15:03Z",
                         "2026-11-22T8:15:03Z",
                         " 2026-11-22T08:15:03Z",
                         "2026-11-22T08:15:03Z ",
                         "1795306503000",
                         NULL};
    for (int i = 0; bad[i]; i++)
        if (sw_time_parse(bad[i], &ms) != SW_EINVAL)
            fail_msg("time '%s' was accepted", bad[i]);
    assert_int_equal(ms, 42); /* untouched by failures */
    assert_int_equal(sw_time_parse(NULL, &ms), SW_EINVAL);
}

/* Whatever is formatted parses back to the same instant. */
static void test_round_trip(void **state)
{
    (void)state;
    const int offsets[] = {0,         8 * 3600,  -(5 * 3600 + 30 * 60), 5 * 3600 + 45 * 60,
                           14 * 3600, -12 * 3600};
    const int64_t instants[] = {0,
                                -1,
                                1795306503000LL,
                                1795306503007LL,
                                sw_days_from_civil(2024, 2, 29) * SW_MS_PER_DAY + 86399999,
                                sw_days_from_civil(2026, 12, 31) * SW_MS_PER_DAY + 16 * HOUR,
                                sw_days_from_civil(1900, 3, 1) * SW_MS_PER_DAY,
                                sw_days_from_civil(2099, 12, 31) * SW_MS_PER_DAY + 12345};
    char buf[40];
    for (size_t i = 0; i < sizeof instants / sizeof *instants; i++)
        for (size_t j = 0; j < sizeof offsets / sizeof *offsets; j++) {
            int64_t back = 0;
            sw_time_format(instants[i], offsets[j], buf, sizeof buf);
            if (sw_time_parse(buf, &back) || back != instants[i])
                fail_msg("%lld at %d s: '%s' parsed to %lld", (long long)instants[i], offsets[j],
                         buf, (long long)back);
        }
}

static void test_civil_dates(void **state)
{
    (void)state;
    int64_t d;
    int y;
    unsigned m, day;
    assert_int_equal(sw_date_parse("1970-01-01", &d), 0);
    assert_int_equal(d, 0);
    assert_int_equal(sw_date_parse("2026-03-01", &d), 0);
    sw_civil_from_days(d - 1, &y, &m, &day);
    assert_int_equal(y, 2026);
    assert_int_equal(m, 2);
    assert_int_equal(day, 28); /* 2026 is not a leap year */
    assert_int_equal(sw_date_parse("2024-02-29", &d), 0);
    assert_int_equal(sw_date_parse("2026-02-29", &d), SW_EINVAL);
    assert_int_equal(sw_date_parse("2026-02-30", &d), SW_EINVAL);
    assert_int_equal(sw_date_parse("2026-1-1", &d), SW_EINVAL);
}

static void test_civil_known_days(void **state)
{
    (void)state;
    assert_int_equal(sw_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(sw_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(sw_days_from_civil(2026, 1, 1), 20454);
    assert_int_equal(sw_days_from_civil(2026, 9, 24), 20720);
    assert_int_equal(sw_days_from_civil(1900, 1, 1), -25567);
    assert_int_equal(sw_days_from_civil(1969, 12, 31), -1);
    int64_t d;
    assert_int_equal(sw_date_parse("2000-02-29", &d), 0); /* divisible by 400 */
    assert_int_equal(d, 11016);
    assert_int_equal(sw_date_parse("2100-02-29", &d), SW_EINVAL); /* by 100 only */
    assert_int_equal(sw_date_parse("2026-12-31", &d), 0);
    assert_int_equal(d, 20818);
    d = 7;
    const char *bad[] = {"",           "2026-00-10",  "2026-13-01",
                         "2026-01-00", "2026-01-32",  "2026-04-31",
                         "2026-06-31", "2026-01-01x", "2026-01-01T00:00:00Z",
                         "20260101",   "2026/01/01",  " 2026-01-01",
                         "2026-1-01",  NULL};
    for (int i = 0; bad[i]; i++)
        if (sw_date_parse(bad[i], &d) != SW_EINVAL)
            fail_msg("date '%s' was accepted", bad[i]);
    assert_int_equal(sw_date_parse(NULL, &d), SW_EINVAL);
}

/* days_from_civil and civil_from_days are inverses, day by day, across
 * two centuries and their leap-year rules. */
static void test_civil_round_trip(void **state)
{
    (void)state;
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t expect = sw_days_from_civil(1899, 12, 31);
    for (int y = 1900; y <= 2100; y++) {
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        for (unsigned m = 1; m <= 12; m++) {
            unsigned n = mdays[m - 1] + (m == 2 && leap);
            for (unsigned d = 1; d <= n; d++) {
                int64_t z = sw_days_from_civil(y, m, d);
                int yy;
                unsigned mm, dd;
                if (z != ++expect)
                    fail_msg("%04d-%02u-%02u is day %lld, not %lld", y, m, d, (long long)z,
                             (long long)expect);
                sw_civil_from_days(z, &yy, &mm, &dd);
                if (yy != y || mm != m || dd != d)
                    fail_msg("day %lld came back as %04d-%02u-%02u", (long long)z, yy, mm, dd);
            }
        }
    }
    assert_int_equal(expect, sw_days_from_civil(2100, 12, 31));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_duration_kinds_are_exclusive),
        cmocka_unit_test(test_duration_limits),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_offsets_more),
        cmocka_unit_test(test_format_and_parse),
        cmocka_unit_test(test_format_edges),
        cmocka_unit_test(test_parse_offsets_name_one_instant),
        cmocka_unit_test(test_parse_fractions),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_civil_dates),
        cmocka_unit_test(test_civil_known_days),
        cmocka_unit_test(test_civil_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
