#include "obligations.h"

#include <stdio.h>
#include <string.h>

static int64_t sw__quiet(int64_t t, int tz, int from, int to)
{
    int64_t local = t + (int64_t)tz * 1000;
    int64_t day = local / SW_MS_PER_DAY - (local % SW_MS_PER_DAY < 0);
    int64_t min = (local - day * SW_MS_PER_DAY) / 60000;

    if (from < 0)
        return t;
    if (from < to) { /* e.g. 12:00-13:30 */
        if (min >= from && min < to)
            return (day * SW_MS_PER_DAY + to * 60000LL) - (int64_t)tz * 1000;
        return t;
    }
    /* Across midnight, e.g. 21:00-08:00. */
    if (min >= from)
        return ((day + 1) * SW_MS_PER_DAY + to * 60000LL) - (int64_t)tz * 1000;
    if (min < to)
        return (day * SW_MS_PER_DAY + to * 60000LL) - (int64_t)tz * 1000;
    return t;
}

int64_t sw_due(const sw_duration *d, int64_t base_ms, const sw_site_conf *site, double scale,
               int quiet_from, int quiet_to, int *uncovered)
{
    int64_t due = base_ms + d->ms;
    if (d->working_days)
        due = sw_calendar_add_working_days(&site->calendar, base_ms, d->working_days,
                                           site->tz_offset_s, uncovered);
    else if (d->working_ms)
        due = sw_calendar_add_working_time(&site->calendar, base_ms, d->working_ms,
                                           site->tz_offset_s, uncovered);
    due = sw__quiet(due, site->tz_offset_s, quiet_from, quiet_to);
    if (scale > 0 && scale != 1.0)
        due = base_ms + (int64_t)((double)(due - base_ms) / scale);
    return due;
}

/* Back out of quiet hours: an instant inside them moves to their start, so
 * a notice due ahead of something is never due in the middle of the night. */
static int64_t sw__quiet_back(int64_t t, int tz, int from, int to)
{
    int64_t moved = sw__quiet(t, tz, from, to);
    if (moved == t)
        return t;
    /* `moved` is the end of the quiet spell holding `t`; its start is the
     * last local `from` before `t`. */
    int64_t local = t + (int64_t)tz * 1000;
    int64_t day = local / SW_MS_PER_DAY - (local % SW_MS_PER_DAY < 0);
    int64_t start = day * SW_MS_PER_DAY + from * 60000LL;
    if (start > local)
        start -= SW_MS_PER_DAY;
    return start - (int64_t)tz * 1000;
}

/* `n` working days before `base_ms`: the same local time of day on the
 * n-th working day before it. */
static int64_t sw__working_days_back(const sw_calendar *cal, int64_t base_ms, int n, int tz,
                                     int *uncovered)
{
    int64_t local = base_ms + (int64_t)tz * 1000;
    int64_t day = local / SW_MS_PER_DAY - (local % SW_MS_PER_DAY < 0);
    int64_t tod = local - day * SW_MS_PER_DAY;
    for (int i = 0; i < n; i++) {
        do {
            day--;
            if (!sw_calendar_covers(cal, day))
                *uncovered = 1;
        } while (!sw_calendar_is_workday(cal, day));
    }
    return day * SW_MS_PER_DAY + tod - (int64_t)tz * 1000;
}

int64_t sw_due_before(const sw_duration *d, int64_t base_ms, const sw_site_conf *site, double scale,
                      int quiet_from, int quiet_to, int *uncovered)
{
    int64_t due = base_ms - d->ms;
    if (d->working_days)
        due = sw__working_days_back(&site->calendar, base_ms, d->working_days, site->tz_offset_s,
                                    uncovered);
    due = sw__quiet_back(due, site->tz_offset_s, quiet_from, quiet_to);
    if (scale > 0 && scale != 1.0)
        due = base_ms - (int64_t)((double)(base_ms - due) / scale);
    return due;
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
        ob = sw_incident_obligation(inc, r->name);
        if (ob && ob->status == SW_OBL_MET)
            continue;
        if (!ob) {
            if (inc->nobl >= SW_OBL_MAX)
                continue;
            ob = &inc->obl[inc->nobl++];
            snprintf(ob->name, sizeof ob->name, "%s", r->name);
        }
        memset(ob->by, 0, sizeof ob->by);
        snprintf(ob->met_by, sizeof ob->met_by, "%s", r->met_by);
        ob->status = SW_OBL_PENDING;
        ob->due_ms = (r->before ? sw_due_before : sw_due)(&r->within, base_ms, site, scale,
                                                          r->quiet_from, r->quiet_to, uncovered);
        ob->next_ms = ob->due_ms;
        ob->esc_step = 0;
        ob->met_ms = 0;
        ob->was_missed = 0;
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

int sw_obl_cancel(sw_incident *inc, const sw_class *keep, int64_t now_ms)
{
    int n = 0;
    for (int i = 0; i < inc->nobl; i++) {
        sw_obligation *ob = &inc->obl[i];
        if (ob->status != SW_OBL_PENDING && ob->status != SW_OBL_MISSED)
            continue;
        if (keep && sw_class_rule(keep, ob->name))
            continue;
        /* Past due, it was missed whatever happens next: the record says
         * so, and it escalates no more. */
        if (ob->status == SW_OBL_MISSED || now_ms > ob->due_ms)
            ob->status = SW_OBL_MISSED;
        else
            ob->status = SW_OBL_CANCELLED;
        ob->next_ms = 0;
        n++;
    }
    return n;
}

int sw_obl_timed(const sw_obligation *ob)
{
    return ob->status == SW_OBL_PENDING || (ob->status == SW_OBL_MISSED && ob->next_ms > 0);
}

int sw_obl_escalate(sw_obligation *ob, const sw_obl_rule *rule, const sw_site_conf *site,
                    double scale, int64_t now_ms, int *step, const char **role)
{
    const sw_chain *ch = rule ? rule->chain : NULL;
    int unc = 0;

    if (!ch) {
        ob->next_ms = 0; /* missed, recorded; nobody to tell */
        return SW_ENOENT;
    }
    *step = ob->esc_step;
    *role = ch->steps[ob->esc_step < ch->nsteps ? ob->esc_step : ch->nsteps - 1].role;
    ob->esc_step++;
    if (ob->esc_step < ch->nsteps)
        ob->next_ms = sw_due(&ch->steps[ob->esc_step].after, ob->due_ms, site, scale, -1, -1, &unc);
    else
        ob->next_ms = sw_due(&ch->repeat, now_ms, site, scale, -1, -1, &unc);
    return 0;
}
