/*
 * Rounds: patrol and inspection rounds share one mechanism. A round's
 * periods (patrol slots, inspection days/weeks/months) follow each other on
 * the schedule clock; the state of the period under way is one record of
 * the "expect" database:
 *
 *   R/P/SITE/ROUND or R/I/SITE/ROUND -> {"from", "to", "seen": [...],
 *                                        "next": [...], "partial": 0|1}
 *
 * ("from"/"to" on the schedule clock, expect.h), and one timer
 * "@patrol:SITE/ROUND" or "@inspect:SITE/ROUND" at the period's end plus
 * the round's grace. Check-ins count by the time they happened, so those
 * of the next period that arrive during the grace go to "next". When the
 * timer fires, every item not seen opens one incident listing the missing
 * ones, and the next period starts with what "next" holds. A period under
 * way when the round was first armed ("partial") is not judged: check-ins
 * before siteward knew of the round cannot be known. A round the policy
 * drops loses its state when its timer next fires.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "json.h"
#include "log.h"
#include "topic.h"
#include "timers.h"

#define SW__KEY_MAX (4 + SW_SITE_MAX + SW_OBL_NAME_MAX + 8)

typedef struct sw__rstate {
    int64_t from, to; /* schedule clock */
    cJSON *seen, *next;
    int partial;
} sw__rstate;

static const char *sw__word(const sw_round *r)
{
    return r->kind == SW_ROUND_PATROL ? "patrol" : "inspect";
}

static size_t sw__key(const sw_round *r, char *key)
{
    return (size_t)snprintf(key, SW__KEY_MAX, "R/%c/%s/%s", r->kind == SW_ROUND_PATROL ? 'P' : 'I',
                            r->site, r->name);
}

static void sw__tag(const sw_round *r, char *tag)
{
    snprintf(tag, SW_TIMER_TAG_MAX, "@%s:%s/%s", sw__word(r), r->site, r->name);
}

static int sw__tz_ms(const sw_batch *b, const sw_round *r)
{
    const sw_site_conf *site = sw_config_site(b->e->cfg, r->site);
    return site ? site->tz_offset_s * 1000 : 0;
}

/* The period containing schedule instant `t` (or the next one). */
static void sw__period(const sw_batch *b, const sw_round *r, int64_t t, int64_t *from, int64_t *to)
{
    int64_t tz = sw__tz_ms(b, r);
    if (r->kind == SW_ROUND_PATROL)
        sw_patrol_slot(r, t + tz, from, to);
    else
        sw_inspect_period(r, t + tz, from, to);
    *from -= tz;
    *to -= tz;
}

static int64_t sw__due(const sw_batch *b, const sw_round *r, const sw__rstate *st)
{
    return sw_expect_real(b, st->to + r->grace_ms);
}

static void sw__free(sw__rstate *st)
{
    cJSON_Delete(st->seen);
    cJSON_Delete(st->next);
    st->seen = st->next = NULL;
}

static int sw__load(sw_batch *b, const sw_round *r, sw__rstate *st)
{
    char key[SW__KEY_MAX];
    MDB_val v;
    int rc = sw_expect_get(b, key, sw__key(r, key), &v);

    memset(st, 0, sizeof *st);
    if (rc)
        return rc;
    cJSON *o = cJSON_ParseWithLength(v.mv_data, v.mv_size);
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(o, "from");
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(o, "to");
    if (!cJSON_IsNumber(from) || !cJSON_IsNumber(to)) {
        sw_log(SW_LOG_ERR, "store: round %s/%s: state unreadable; starting afresh", r->site,
               r->name);
        cJSON_Delete(o);
        return SW_ENOENT;
    }
    st->from = (int64_t)from->valuedouble;
    st->to = (int64_t)to->valuedouble;
    st->partial = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "partial"));
    st->seen = cJSON_DetachItemFromObjectCaseSensitive(o, "seen");
    st->next = cJSON_DetachItemFromObjectCaseSensitive(o, "next");
    cJSON_Delete(o);
    if (!cJSON_IsArray(st->seen)) {
        cJSON_Delete(st->seen);
        st->seen = cJSON_CreateArray();
    }
    if (!cJSON_IsArray(st->next)) {
        cJSON_Delete(st->next);
        st->next = cJSON_CreateArray();
    }
    return st->seen && st->next ? 0 : SW_ENOMEM;
}

static int sw__save(sw_batch *b, const sw_round *r, const sw__rstate *st)
{
    char key[SW__KEY_MAX];
    cJSON *o = cJSON_CreateObject();
    char *txt;
    int rc;

    sw_json_add_int(o, "from", st->from);
    sw_json_add_int(o, "to", st->to);
    cJSON_AddItemToObject(o, "seen", cJSON_Duplicate(st->seen, 1));
    cJSON_AddItemToObject(o, "next", cJSON_Duplicate(st->next, 1));
    cJSON_AddBoolToObject(o, "partial", st->partial);
    txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!txt)
        return SW_ENOMEM;
    rc = sw_expect_put(b, key, sw__key(r, key), txt, strlen(txt));
    cJSON_free(txt);
    return rc;
}

