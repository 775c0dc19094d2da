#include "calendar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jsonfile.h"
#include "log.h"
#include "timeutil.h"

static int sw__cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int sw__dates(const char *path, const cJSON *arr, const char *key, int64_t **out, int *n)
{
    const cJSON *it;
    int i = 0;

    *out = NULL;
    *n = 0;
    if (!arr)
        return 0;
    if (!cJSON_IsArray(arr))
        return sw_json_error(path, key, "must be an array of \"YYYY-MM-DD\" dates");
    *out = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof **out);
    if (!*out)
        return SW_ENOMEM;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || sw_date_parse(it->valuestring, &(*out)[i]))
            return sw_json_error(path, key, "entry %d is not a \"YYYY-MM-DD\" date", i);
        i++;
    }
    *n = i;
    qsort(*out, (size_t)i, sizeof **out, sw__cmp64);
    return 0;
}

int sw_calendar_load(sw_calendar *cal, const char *path)
{
    static const char *wdays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    cJSON *root;
    const cJSON *v, *it;
    int rc = SW_ECONFIG;

    memset(cal, 0, sizeof *cal);
    if (sw_json_load(path, &root))
        return SW_ECONFIG;
    v = cJSON_GetObjectItemCaseSensitive(root, "name");
    snprintf(cal->name, sizeof cal->name, "%s", cJSON_IsString(v) ? v->valuestring : path);

    v = cJSON_GetObjectItemCaseSensitive(root, "covers");
    if (!cJSON_IsObject(v) ||
        sw_date_parse(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "from")),
                      &cal->from_day) ||
        sw_date_parse(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "to")),
                      &cal->to_day)) {
        sw_json_error(path, "covers", "must be {\"from\": \"YYYY-MM-DD\", \"to\": \"YYYY-MM-DD\"}");
        goto out;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "weekend");
    if (!cJSON_IsArray(v)) {
        sw_json_error(path, "weekend", "must be an array of day names such as \"sat\"");
        goto out;
    }
    cJSON_ArrayForEach(it, v)
    {
        int found = -1;
        for (int d = 0; d < 7; d++)
            if (cJSON_IsString(it) && !strcmp(it->valuestring, wdays[d]))
                found = d;
        if (found < 0) {
            sw_json_error(path, "weekend", "day names are mon tue wed thu fri sat sun");
            goto out;
        }
        cal->weekend_mask |= 1u << found;
    }
    if (cal->weekend_mask == 0x7f) {
        /* Working-day arithmetic would never find a day past the holidays. */
        sw_json_error(path, "weekend", "must leave at least one working day in the week");
        goto out;
    }
    cal->work_from_min = 0;
    cal->work_to_min = 24 * 60;
    v = cJSON_GetObjectItemCaseSensitive(root, "working_hours");
    if (v) {
        int from =
            sw_hhmm_parse(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "from")), 0);
        int to = sw_hhmm_parse(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "to")), 1);
        if (from < 0 || to < 0 || from >= to) {
            sw_json_error(path, "working_hours",
                          "must be {\"from\": \"HH:MM\", \"to\": \"HH:MM\"} with from before to");
            goto out;
        }
        cal->work_from_min = from;
        cal->work_to_min = to;
    }
    if (sw__dates(path, cJSON_GetObjectItemCaseSensitive(root, "holidays"), "holidays",
                  &cal->holidays, &cal->nholidays) ||
        sw__dates(path, cJSON_GetObjectItemCaseSensitive(root, "workdays"), "workdays",
                  &cal->workdays, &cal->nworkdays))
        goto out;
    rc = 0;
out:
    cJSON_Delete(root);
    if (rc)
        sw_calendar_free(cal);
    return rc;
}

void sw_calendar_free(sw_calendar *cal)
{
    free(cal->holidays);
    free(cal->workdays);
    cal->holidays = cal->workdays = NULL;
    cal->nholidays = cal->nworkdays = 0;
}

static int sw__has(const int64_t *v, int n, int64_t day)
{
    return n && bsearch(&day, v, (size_t)n, sizeof *v, sw__cmp64) != NULL;
}

int sw_calendar_covers(const sw_calendar *cal, int64_t day)
{
    return day >= cal->from_day && day <= cal->to_day;
}

int sw_calendar_is_workday(const sw_calendar *cal, int64_t day)
{
    /* 1970-01-01 was a Thursday (index 3 with Monday = 0). */
    int wd = (int)(((day % 7) + 7 + 3) % 7);
    if (sw__has(cal->workdays, cal->nworkdays, day))
        return 1;
    if (sw__has(cal->holidays, cal->nholidays, day))
        return 0;
    return !(cal->weekend_mask & (1u << wd));
}

int64_t sw_calendar_add_working_days(const sw_calendar *cal, int64_t start_ms, int n, int offset_s,
                                     int *uncovered)
{
    int64_t local = start_ms + (int64_t)offset_s * 1000;
    int64_t day = local / SW_MS_PER_DAY - (local % SW_MS_PER_DAY < 0);
    int64_t tod = local - day * SW_MS_PER_DAY;

    if (!sw_calendar_covers(cal, day))
        *uncovered = 1;
    if (!sw_calendar_is_workday(cal, day)) {
        tod = 0;
        do {
            day++;
            if (!sw_calendar_covers(cal, day))
                *uncovered = 1;
        } while (!sw_calendar_is_workday(cal, day));
    }
    for (int i = 0; i < n; i++) {
        do {
            day++;
            if (!sw_calendar_covers(cal, day))
                *uncovered = 1;
        } while (!sw_calendar_is_workday(cal, day));
    }
    return day * SW_MS_PER_DAY + tod - (int64_t)offset_s * 1000;
}

int64_t sw_calendar_add_working_time(const sw_calendar *cal, int64_t start_ms, int64_t ms,
                                     int offset_s, int *uncovered)
{
    int64_t local = start_ms + (int64_t)offset_s * 1000;
    int64_t day = local / SW_MS_PER_DAY - (local % SW_MS_PER_DAY < 0);
    int64_t t = local - day * SW_MS_PER_DAY;
    const int64_t from = cal->work_from_min * 60000LL, to = cal->work_to_min * 60000LL;

    /* Ten years of days at most: a calendar with no working day ends it. */
    for (int i = 0; i < 3660; i++, day++, t = 0) {
        if (!sw_calendar_covers(cal, day))
            *uncovered = 1;
        if (!sw_calendar_is_workday(cal, day))
            continue;
        int64_t s = t > from ? t : from;
        if (s >= to)
            continue;
        if (ms <= to - s)
            return day * SW_MS_PER_DAY + s + ms - (int64_t)offset_s * 1000;
        ms -= to - s;
    }
    return start_ms + ms;
}
