#include "planned.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "command.h"
#include "log.h"
#include "obligations.h"
#include "policy_plan.h"
#include "timeutil.h"

#define SW__PLAN_DAYS_MAX 366 /* a window longer than a year is refused */

int sw_plan_is_report(const sw_msg *m)
{
    return m->kind == SW_MSG_REPORT && m->category && !strcmp(m->category, "planned_work");
}

static int sw__time_field(sw_msg *m, const char *key, int64_t *ms)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m->json, key));
    if (!s || sw_time_parse(s, ms))
        return sw_msg_reject(m, "bad_field", "\"%s\" is required: RFC 3339 with an offset", key);
    return 0;
}

static int64_t sw__local_day(int64_t ms, int tz)
{
    int64_t local = ms + (int64_t)tz * 1000;
    return local / SW_MS_PER_DAY - (local % SW_MS_PER_DAY < 0);
}

/* Refuse a window that touches a weekday the kind may not take place on. */
static int sw__weekdays_ok(sw_msg *m, const sw_plan_kind *k, int64_t start, int64_t end, int tz)
{
    for (int64_t day = sw__local_day(start, tz); day <= sw__local_day(end - 1, tz); day++) {
        int wd = (int)(((day % 7) + 7 + 3) % 7); /* 1970-01-01 was a Thursday */
        if (k->not_on & (1u << wd)) {
            int y;
            unsigned mo, d;
            sw_civil_from_days(day, &y, &mo, &d);
            return sw_msg_reject(m, "not_allowed",
                                 "%s is not allowed on %s (site time); this window includes "
                                 "%s %04d-%02u-%02u",
                                 k->name, sw_weekday_name(wd), sw_weekday_name(wd), y, mo, d);
        }
    }
    return 0;
}

static size_t sw__index_key(char *key, size_t len, const char *site, const char *id)
{
    return (size_t)snprintf(key, len, "plan/%s/%s", site, id);
}

/* Notices that fell due before the work was even reported are missed now,
 * so the reply and the record say so; the deadline still fires (at once)
 * to escalate them. */
static int sw__short_notice(sw_batch *b, sw_dirty *d, int64_t now)
{
    int rc;
    for (int i = 0; i < d->inc.nobl; i++) {
        sw_obligation *ob = &d->inc.obl[i];
        if (ob->status != SW_OBL_PENDING || ob->due_ms > now)
            continue;
        ob->status = SW_OBL_MISSED;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "kind", "obligation");
        cJSON_AddStringToObject(e, "name", ob->name);
        cJSON_AddStringToObject(e, "status", "missed");
        cJSON_AddStringToObject(e, "reason", "notice shorter than the policy's lead time");
        sw_json_add_int(e, "late_by_s", (now - ob->due_ms) / 1000);
        if ((rc = sw_batch_timeline(b, d, now, "siteward", e)))
            return rc;
    }
    return 0;
}

