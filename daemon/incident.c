#include "incident.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

static const char *const sw__states[SW_ST_COUNT] = {"open",     "acknowledged", "on_site",
                                                    "resolved", "closed",       "reviewed"};
static const char *const sw__obl_status[] = {"pending", "met", "missed", "cancelled"};

#define SW__SOURCES_MAX 64

const char *sw_state_name(enum sw_state s)
{
    return s < SW_ST_COUNT ? sw__states[s] : "open";
}

const char *sw_obl_status_name(enum sw_obl_status s)
{
    return s <= SW_OBL_CANCELLED ? sw__obl_status[s] : "pending";
}

sw_obligation *sw_incident_obligation(sw_incident *inc, const char *name)
{
    for (int i = 0; i < inc->nobl; i++)
        if (!strcmp(inc->obl[i].name, name))
            return &inc->obl[i];
    return NULL;
}

void sw_incident_free(sw_incident *inc)
{
    cJSON_Delete(inc->location);
    cJSON_Delete(inc->sources);
    cJSON_Delete(inc->detail);
    inc->location = inc->sources = inc->detail = NULL;
}

void sw_incident_add_source(sw_incident *inc, const char *src)
{
    const cJSON *it;
    if (!inc->sources && !(inc->sources = cJSON_CreateArray()))
        return;
    cJSON_ArrayForEach(it, inc->sources)
    {
        if (!strcmp(it->valuestring, src))
            return;
    }
    if (cJSON_GetArraySize(inc->sources) < SW__SOURCES_MAX)
        cJSON_AddItemToArray(inc->sources, cJSON_CreateString(src));
}

char *sw_incident_encode(const sw_incident *inc)
{
    cJSON *o = cJSON_CreateObject(), *arr;
    char *out = NULL;

    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", inc->id);
    cJSON_AddStringToObject(o, "site", inc->site);
    cJSON_AddStringToObject(o, "class", inc->cls);
    cJSON_AddStringToObject(o, "label", inc->label);
    sw_json_add_int(o, "level", inc->level);
    cJSON_AddStringToObject(o, "priority", inc->priority);
    sw_json_add_int(o, "state", inc->state);
    sw_json_add_int(o, "opened", inc->opened_ms);
    sw_json_add_int(o, "updated", inc->updated_ms);
    sw_json_add_int(o, "last_event", inc->last_event_ms);
    if (inc->location)
        cJSON_AddItemToObject(o, "location", cJSON_Duplicate(inc->location, 1));
    if (inc->sources)
        cJSON_AddItemToObject(o, "sources", cJSON_Duplicate(inc->sources, 1));
    if (inc->detail)
        cJSON_AddItemToObject(o, "detail", cJSON_Duplicate(inc->detail, 1));
    sw_json_add_int(o, "events", inc->events);
    arr = cJSON_AddArrayToObject(o, "obligations");
    for (int i = 0; i < inc->nobl; i++) {
        const sw_obligation *ob = &inc->obl[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", ob->name);
        cJSON_AddStringToObject(j, "met_by", ob->met_by);
        sw_json_add_int(j, "due", ob->due_ms);
        sw_json_add_int(j, "status", ob->status);
        sw_json_add_int(j, "met_at", ob->met_ms);
        sw_json_add_int(j, "was_missed", ob->was_missed);
        cJSON_AddStringToObject(j, "by", ob->by);
        sw_json_add_int(j, "esc_step", ob->esc_step);
        sw_json_add_int(j, "next", ob->next_ms);
        cJSON_AddItemToArray(arr, j);
    }
    sw_json_add_int(o, "esc_level", inc->esc_level);
    cJSON_AddStringToObject(o, "esc_role", inc->esc_role);
    sw_json_add_int(o, "review_required", inc->review_required);
    sw_json_add_int(o, "tl_seq", inc->tl_seq);
    cJSON_AddStringToObject(o, "corr_key", inc->corr_key);
    if (inc->plan_kind[0]) {
        cJSON *pw = cJSON_AddObjectToObject(o, "planned");
        cJSON_AddStringToObject(pw, "kind", inc->plan_kind);
        sw_json_add_int(pw, "start", inc->plan_start_ms);
        sw_json_add_int(pw, "end", inc->plan_end_ms);
    }
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}

static void sw__copy(char *dst, size_t len, const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    snprintf(dst, len, "%s", s ? s : "");
}

static int64_t sw__num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

int sw_incident_decode(const char *buf, size_t len, sw_incident *inc)
{
    cJSON *o = cJSON_ParseWithLength(buf, len), *arr, *it;

    memset(inc, 0, sizeof *inc);
    if (!o)
        return SW_EINVAL;
    sw__copy(inc->id, sizeof inc->id, o, "id");
    sw__copy(inc->site, sizeof inc->site, o, "site");
    sw__copy(inc->cls, sizeof inc->cls, o, "class");
    sw__copy(inc->label, sizeof inc->label, o, "label");
    inc->level = (int)sw__num(o, "level");
    sw__copy(inc->priority, sizeof inc->priority, o, "priority");
    inc->state = (enum sw_state)sw__num(o, "state");
    inc->opened_ms = sw__num(o, "opened");
    inc->updated_ms = sw__num(o, "updated");
    inc->last_event_ms = sw__num(o, "last_event");
    inc->location = cJSON_DetachItemFromObjectCaseSensitive(o, "location");
    inc->sources = cJSON_DetachItemFromObjectCaseSensitive(o, "sources");
    inc->detail = cJSON_DetachItemFromObjectCaseSensitive(o, "detail");
    inc->events = (int)sw__num(o, "events");
    arr = cJSON_GetObjectItemCaseSensitive(o, "obligations");
    cJSON_ArrayForEach(it, arr)
    {
        if (inc->nobl >= SW_OBL_MAX)
            break;
        sw_obligation *ob = &inc->obl[inc->nobl++];
        sw__copy(ob->name, sizeof ob->name, it, "name");
        sw__copy(ob->met_by, sizeof ob->met_by, it, "met_by");
        ob->due_ms = sw__num(it, "due");
        ob->status = (enum sw_obl_status)sw__num(it, "status");
        ob->met_ms = sw__num(it, "met_at");
        ob->was_missed = (int)sw__num(it, "was_missed");
        sw__copy(ob->by, sizeof ob->by, it, "by");
        ob->esc_step = (int)sw__num(it, "esc_step");
        ob->next_ms = sw__num(it, "next");
    }
    inc->esc_level = (int)sw__num(o, "esc_level");
    sw__copy(inc->esc_role, sizeof inc->esc_role, o, "esc_role");
    inc->review_required = (int)sw__num(o, "review_required");
    inc->tl_seq = (uint32_t)sw__num(o, "tl_seq");
    sw__copy(inc->corr_key, sizeof inc->corr_key, o, "corr_key");
    const cJSON *pw = cJSON_GetObjectItemCaseSensitive(o, "planned");
    if (pw) {
        sw__copy(inc->plan_kind, sizeof inc->plan_kind, pw, "kind");
        inc->plan_start_ms = sw__num(pw, "start");
        inc->plan_end_ms = sw__num(pw, "end");
    }
    cJSON_Delete(o);
    return inc->id[0] ? 0 : SW_EINVAL;
}

static void sw__add_time(cJSON *o, const char *key, int64_t ms, int tz)
{
    char buf[40];
    if (!ms) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    sw_time_format(ms, tz, buf, sizeof buf);
    cJSON_AddStringToObject(o, key, buf);
}

void sw_incident_summary(const sw_incident *inc, char *buf, size_t len)
{
    static const char *const parts[] = {"building", "floor", "unit", "area"};
    size_t n = (size_t)snprintf(buf, len, "%s", inc->label);
    int first = 1;
    for (int i = 0; i < 4 && n < len; i++) {
        const char *v =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(inc->location, parts[i]));
        if (!v)
            continue;
        n += (size_t)snprintf(buf + n, len - n, "%s%s %s", first ? ", " : " ", parts[i], v);
        first = 0;
    }
}

