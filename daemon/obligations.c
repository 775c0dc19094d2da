#include "obligations.h"

#include <stdio.h>
#include <string.h>

int64_t sw_due(const sw_duration *d, int64_t base_ms, const sw_site_conf *site, double scale,
               int *uncovered)
{
    int64_t span = d->ms;
    if (d->working_days)
        span = sw_calendar_add_working_days(&site->calendar, base_ms, d->working_days,
                                            site->tz_offset_s, uncovered) -
               base_ms;
    if (scale > 0 && scale != 1.0)
        span = (int64_t)((double)span / scale);
    return base_ms + span;
}

static sw_obligation *sw__find(sw_incident *inc, const char *name)
{
    for (int i = 0; i < inc->nobl; i++)
        if (!strcmp(inc->obl[i].name, name))
            return &inc->obl[i];
    return NULL;
}

int sw_obl_arm(sw_incident *inc, const sw_class *cls, enum sw_from from, int64_t base_ms,
               const sw_site_conf *site, double scale, int *uncovered)
{
    int n = 0;
    for (int i = 0; i < cls->nobl; i++) {
        const sw_obl_rule *r = &cls->obl[i];
        sw_obligation *ob;
        if (r->from != from)
            continue;
        ob = sw__find(inc, r->name);
        if (ob && ob->status == SW_OBL_MET)
            continue;
        if (!ob) {
            if (inc->nobl >= SW_OBL_MAX)
                continue;
            ob = &inc->obl[inc->nobl++];
            memset(ob, 0, sizeof *ob);
            snprintf(ob->name, sizeof ob->name, "%s", r->name);
        }
        snprintf(ob->met_by, sizeof ob->met_by, "%s", r->met_by);
        ob->status = SW_OBL_PENDING;
        ob->due_ms = sw_due(&r->within, base_ms, site, scale, uncovered);
        n++;
    }
    return n;
}

int sw_obl_meet(sw_incident *inc, const char *op, int64_t now_ms, const char *by)
{
    int n = 0;
    for (int i = 0; i < inc->nobl; i++) {
        sw_obligation *ob = &inc->obl[i];
        if (strcmp(ob->met_by, op) || (ob->status != SW_OBL_PENDING && ob->status != SW_OBL_MISSED))
            continue;
        ob->was_missed = ob->status == SW_OBL_MISSED || now_ms > ob->due_ms;
        ob->status = SW_OBL_MET;
        ob->met_ms = now_ms;
        snprintf(ob->by, sizeof ob->by, "%s", by);
        n++;
    }
    return n;
}

int sw_obl_cancel(sw_incident *inc, const sw_class *keep)
{
    int n = 0;
    for (int i = 0; i < inc->nobl; i++) {
        sw_obligation *ob = &inc->obl[i];
        int kept = 0;
        if (ob->status != SW_OBL_PENDING && ob->status != SW_OBL_MISSED)
            continue;
        for (int j = 0; keep && j < keep->nobl; j++)
            kept |= !strcmp(keep->obl[j].name, ob->name);
        if (kept)
            continue;
        ob->status = SW_OBL_CANCELLED;
        n++;
    }
    return n;
}
