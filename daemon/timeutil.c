#include "timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "siteward/types.h"

int sw_duration_parse(const char *text, sw_duration *out)
{
    const char *p = text;
    int64_t n = 0;

    if (!text || *p < '0' || *p > '9')
        return SW_EINVAL;
    while (*p >= '0' && *p <= '9') {
        n = n * 10 + (*p - '0');
        if (n > 100000000)
            return SW_EINVAL;
        p++;
    }
    out->ms = 0;
    out->working_days = 0;
    out->working_ms = 0;
    if (!strcmp(p, "s"))
        out->ms = n * 1000;
    else if (!strcmp(p, "m"))
        out->ms = n * 60000;
    else if (!strcmp(p, "h"))
        out->ms = n * 3600000;
    else if (!strcmp(p, "d"))
        out->ms = n * SW_MS_PER_DAY;
    else if (!strcmp(p, "wd") && n > 0 && n < 1000)
        out->working_days = (int)n;
    else if (!strcmp(p, "wh") && n > 0 && n < 10000)
        out->working_ms = n * 3600000;
    else
        return SW_EINVAL;
    return 0;
}

int sw_duration_parse_ms(const char *text, int64_t *ms)
{
    sw_duration d;
    if (sw_duration_parse(text, &d) || d.working_days || d.working_ms)
        return SW_EINVAL;
    *ms = d.ms;
    return 0;
}

int sw_hhmm_parse(const char *s, int allow_24)
{
    /* Digit by digit: sscanf's %d would also take signs and blanks. */
    if (!s || strlen(s) != 5 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
        s[2] != ':' || !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
        return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && (m || !allow_24)))
        return -1;
    return h * 60 + m;
}

int sw_tz_parse(const char *text, int *offset_s)
{
    int h, m;

    if (!text)
        return SW_EINVAL;
    if (!strcmp(text, "Z") || !strcmp(text, "UTC")) {
        *offset_s = 0;
        return 0;
    }
    /* Exactly "+HH:MM" or "-HH:MM": sscanf's %d would also take signs and blanks. */
    if (strlen(text) != 6 || (text[0] != '+' && text[0] != '-') || text[3] != ':' ||
        !isdigit((unsigned char)text[1]) || !isdigit((unsigned char)text[2]) ||
        !isdigit((unsigned char)text[4]) || !isdigit((unsigned char)text[5]))
        return SW_EINVAL;
    h = (text[1] - '0') * 10 + (text[2] - '0');
    m = (text[4] - '0') * 10 + (text[5] - '0');
    if (h > 14 || m > 59)
        return SW_EINVAL;
    *offset_s = (text[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
    return 0;
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t sw_days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void sw_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400) + (*m <= 2);
}

static int64_t sw__floordiv(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

void sw_time_format(int64_t ms, int offset_s, char *buf, size_t len)
{
    int64_t local = ms + (int64_t)offset_s * 1000;
    int64_t days = sw__floordiv(local, SW_MS_PER_DAY);
    int64_t rem = local - days * SW_MS_PER_DAY;
    int y;
    unsigned mo, d;
    int off = offset_s < 0 ? -offset_s : offset_s;
    char zone[16];

    sw_civil_from_days(days, &y, &mo, &d);
    if (offset_s == 0)
        snprintf(zone, sizeof zone, "Z");
    else
        snprintf(zone, sizeof zone, "%c%02d:%02d", offset_s < 0 ? '-' : '+', off / 3600,
                 (off % 3600) / 60);
    int sec = (int)(rem / 1000);
    int milli = (int)(rem % 1000);
    if (milli)
        snprintf(buf, len, "%04d-%02u-%02uT%02d:%02d:%02d.%03d%s", y, mo, d, sec / 3600,
                 (sec % 3600) / 60, sec % 60, milli, zone);
    else
        snprintf(buf, len, "%04d-%02u-%02uT%02d:%02d:%02d%s", y, mo, d, sec / 3600,
                 (sec % 3600) / 60, sec % 60, zone);
}

static int sw__digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int sw_date_parse(const char *text, int64_t *days)
{
    const char *p = text;
    int y, m, d;
    if (!text || sw__digits(&p, 4, &y) || *p++ != '-' || sw__digits(&p, 2, &m) || *p++ != '-' ||
        sw__digits(&p, 2, &d) || *p)
        return SW_EINVAL;
    if (m < 1 || m > 12 || d < 1 || d > 31)
        return SW_EINVAL;
    *days = sw_days_from_civil(y, (unsigned)m, (unsigned)d);
    int yy;
    unsigned mm, dd;
    sw_civil_from_days(*days, &yy, &mm, &dd); /* rejects 2026-02-30 */
    return ((int)mm == m && (int)dd == d) ? 0 : SW_EINVAL;
}

int sw_time_parse(const char *text, int64_t *ms)
{
    const char *p = text;
    int y, mo, d, h, mi, s, frac = 0, off = 0;

    if (!text || sw__digits(&p, 4, &y) || *p++ != '-' || sw__digits(&p, 2, &mo) || *p++ != '-' ||
        sw__digits(&p, 2, &d))
        return SW_EINVAL;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return SW_EINVAL;
    p++;
    if (sw__digits(&p, 2, &h) || *p++ != ':' || sw__digits(&p, 2, &mi) || *p++ != ':' ||
        sw__digits(&p, 2, &s))
        return SW_EINVAL;
    if (*p == '.') {
        int scale = 100, n = 0;
        p++;
        while (*p >= '0' && *p <= '9') {
            if (scale) {
                frac += (*p - '0') * scale;
                scale /= 10;
            }
            p++;
            n++;
        }
        if (!n)
            return SW_EINVAL;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, sign = *p == '-' ? -1 : 1;
        p++;
        if (sw__digits(&p, 2, &oh) || *p++ != ':' || sw__digits(&p, 2, &om) || oh > 23 || om > 59)
            return SW_EINVAL;
        off = sign * (oh * 3600 + om * 60);
    } else {
        return SW_EINVAL;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return SW_EINVAL;
    int64_t days = sw_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int yy;
    unsigned mm, dd;
    sw_civil_from_days(days, &yy, &mm, &dd); /* rejects 2026-02-30 */
    if ((int)mm != mo || (int)dd != d)
        return SW_EINVAL;
    *ms = ((days * 86400 + h * 3600 + mi * 60 + s) - off) * 1000LL + frac;
    return 0;
}