int sw_plan_report(sw_batch *b, sw_msg *m, sw_dirty **out)
{
    const cJSON *kv = cJSON_GetObjectItemCaseSensitive(m->json, "kind");
    const sw_plan_kind *k = sw_plan_kind_find(b->e->policy, cJSON_GetStringValue(kv));
    const sw_site_conf *site = sw_config_site(b->e->cfg, m->site);
    int64_t start, end, now = m->received_ms;
    int rc, uncovered = 0;
    sw_dirty *d;

    if (!k) {
        char list[200] = "";
        for (int i = 0; b->e->policy->plan && i < b->e->policy->plan->nkinds; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     b->e->policy->plan->kinds[i].name);
        return sw_msg_reject(m, "bad_field", "\"kind\" must be one of the policy's kinds: %s",
                             *list ? list : "(none)");
    }
    if ((rc = sw__time_field(m, "start", &start)) || (rc = sw__time_field(m, "end", &end)))
        return rc;
    if (end <= start || end - start > SW__PLAN_DAYS_MAX * SW_MS_PER_DAY)
        return sw_msg_reject(m, "bad_field", "\"end\" must be after \"start\", within a year");
    if (end <= now)
        return sw_msg_reject(m, "bad_field", "the window has already ended");
    if ((rc = sw__weekdays_ok(m, k, start, end, site->tz_offset_s)))
        return rc;

    if ((rc = sw_engine_open_incident(b, m, k->cls, site, &d)))
        return rc;
    sw_incident *inc = &d->inc;
    snprintf(inc->plan_kind, sizeof inc->plan_kind, "%s", k->name);
    inc->plan_start_ms = start;
    inc->plan_end_ms = end;
    sw_obl_arm(inc, k->cls, SW_FROM_START, start, site, b->e->cfg->clock_scale, &uncovered);
    sw_obl_arm(inc, k->cls, SW_FROM_END, end, site, b->e->cfg->clock_scale, &uncovered);
    if (uncovered)
        sw_batch_calendar_uncovered(b, site);
    inc->events = 1;
    inc->updated_ms = inc->last_event_ms = now;

    char by[SW_ID_MAX + 16];
    snprintf(by, sizeof by, "report/%s", m->user);
    sw_incident_add_source(inc, by);
    cJSON *entry = cJSON_CreateObject(), *payload = cJSON_Duplicate(m->json, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(payload, "contact");
    cJSON_AddStringToObject(entry, "kind", "report");
    cJSON_AddStringToObject(entry, "topic", m->topic);
    cJSON_AddItemToObject(entry, "payload", payload);
    if ((rc = sw_batch_timeline(b, d, now, by, entry)) || (rc = sw__short_notice(b, d, now)))
        return rc;

    /* The window, indexed by site for the events it may explain. */
    char key[SW_KEY_MAX];
    cJSON *ix = cJSON_CreateObject();
    cJSON_AddStringToObject(ix, "kind", k->name);
    sw_json_add_int(ix, "start", start);
    sw_json_add_int(ix, "end", end);
    if (inc->location)
        cJSON_AddItemToObject(ix, "location", cJSON_Duplicate(inc->location, 1));
    char *txt = cJSON_PrintUnformatted(ix);
    cJSON_Delete(ix);
    if (!txt)
        return SW_ENOMEM;
    size_t klen = sw__index_key(key, sizeof key, inc->site, inc->id);
    rc = sw_store_put(b->e->store, b->txn, SW_DB_META, key, klen, txt, strlen(txt));
    cJSON_free(txt);
    if (rc)
        return rc;
    unsigned char dkey[SW_DEADLINE_KEY_MAX];
    snprintf(key, sizeof key, "@plan:%s", inc->id);
    klen = sw_deadline_key(dkey, end, key, "end");
    if ((rc = sw_store_put(b->e->store, b->txn, SW_DB_DEADLINES, dkey, klen, "", 0)))
        return rc;
    *out = d;
    return 0;
}

int sw_plan_place_matches(const cJSON *where, const sw_location *loc)
{
    static const char *const parts[] = {"building", "floor", "unit", "area"};
    const char *have[] = {loc->building, loc->floor, loc->unit, loc->area};
    for (int i = 0; i < 4; i++) {
        const char *want = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(where, parts[i]));
        if (want && (!have[i] || strcmp(want, have[i])))
            return 0;
    }
    return 1;
}

static int sw__explained_by_any(const sw_policy *p, const char *type)
{
    for (int i = 0; p->plan && i < p->plan->nkinds; i++)
        if (sw_plan_kind_explains(&p->plan->kinds[i], type))
            return 1;
    return 0;
}

/* The planned work at m's site whose open window explains `m`, into id. */
static int sw__find(sw_batch *b, const sw_msg *m, char *id, size_t idlen)
{
    char prefix[SW_SITE_MAX + 8];
    size_t plen = (size_t)snprintf(prefix, sizeof prefix, "plan/%s/", m->site);
    MDB_cursor *cur;
    MDB_val k = {plen, prefix}, v;
    int r;

    id[0] = 0;
    if (mdb_cursor_open(b->txn, b->e->store->dbi[SW_DB_META], &cur))
        return SW_ESTORE;
    for (r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         !r && k.mv_size > plen && !memcmp(k.mv_data, prefix, plen) && !id[0];
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        cJSON *ix = cJSON_ParseWithLength(v.mv_data, v.mv_size);
        const sw_plan_kind *kind =
            sw_plan_kind_find(b->e->policy, cJSON_GetStringValue(cJSON_GetObjectItem(ix, "kind")));
        int64_t start = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(ix, "start"));
        int64_t end = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(ix, "end"));
        if (kind && sw_plan_kind_explains(kind, m->type) && m->received_ms >= start &&
            m->received_ms < end &&
            sw_plan_place_matches(cJSON_GetObjectItemCaseSensitive(ix, "location"), &m->location) &&
            k.mv_size - plen < idlen) {
            memcpy(id, (const char *)k.mv_data + plen, k.mv_size - plen);
            id[k.mv_size - plen] = 0;
        }
        cJSON_Delete(ix);
    }
    mdb_cursor_close(cur);
    return 0;
}

