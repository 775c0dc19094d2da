/*
 * Inspection rounds: daily, weekly (from Monday) and monthly periods of the
 * site's local calendar, over the equipment each round lists. Equipment is
 * checked in by an "inspection" event (data.equipment: an id or a list of
 * ids, else the device that sent it; data.round, if given, limits it to
 * that round) or by the command op "inspected", which names no incident.
 */
#include <stdio.h>
#include <string.h>

#include "expect.h"
#include "timeutil.h"
#include "topic.h"

static int64_t sw__floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

void sw_inspect_period(const sw_round *r, int64_t local, int64_t *from, int64_t *to)
{
    int64_t day = sw__floor_div(local, SW_MS_PER_DAY);
    int y;
    unsigned m, d;

    switch (r->period) {
    case SW_PERIOD_WEEK: {
        int64_t dow = ((day + 3) % 7 + 7) % 7; /* Monday 0: 1970-01-01 was a Thursday */
        *from = (day - dow) * SW_MS_PER_DAY;
        *to = *from + 7 * SW_MS_PER_DAY;
        return;
    }
    case SW_PERIOD_MONTH:
        sw_civil_from_days(day, &y, &m, &d);
        *from = sw_days_from_civil(y, m, 1) * SW_MS_PER_DAY;
        *to = (m == 12 ? sw_days_from_civil(y + 1, 1, 1) : sw_days_from_civil(y, m + 1, 1)) *
              SW_MS_PER_DAY;
        return;
    default:
        *from = day * SW_MS_PER_DAY;
        *to = *from + SW_MS_PER_DAY;
    }
}

static int sw__listed(const sw_round *r, const char *item)
{
    for (int i = 0; i < r->nitems; i++)
        if (!strcmp(r->items[i], item))
            return 1;
    return 0;
}

/* Check `item` in at every inspection round of the site that lists it
 * (only `round` when given). *listed: how many rounds list it. */
static int sw__checkin(sw_batch *b, const char *site, const char *round, const char *item,
                       int64_t t, int64_t now, int *listed)
{
    const sw_expect_policy *x = b->e->policy->expect;
    int rc = 0, counted;

    *listed = 0;
    for (int i = 0; !rc && i < x->nrounds; i++) {
        const sw_round *r = &x->rounds[i];
        if (r->kind != SW_ROUND_INSPECT || strcmp(r->site, site) ||
            (round && strcmp(r->name, round)) || !sw__listed(r, item))
            continue;
        (*listed)++;
        rc = sw_round_checkin(b, r, item, t, now, &counted);
    }
    return rc;
}

static int sw__ok(const char *s)
{
    return s && sw_id_valid(s, strlen(s));
}

int sw_inspect_event(sw_batch *b, const sw_msg *m)
{
    const cJSON *eq = cJSON_GetObjectItemCaseSensitive(m->data, "equipment"), *it;
    const char *round = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m->data, "round"));
    int64_t t = sw_expect_event_time(m);
    int rc = 0, listed;

    if (!b->e->policy->expect->nrounds)
        return 0;
    if (cJSON_IsArray(eq)) {
        cJSON_ArrayForEach(it, eq)
        {
            if (!rc && sw__ok(cJSON_GetStringValue(it)))
                rc = sw__checkin(b, m->site, round, it->valuestring, t, m->received_ms, &listed);
        }
        return rc;
    }
    return sw__checkin(b, m->site, round,
                       sw__ok(cJSON_GetStringValue(eq)) ? eq->valuestring : m->device, t,
                       m->received_ms, &listed);
}

int sw_inspect_command(sw_batch *b, const sw_msg *m, const char **code, char *why, size_t whylen)
{
    const cJSON *eq = cJSON_GetObjectItemCaseSensitive(m->json, "equipment"), *it;
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(m->json, "round");
    const char *round = cJSON_GetStringValue(rv);
    int rc, listed;

    if (rv && !(round && sw_expect_round(b->e->policy, SW_ROUND_INSPECT, m->site, round))) {
        *code = "bad_command";
        snprintf(why, whylen, "\"round\" must name an inspection round of site %s", m->site);
        return 0;
    }
    int n = cJSON_IsArray(eq) ? cJSON_GetArraySize(eq) : 0;
    if (!n)
        *code = "bad_command";
    cJSON_ArrayForEach(it, eq)
    {
        if (!sw__ok(cJSON_GetStringValue(it)))
            *code = "bad_command";
    }
    if (*code) {
        snprintf(why, whylen, "\"equipment\" must be a non-empty array of equipment ids");
        return 0;
    }
    /* All or nothing: every piece must belong to a round first. */
    cJSON_ArrayForEach(it, eq)
    {
        int found = 0;
        const sw_expect_policy *x = b->e->policy->expect;
        for (int i = 0; !found && i < x->nrounds; i++)
            found = x->rounds[i].kind == SW_ROUND_INSPECT && !strcmp(x->rounds[i].site, m->site) &&
                    (!round || !strcmp(x->rounds[i].name, round)) &&
                    sw__listed(&x->rounds[i], it->valuestring);
        if (!found) {
            *code = "bad_command";
            snprintf(why, whylen, "equipment %.128s is in no inspection round%s%.48s of site %s",
                     it->valuestring, round ? " " : "", round ? round : "", m->site);
            return 0;
        }
    }
    cJSON_ArrayForEach(it, eq)
    {
        if ((rc = sw__checkin(b, m->site, round, it->valuestring, m->received_ms, m->received_ms,
                              &listed)))
            return rc;
    }
    return 0;
}