cJSON *sw_incident_public(const sw_incident *inc, int tz)
{
    cJSON *o = cJSON_CreateObject(), *arr, *j;
    char summary[256];

    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", inc->id);
    cJSON_AddStringToObject(o, "site", inc->site);
    cJSON_AddStringToObject(o, "class", inc->cls);
    if (inc->level)
        sw_json_add_int(o, "level", inc->level);
    else
        cJSON_AddNullToObject(o, "level");
    cJSON_AddStringToObject(o, "priority", inc->priority);
    cJSON_AddStringToObject(o, "state", sw_state_name(inc->state));
    sw__add_time(o, "opened", inc->opened_ms, tz);
    sw__add_time(o, "updated", inc->updated_ms, tz);
    sw_incident_summary(inc, summary, sizeof summary);
    cJSON_AddStringToObject(o, "summary", summary);
    cJSON_AddItemToObject(o, "location",
                          inc->location ? cJSON_Duplicate(inc->location, 1) : cJSON_CreateObject());
    sw_json_add_int(o, "events", inc->events);
    cJSON_AddItemToObject(o, "sources",
                          inc->sources ? cJSON_Duplicate(inc->sources, 1) : cJSON_CreateArray());
    if (inc->detail)
        cJSON_AddItemToObject(o, "detail", cJSON_Duplicate(inc->detail, 1));
    arr = cJSON_AddArrayToObject(o, "obligations");
    for (int i = 0; i < inc->nobl; i++) {
        const sw_obligation *ob = &inc->obl[i];
        j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", ob->name);
        sw__add_time(j, "due", ob->due_ms, tz);
        cJSON_AddStringToObject(j, "status", sw_obl_status_name(ob->status));
        if (ob->status == SW_OBL_MET) {
            sw__add_time(j, "met_at", ob->met_ms, tz);
            cJSON_AddStringToObject(j, "by", ob->by);
            if (ob->was_missed)
                sw_json_add_int(j, "late_by_s", ((ob->met_ms - ob->due_ms) / 1000));
        }
        cJSON_AddItemToArray(arr, j);
    }
    j = cJSON_AddObjectToObject(o, "escalation");
    sw_json_add_int(j, "level", inc->esc_level);
    if (inc->esc_role[0])
        cJSON_AddStringToObject(j, "role", inc->esc_role);
    else
        cJSON_AddNullToObject(j, "role");
    if (inc->plan_kind[0]) {
        j = cJSON_AddObjectToObject(o, "planned");
        cJSON_AddStringToObject(j, "kind", inc->plan_kind);
        sw__add_time(j, "start", inc->plan_start_ms, tz);
        sw__add_time(j, "end", inc->plan_end_ms, tz);
    }
    /* The review is the obligation "review", armed when the incident closes. */
    const sw_obligation *rv = NULL;
    for (int i = 0; i < inc->nobl; i++)
        if (!strcmp(inc->obl[i].name, "review"))
            rv = &inc->obl[i];
    j = cJSON_AddObjectToObject(o, "review");
    sw__add_time(j, "due", rv ? rv->due_ms : 0, tz);
    cJSON_AddStringToObject(j, "status",
                            !inc->review_required            ? "not_required"
                            : !rv                            ? "pending"
                            : rv->status == SW_OBL_MET       ? "submitted"
                            : rv->status == SW_OBL_MISSED    ? "overdue"
                            : rv->status == SW_OBL_CANCELLED ? "not_required"
                                                             : "pending");
    return o;
}