int sw_plan_explain(sw_batch *b, sw_msg *m, int *explained)
{
    char id[SW_ID_MAX + 1], by[SW_ID_MAX + 16], key[SW_KEY_MAX];
    sw_dirty *d;
    int rc;

    *explained = 0;
    if (m->kind != SW_MSG_EVENT || !sw__explained_by_any(b->e->policy, m->type))
        return 0;
    if ((rc = sw__find(b, m, id, sizeof id)) || !id[0])
        return rc;
    if ((rc = sw_batch_load(b, id, &d)) == SW_ENOENT)
        return 0;
    /* A work closed before its end was called off: it explains nothing. */
    if (rc || d->inc.state >= SW_ST_CLOSED)
        return rc;
    *explained = 1;

    snprintf(by, sizeof by, "%s/%s", m->source, m->device);
    cJSON *entry = cJSON_CreateObject();
    cJSON_AddStringToObject(entry, "kind", "event");
    cJSON_AddBoolToObject(entry, "explained", 1);
    cJSON_AddStringToObject(entry, "topic", m->topic);
    cJSON_AddRawToObject(entry, "payload", m->payload);
    if ((rc = sw_batch_timeline(b, d, m->received_ms, by, entry)))
        return rc;
    d->inc.events++;
    d->inc.updated_ms = d->inc.last_event_ms = m->received_ms;
    sw_incident_add_source(&d->inc, by);

    size_t klen =
        (size_t)snprintf(key, sizeof key, "plana/%s/%s/%s/%s", id, m->source, m->device, m->type);
    if (m->normal) {
        rc = sw_store_del(b->e->store, b->txn, SW_DB_META, key, klen);
        rc = rc == SW_ENOENT ? 0 : rc;
    } else {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "topic", m->topic);
        cJSON_AddStringToObject(a, "payload", m->payload);
        char *txt = cJSON_PrintUnformatted(a);
        cJSON_Delete(a);
        if (!txt)
            return SW_ENOMEM;
        rc = sw_store_put(b->e->store, b->txn, SW_DB_META, key, klen, txt, strlen(txt));
        cJSON_free(txt);
    }
    if (!rc)
        rc = sw_engine_dedup_put(b, m, id);
    if (!rc)
        b->stats.accepted++;
    return rc;
}

typedef struct sw__active {
    char *topic, *payload;
} sw__active;

/* Take the alarms still active on work `id` out of the store. */
static int sw__take_active(sw_batch *b, const char *id, sw__active **out, int *n)
{
    char prefix[SW_ID_MAX + 8];
    size_t plen = (size_t)snprintf(prefix, sizeof prefix, "plana/%s/", id);
    MDB_cursor *cur;
    MDB_val k = {plen, prefix}, v;
    sw__active *list = NULL;
    int cap = 0, rc = 0;

    *n = 0;
    if (mdb_cursor_open(b->txn, b->e->store->dbi[SW_DB_META], &cur))
        return SW_ESTORE;
    /* Seek again after each delete: the first key of the prefix left. */
    while (!mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) && k.mv_size > plen &&
           !memcmp(k.mv_data, prefix, plen)) {
        cJSON *a = cJSON_ParseWithLength(v.mv_data, v.mv_size);
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(a, "topic"));
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(a, "payload"));
        if (t && p && *n == cap) {
            cap = cap ? cap * 2 : 8;
            sw__active *grown = realloc(list, (size_t)cap * sizeof *list);
            if (!grown)
                rc = SW_ENOMEM;
            else
                list = grown;
        }
        if (!rc && t && p) {
            list[*n].topic = strdup(t);
            list[*n].payload = strdup(p);
            (*n)++;
        }
        cJSON_Delete(a);
        if (rc || mdb_cursor_del(cur, 0)) {
            rc = rc ? rc : SW_ESTORE;
            break;
        }
        k.mv_size = plen;
        k.mv_data = prefix;
    }
    mdb_cursor_close(cur);
    *out = list;
    return rc;
}

int sw_plan_fire(sw_batch *b, const char *id, const char *name, int64_t due_ms, int64_t now)
{
    char key[SW_KEY_MAX];
    sw_dirty *d;
    sw__active *act = NULL;
    int n = 0, rc;

    if (strcmp(name, "end"))
        return 0;
    if ((rc = sw_batch_load(b, id, &d)) == SW_ENOENT)
        return 0;
    if (rc)
        return rc;
    size_t klen = sw__index_key(key, sizeof key, d->inc.site, id);
    if ((rc = sw_store_del(b->e->store, b->txn, SW_DB_META, key, klen)) && rc != SW_ENOENT)
        return rc;
    if ((rc = sw__take_active(b, id, &act, &n)))
        goto out;
    cJSON *entry = cJSON_CreateObject();
    cJSON_AddStringToObject(entry, "kind", "window_ended");
    sw_json_add_int(entry, "alarms_active", n);
    if ((rc = sw_batch_timeline(b, d, now, "siteward", entry)))
        goto out;
    if (d->inc.state < SW_ST_RESOLVED &&
        (rc = sw_command_transition(b, d, SW_ST_RESOLVED, now, "siteward")))
        goto out;
    /* An alarm that outlasts the window is no longer explained: it is
     * applied again as arriving at the window's end. */
    for (int i = 0; !rc && i < n; i++)
        rc = sw_engine_replay(b, act[i].topic, act[i].payload, due_ms, (uint64_t)i);
out:
    for (int i = 0; i < n; i++) {
        free(act[i].topic);
        free(act[i].payload);
    }
    free(act);
    return rc;
}
