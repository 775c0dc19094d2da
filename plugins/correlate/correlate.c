/*
 * correlate: decides which messages are the same thing. The dedup key
 * recognises a retransmission (same device and event id, or same user and
 * report id); the correlation key groups events of one class at one place
 * ("by" location parts, policy "correlation", overridable per class) so a
 * second detector joins the open incident within the window.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "siteward/plugin.h"

enum correlate_part { CP_BUILDING, CP_FLOOR, CP_UNIT, CP_AREA, CP_DEVICE, CP_MAX };
static const char *const correlate_part_names[CP_MAX] = {"building", "floor", "unit", "area",
                                                         "device"};

typedef struct correlate_rule {
    const char *cls; /* NULL: the default */
    int enabled;
    int64_t window_ms;
    int by[CP_MAX];
    int nby;
} correlate_rule;

typedef struct correlate {
    const sw_host_api *api;
    correlate_rule def;
    correlate_rule *rules;
    int nrules;
} correlate;

static int correlate_rule_parse(correlate *c, sw_plugin_ctx *ctx, const cJSON *obj, const char *key,
                                const correlate_rule *base, correlate_rule *r)
{
    char k[160];
    const cJSON *v, *it;

    *r = *base;
    if (cJSON_IsFalse(obj)) {
        r->enabled = 0;
        return 0;
    }
    if (!cJSON_IsObject(obj))
        return c->api->policy_error(ctx, key, "must be false or {\"window\", \"by\"}");
    r->enabled = 1;
    v = cJSON_GetObjectItemCaseSensitive(obj, "window");
    snprintf(k, sizeof k, "%s.window", key);
    if (v && (!cJSON_IsString(v) || c->api->duration_parse(v->valuestring, &r->window_ms)))
        return c->api->policy_error(ctx, k, "must be a duration such as \"30m\"");
    v = cJSON_GetObjectItemCaseSensitive(obj, "by");
    snprintf(k, sizeof k, "%s.by", key);
    if (v) {
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1 || cJSON_GetArraySize(v) > CP_MAX)
            return c->api->policy_error(ctx, k,
                                        "must list 1-5 of building, floor, unit, area, "
                                        "device");
        r->nby = 0;
        cJSON_ArrayForEach(it, v)
        {
            int p = 0;
            while (p < CP_MAX &&
                   !(cJSON_IsString(it) && !strcmp(it->valuestring, correlate_part_names[p])))
                p++;
            if (p == CP_MAX)
                return c->api->policy_error(ctx, k,
                                            "parts are building, floor, unit, area, "
                                            "device");
            r->by[r->nby++] = p;
        }
    }
    return 0;
}

static int correlate_load(correlate *c, sw_plugin_ctx *ctx)
{
    const cJSON *def = c->api->policy_section(ctx, "correlation");
    const cJSON *classes = c->api->policy_section(ctx, "classes"), *cl;
    correlate_rule base = {NULL, 1, 30 * 60000, {CP_BUILDING, CP_FLOOR}, 2};
    char key[128];
    int i = 0;

    if (def && correlate_rule_parse(c, ctx, def, "correlation", &base, &c->def))
        return SW_EINVAL;
    if (!def)
        c->def = base;
    c->nrules = cJSON_GetArraySize(classes);
    if (!(c->rules = calloc((size_t)c->nrules + 1, sizeof *c->rules)))
        return SW_ENOMEM;
    cJSON_ArrayForEach(cl, classes)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(cl, "correlation");
        snprintf(key, sizeof key, "classes.%s.correlation", cl->string);
        if (v && correlate_rule_parse(c, ctx, v, key, &c->def, &c->rules[i]))
            return SW_EINVAL;
        if (!v)
            c->rules[i] = c->def;
        c->rules[i].cls = cl->string;
        i++;
    }
    return 0;
}

static const correlate_rule *correlate_rule_for(const correlate *c, const char *cls)
{
    for (int i = 0; i < c->nrules; i++)
        if (!strcmp(c->rules[i].cls, cls))
            return &c->rules[i];
    return &c->def;
}

static int correlate_msg(void *ud, sw_msg *m)
{
    correlate *c = ud;
    const correlate_rule *r;
    size_t n;
    int have = 0;

    m->dedup_key[0] = m->corr_key[0] = 0;
    if (m->kind == SW_MSG_EVENT && m->event_id)
        snprintf(m->dedup_key, sizeof m->dedup_key, "E/%s/%s/%s/%s", m->site, m->source, m->device,
                 m->event_id);
    else if (m->kind == SW_MSG_REPORT && m->report_id)
        snprintf(m->dedup_key, sizeof m->dedup_key, "R/%s/%s/%s", m->site, m->user, m->report_id);
    /* A command is known again by its sender's request_id; one without
     * can only be applied each time it arrives. */
    else if (m->kind == SW_MSG_COMMAND && m->request_id)
        snprintf(m->dedup_key, sizeof m->dedup_key, "C/%s/%s/%s", m->site, m->user, m->request_id);
    if (m->kind == SW_MSG_COMMAND || !m->cls[0])
        return 0;

    r = correlate_rule_for(c, m->cls);
    if (!r->enabled)
        return 0;
    n = (size_t)snprintf(m->corr_key, sizeof m->corr_key, "%s/%s", m->site, m->cls);
    for (int i = 0; i < r->nby && n < sizeof m->corr_key; i++) {
        const char *v = NULL;
        char dev[300];
        switch (r->by[i]) {
        case CP_BUILDING:
            v = m->location.building;
            break;
        case CP_FLOOR:
            v = m->location.floor;
            break;
        case CP_UNIT:
            v = m->location.unit;
            break;
        case CP_AREA:
            v = m->location.area;
            break;
        case CP_DEVICE:
            if (m->kind == SW_MSG_EVENT) {
                snprintf(dev, sizeof dev, "%s:%s", m->source, m->device);
                v = dev;
            }
            break;
        }
        have |= v != NULL;
        n += (size_t)snprintf(m->corr_key + n, sizeof m->corr_key - n, "/%s", v ? v : "-");
    }
    /* Nothing to place it by: an event falls back to its own device; a
     * report stands alone. */
    if (!have) {
        if (m->kind == SW_MSG_EVENT)
            snprintf(m->corr_key, sizeof m->corr_key, "%s/%s/@%s:%s", m->site, m->cls, m->source,
                     m->device);
        else
            m->corr_key[0] = 0;
    }
    m->corr_window_ms = r->window_ms;
    return 0;
}

SW_PLUGIN_VERSION(SW_PLUGIN_ABI_V1)

void sw_plugin_cleanup(void *userdata)
{
    correlate *c = userdata;
    if (c)
        free(c->rules);
    free(c);
}

int sw_plugin_init(sw_plugin_ctx *ctx, const sw_host_api *api, void **userdata)
{
    static const sw_conf_entry table[] = {{NULL, SW_CONF_END, NULL, 0, NULL}};
    correlate *c = calloc(1, sizeof *c);
    int rc;

    if (!c)
        return SW_ENOMEM;
    c->api = api;
    if ((rc = api->config_parse(ctx, table, NULL)) || (rc = correlate_load(c, ctx)) ||
        (rc = api->callback_register(ctx, SW_HOOK_CORRELATE, correlate_msg, c))) {
        sw_plugin_cleanup(c);
        return rc;
    }
    *userdata = c;
    return 0;
}