static int sw__arm(sw_batch *b, const sw_round *r, const sw__rstate *st)
{
    char tag[SW_TIMER_TAG_MAX];
    sw__tag(r, tag);
    return sw_timer_arm(b, sw__due(b, r, st), tag);
}

/* A first period for `r`, from real instant `now`. */
static int sw__init(sw_batch *b, const sw_round *r, int64_t now, sw__rstate *st)
{
    int64_t t = sw_expect_sched(b, now);
    int rc;

    memset(st, 0, sizeof *st);
    sw__period(b, r, t, &st->from, &st->to);
    st->partial = t > st->from;
    st->seen = cJSON_CreateArray();
    st->next = cJSON_CreateArray();
    if (!st->seen || !st->next)
        return SW_ENOMEM;
    if ((rc = sw__save(b, r, st)) || (rc = sw__arm(b, r, st)))
        return rc;
    return 0;
}

static int sw__has(const cJSON *arr, const char *item)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (cJSON_IsString(it) && !strcmp(it->valuestring, item))
            return 1;
    }
    return 0;
}

static int sw__miss(sw_batch *b, const sw_round *r, const sw__rstate *st, int64_t due_ms)
{
    cJSON *missing = cJSON_CreateArray(), *detail;
    char by[SW_OBL_NAME_MAX + 16];

    for (int i = 0; i < r->nitems; i++)
        if (!sw__has(st->seen, r->items[i]))
            cJSON_AddItemToArray(missing, cJSON_CreateString(r->items[i]));
    if (!cJSON_GetArraySize(missing)) {
        cJSON_Delete(missing);
        return 0;
    }
    detail = cJSON_CreateObject();
    cJSON_AddStringToObject(detail, "kind", r->kind == SW_ROUND_PATROL ? "patrol" : "inspection");
    cJSON_AddStringToObject(detail, "round", r->name);
    if (r->kind == SW_ROUND_INSPECT)
        cJSON_AddStringToObject(detail, "every",
                                r->period == SW_PERIOD_DAY    ? "day"
                                : r->period == SW_PERIOD_WEEK ? "week"
                                                              : "month");
    sw_expect_add_time(b, detail, "from", r->site, sw_expect_real(b, st->from));
    sw_expect_add_time(b, detail, "to", r->site, sw_expect_real(b, st->to));
    cJSON_AddItemToObject(detail, "missing", missing);
    cJSON_AddItemToObject(detail, "checked", cJSON_Duplicate(st->seen, 1));
    snprintf(by, sizeof by, "%s/%s", r->kind == SW_ROUND_PATROL ? "patrol" : "inspection", r->name);
    return sw_expect_open(b, r->site, r->cls, due_ms, by, NULL, detail, NULL);
}

/* Judge the period of `st` (its timer was due at `due_ms`), then move `st`
 * to the next period, save it and arm its timer. */
static int sw__close(sw_batch *b, const sw_round *r, sw__rstate *st, int64_t due_ms, int64_t now)
{
    int64_t nf, nt, t = sw_expect_sched(b, now);
    int rc;

    if (!st->partial && (rc = sw__miss(b, r, st, due_ms)))
        return rc;
    sw__period(b, r, st->to, &nf, &nt);
    cJSON_Delete(st->seen);
    st->seen = st->next;
    st->next = cJSON_CreateArray();
    if (t >= nt + r->grace_ms) {
        /* Down for a whole period or more: those periods cannot be judged;
         * the one under way now is. */
        sw_log(SW_LOG_WARNING, "round %s/%s: periods up to now passed while siteward was down",
               r->site, r->name);
        sw__period(b, r, t, &nf, &nt);
        cJSON_Delete(st->seen);
        st->seen = cJSON_CreateArray();
    }
    st->from = nf;
    st->to = nt;
    st->partial = 0;
    if (!st->seen || !st->next)
        return SW_ENOMEM;
    if ((rc = sw__save(b, r, st)))
        return rc;
    return sw__arm(b, r, st);
}

int sw_round_checkin(sw_batch *b, const sw_round *r, const char *item, int64_t t_real,
                     int64_t now_real, int *counted)
{
    sw__rstate st;
    int64_t t = sw_expect_sched(b, t_real), nf, nt;
    cJSON *into = NULL;
    int rc = sw__load(b, r, &st);

    *counted = 0;
    if (rc == SW_ENOENT)
        rc = sw__init(b, r, t_real, &st);
    if (rc) {
        sw__free(&st);
        return rc;
    }
    sw__period(b, r, st.to, &nf, &nt);
    if (t >= nt) {
        /* Past the period after the one under way, so past the timer of
         * the one under way too (grace is shorter than any period), which
         * has not fired yet: siteward is catching up after being down.
         * Judge it now, as the timer would, so that this check-in counts. */
        char tag[SW_TIMER_TAG_MAX];
        int64_t due = sw__due(b, r, &st);
        sw__tag(r, tag);
        if ((rc = sw_timer_cancel(b, due, tag)) || (rc = sw__close(b, r, &st, due, now_real))) {
            sw__free(&st);
            return rc;
        }
        sw__period(b, r, st.to, &nf, &nt);
    }
    if (t >= st.from && t < st.to)
        into = st.seen;
    else if (t >= nf && t < nt)
        into = st.next;
    if (into) {
        *counted = 1;
        if (!sw__has(into, item)) {
            cJSON_AddItemToArray(into, cJSON_CreateString(item));
            rc = sw__save(b, r, &st);
        }
    }
    sw__free(&st);
    return rc;
}

