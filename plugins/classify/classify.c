/*
 * classify: gives every event and report its policy class. Events go by
 * "event_types" (type -> class, and optionally an obligation the event
 * meets); reports by the first matching rule of "reports". Every class named
 * must exist in the policy's "classes"; an event type the policy does not
 * know is rejected as unknown_type.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "siteward/plugin.h"

typedef struct classify_type {
    const char *type; /* borrowed from the policy document */
    const char *cls;
    const char *meets; /* or NULL */
} classify_type;

typedef struct classify_rule {
    const char *category, *urgency, *channel; /* NULL matches anything */
    const char *cls;
} classify_rule;

typedef struct classify {
    const sw_host_api *api;
    classify_type *types;
    int ntypes;
    classify_rule *rules;
    int nrules;
} classify;

static int classify_class_known(classify *c, sw_plugin_ctx *ctx, const cJSON *v, const char *key)
{
    const cJSON *classes = c->api->policy_section(ctx, "classes");
    if (!cJSON_IsString(v) || !cJSON_GetObjectItemCaseSensitive(classes, v->valuestring))
        return c->api->policy_error(ctx, key, "must name a class defined under \"classes\"");
    return 0;
}

static int classify_load_types(classify *c, sw_plugin_ctx *ctx)
{
    const cJSON *types = c->api->policy_section(ctx, "event_types"), *it;
    char key[160];
    int i = 0;

    if (!cJSON_IsObject(types))
        return c->api->policy_error(ctx, "event_types",
                                    "must map each event type to {\"class\": ...}");
    c->ntypes = cJSON_GetArraySize(types);
    if (!(c->types = calloc((size_t)c->ntypes + 1, sizeof *c->types)))
        return SW_ENOMEM;
    cJSON_ArrayForEach(it, types)
    {
        const cJSON *meets = cJSON_GetObjectItemCaseSensitive(it, "meets");
        snprintf(key, sizeof key, "event_types.%s.class", it->string);
        if (classify_class_known(c, ctx, cJSON_GetObjectItemCaseSensitive(it, "class"), key))
            return SW_EINVAL;
        if (meets && !cJSON_IsString(meets)) {
            snprintf(key, sizeof key, "event_types.%s.meets", it->string);
            return c->api->policy_error(ctx, key, "must name an obligation");
        }
        c->types[i].type = it->string;
        c->types[i].cls = cJSON_GetObjectItemCaseSensitive(it, "class")->valuestring;
        c->types[i].meets = meets ? meets->valuestring : NULL;
        i++;
    }
    return 0;
}

static int classify_load_rules(classify *c, sw_plugin_ctx *ctx)
{
    const cJSON *rules = c->api->policy_section(ctx, "reports"), *it, *f;
    char key[96];
    int i = 0;

    if (!cJSON_IsArray(rules))
        return c->api->policy_error(ctx, "reports",
                                    "must be an array of {\"match\": {...}, \"class\": ...}");
    c->nrules = cJSON_GetArraySize(rules);
    if (!(c->rules = calloc((size_t)c->nrules + 1, sizeof *c->rules)))
        return SW_ENOMEM;
    cJSON_ArrayForEach(it, rules)
    {
        classify_rule *r = &c->rules[i];
        const cJSON *match = cJSON_GetObjectItemCaseSensitive(it, "match");
        snprintf(key, sizeof key, "reports[%d].class", i);
        if (classify_class_known(c, ctx, cJSON_GetObjectItemCaseSensitive(it, "class"), key))
            return SW_EINVAL;
        r->cls = cJSON_GetObjectItemCaseSensitive(it, "class")->valuestring;
        snprintf(key, sizeof key, "reports[%d].match", i);
        if (match && !cJSON_IsObject(match))
            return c->api->policy_error(ctx, key, "must be an object");
        cJSON_ArrayForEach(f, match)
        {
            const char **dst = !strcmp(f->string, "category")  ? &r->category
                               : !strcmp(f->string, "urgency") ? &r->urgency
                               : !strcmp(f->string, "channel") ? &r->channel
                                                               : NULL;
            if (!dst || !cJSON_IsString(f))
                return c->api->policy_error(ctx, key,
                                            "matches only string values of category, urgency "
                                            "and channel");
            *dst = f->valuestring;
        }
        i++;
    }
    return 0;
}

static int classify_field(const char *want, const char *have)
{
    return !want || (have && !strcmp(want, have));
}

static int classify_msg(void *ud, sw_msg *m)
{
    classify *c = ud;

    if (m->kind == SW_MSG_EVENT) {
        for (int i = 0; i < c->ntypes; i++) {
            if (!strcmp(c->types[i].type, m->type)) {
                snprintf(m->cls, sizeof m->cls, "%s", c->types[i].cls);
                snprintf(m->meets, sizeof m->meets, "%s",
                         c->types[i].meets ? c->types[i].meets : "");
                return 0;
            }
        }
        return c->api->msg_reject(m, "unknown_type", "event type \"%s\" is not in the policy",
                                  m->type);
    }
    if (m->kind == SW_MSG_REPORT) {
        for (int i = 0; i < c->nrules; i++) {
            const classify_rule *r = &c->rules[i];
            if (classify_field(r->category, m->category) &&
                classify_field(r->urgency, m->urgency) && classify_field(r->channel, m->channel)) {
                snprintf(m->cls, sizeof m->cls, "%s", r->cls);
                return 0;
            }
        }
        return c->api->msg_reject(m, "unclassified",
                                  "no policy rule classifies a %s report (%s, %s)", m->category,
                                  m->urgency, m->channel);
    }
    return 0;
}

SW_PLUGIN_VERSION(SW_PLUGIN_ABI_V1)

void sw_plugin_cleanup(void *userdata)
{
    classify *c = userdata;
    if (!c)
        return;
    free(c->types);
    free(c->rules);
    free(c);
}

int sw_plugin_init(sw_plugin_ctx *ctx, const sw_host_api *api, void **userdata)
{
    static const sw_conf_entry table[] = {{NULL, SW_CONF_END, NULL, 0, NULL}};
    classify *c = calloc(1, sizeof *c);
    int rc;

    if (!c)
        return SW_ENOMEM;
    c->api = api;
    if ((rc = api->config_parse(ctx, table, NULL)) || (rc = classify_load_types(c, ctx)) ||
        (rc = classify_load_rules(c, ctx)) ||
        (rc = api->callback_register(ctx, SW_HOOK_CLASSIFY, classify_msg, c))) {
        sw_plugin_cleanup(c);
        return rc;
    }
    *userdata = c;
    return 0;
}
