#include "expect.h"

#include <stdio.h>
#include <string.h>

#include "command.h"
#include "json.h"
#include "obligations.h"
#include "timeutil.h"

int sw_expect_event(sw_batch *b, const sw_msg *m)
{
    int rc;
    if (!b->e->policy->expect || m->kind != SW_MSG_EVENT)
        return 0;
    if ((rc = sw_silent_event(b, m)) || (rc = sw_telemetry_event(b, m)) ||
        (rc = sw_round_event(b, m)))
        return rc;
    return 0;
}

int sw_expect_op(const char *op)
{
    return op && !strcmp(op, "inspected");
}

int sw_expect_command(sw_batch *b, const sw_msg *m, const char **code, char *why, size_t whylen)
{
    return sw_inspect_command(b, m, code, why, whylen);
}

int sw_expect_open(sw_batch *b, const char *site_name, const char *cls_name, int64_t opened_ms,
                   const char *by, const cJSON *location, cJSON *detail, sw_dirty **out)
{
    const sw_class *cls = sw_policy_class(b->e->policy, cls_name);
    const sw_site_conf *site = sw_config_site(b->e->cfg, site_name);
    char id[SW_ID_MAX + 1];
    sw_dirty *d;
    int rc, uncovered = 0;

    if (!cls || !site) {
        cJSON_Delete(detail);
        return SW_EINVAL;
    }
    if ((rc = sw_batch_new_id(b, site_name, opened_ms, site->tz_offset_s, id, sizeof id)) ||
        !(d = sw_batch_dirty_new(b, id))) {
        cJSON_Delete(detail);
        return rc ? rc : SW_ENOMEM;
    }
    sw_incident *inc = &d->inc;
    snprintf(inc->site, sizeof inc->site, "%s", site_name);
    snprintf(inc->cls, sizeof inc->cls, "%s", cls->name);
    snprintf(inc->label, sizeof inc->label, "%s", cls->label);
    snprintf(inc->priority, sizeof inc->priority, "%s", cls->priority);
    inc->level = cls->level;
    inc->state = SW_ST_OPEN;
    inc->opened_ms = inc->updated_ms = opened_ms;
    inc->review_required = cls->has_review;
    inc->location = location ? cJSON_Duplicate(location, 1) : NULL;
    inc->detail = detail;
    sw_incident_add_source(inc, by);
    sw_obl_arm(inc, cls, SW_FROM_OPENED, opened_ms, site, b->e->cfg->clock_scale, &uncovered);
    if (uncovered)
        sw_batch_calendar_uncovered(b, site);
    b->stats.opened++;
    d->changed = 1;

    cJSON *entry = cJSON_CreateObject();
    cJSON_AddStringToObject(entry, "kind", "expectation");
    if (detail)
        cJSON_AddItemToObject(entry, "detail", cJSON_Duplicate(detail, 1));
    if ((rc = sw_batch_timeline(b, d, opened_ms, "siteward", entry)))
        return rc;
    for (int i = 0; i < cls->nnotify; i++)
        if ((rc = sw_batch_escalation(b, d, NULL, NULL, 0, cls->notify[i], opened_ms)))
            return rc;
    if (out)
        *out = d;
    return 0;
}

int sw_expect_resolve(sw_batch *b, const char *id, int64_t now, const char *by)
{
    sw_dirty *d;
    int rc = sw_batch_load(b, id, &d);
    if (rc == SW_ENOENT)
        return 0;
    if (rc || d->inc.state >= SW_ST_RESOLVED)
        return rc;
    return sw_command_transition(b, d, SW_ST_RESOLVED, now, by);
}

int sw_expect_get(sw_batch *b, const char *key, size_t klen, MDB_val *val)
{
    return sw_store_get(b->e->store, b->txn, SW_DB_EXPECT, key, klen, val);
}

int sw_expect_put(sw_batch *b, const char *key, size_t klen, const void *val, size_t vlen)
{
    return sw_store_put(b->e->store, b->txn, SW_DB_EXPECT, key, klen, val, vlen);
}

int sw_expect_del(sw_batch *b, const char *key, size_t klen)
{
    int rc = sw_store_del(b->e->store, b->txn, SW_DB_EXPECT, key, klen);
    return rc == SW_ENOENT ? 0 : rc;
}

int64_t sw_expect_event_time(const sw_msg *m)
{
    int64_t skew = m->received_ms - m->ts_ms;
    return (skew >= 0 && skew <= 10 * 60000) ? m->ts_ms : m->received_ms;
}

/* Times are positive: truncation is the floor. */
static int64_t sw__ceil(double v)
{
    int64_t n = (int64_t)v;
    return (double)n < v ? n + 1 : n;
}

int64_t sw_expect_sched(const sw_batch *b, int64_t real)
{
    double f = b->e->cfg->clock_scale;
    return f == 1.0 ? real : (int64_t)((double)real * f);
}

int64_t sw_expect_real(const sw_batch *b, int64_t sched)
{
    double f = b->e->cfg->clock_scale;
    return f == 1.0 ? sched : sw__ceil((double)sched / f);
}

int64_t sw_expect_scaled(const sw_batch *b, int64_t ms)
{
    double f = b->e->cfg->clock_scale;
    return f == 1.0 ? ms : sw__ceil((double)ms / f);
}

void sw_expect_add_time(const sw_batch *b, cJSON *o, const char *key, const char *site_name,
                        int64_t ms)
{
    const sw_site_conf *site = sw_config_site(b->e->cfg, site_name);
    char buf[40];
    sw_time_format(ms, site ? site->tz_offset_s : 0, buf, sizeof buf);
    cJSON_AddStringToObject(o, key, buf);
}