/* "@patrol:SITE/ROUND" or "@inspect:SITE/ROUND": its round, or NULL, and
 * the state's key in `key` (*klen 0 for a tag of neither shape). */
static const sw_round *sw__round_of(const sw_batch *b, const char *tag, char *key, size_t *klen)
{
    char site[SW_SITE_MAX + 1], name[SW_OBL_NAME_MAX];
    const char *colon = strchr(tag, ':'), *slash = colon ? strchr(colon, '/') : NULL;
    int patrol = !strncmp(tag, "@patrol:", 8);

    *klen = 0;
    if (!slash || (size_t)(slash - colon - 1) > SW_SITE_MAX || strlen(slash + 1) >= sizeof name)
        return NULL;
    snprintf(site, sizeof site, "%.*s", (int)(slash - colon - 1), colon + 1);
    snprintf(name, sizeof name, "%s", slash + 1);
    *klen = (size_t)snprintf(key, SW__KEY_MAX, "R/%c/%s/%s", patrol ? 'P' : 'I', site, name);
    return sw_expect_round(b->e->policy, patrol ? SW_ROUND_PATROL : SW_ROUND_INSPECT, site, name);
}

int sw_round_fire(sw_batch *b, const char *tag, int64_t due_ms, int64_t now)
{
    char key[SW__KEY_MAX];
    size_t klen;
    const sw_round *r = sw__round_of(b, tag, key, &klen);
    sw__rstate st;
    int rc;

    /* The policy no longer has the round: its state goes too, so that it
     * starts afresh if it comes back. */
    if (!r)
        return klen ? sw_expect_del(b, key, klen) : 0;
    if ((rc = sw__load(b, r, &st)) == SW_ENOENT) {
        rc = sw__init(b, r, now, &st);
        sw__free(&st);
        return rc;
    }
    if (rc)
        return rc;
    /* Armed under another policy (a changed grace): arm the state's own. */
    if (sw__due(b, r, &st) != due_ms) {
        rc = sw__arm(b, r, &st);
        sw__free(&st);
        return rc;
    }
    rc = sw__close(b, r, &st, due_ms, now);
    sw__free(&st);
    return rc;
}

int sw_round_schedule(sw_batch *b, int64_t now, int *armed)
{
    const sw_expect_policy *x = b->e->policy->expect;
    int rc = 0;

    *armed = 0;
    for (int i = 0; x && !rc && i < x->nrounds; i++) {
        const sw_round *r = &x->rounds[i];
        sw__rstate st;
        if (!sw_config_site(b->e->cfg, r->site)) {
            sw_log(SW_LOG_WARNING, "round %s of site %s: the site is not configured here", r->name,
                   r->site);
            continue;
        }
        /* A round with a period under way has its timer; arming it again
         * (the same key) costs nothing and heals one lost while a policy
         * left the round out. */
        rc = sw__load(b, r, &st);
        if (rc == SW_ENOENT)
            rc = sw__init(b, r, now, &st);
        else if (!rc)
            rc = sw__arm(b, r, &st);
        if (!rc)
            (*armed)++;
        sw__free(&st);
    }
    return rc;
}

int sw_round_event(sw_batch *b, const sw_msg *m)
{
    const sw_expect_policy *x = b->e->policy->expect;
    const char *point;
    int rc = 0, counted;

    if (!strcmp(m->type, "inspection"))
        return sw_inspect_event(b, m);
    if (strcmp(m->type, "checkpoint") || !x->nrounds)
        return 0;
    /* The check-in point: the event's data.point (a guard's handheld), else
     * the device that sent it (a reader fixed at the point). */
    point = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m->data, "point"));
    if (!point || !sw_id_valid(point, strlen(point)))
        point = m->device;
    for (int i = 0; !rc && i < x->nrounds; i++) {
        const sw_round *r = &x->rounds[i];
        if (r->kind != SW_ROUND_PATROL || strcmp(r->site, m->site))
            continue;
        for (int j = 0; j < r->nitems; j++)
            if (!strcmp(r->items[j], point)) {
                rc = sw_round_checkin(b, r, point, sw_expect_event_time(m), m->received_ms,
                                      &counted);
                break;
            }
    }
    return rc;
}
