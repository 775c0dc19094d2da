#include "policy_expect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonfile.h"
#include "topic.h"

static const cJSON *sw__get(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* A class named by an expectation must open incidents. */
static int sw__class_ref(const char *path, const sw_policy *p, const cJSON *obj, const char *def,
                         const char *key, char *out)
{
    const cJSON *v = sw__get(obj, "class");
    const char *name = v ? cJSON_GetStringValue(v) : def;
    const sw_class *cls = name ? sw_policy_class(p, name) : NULL;
    if (!cls || !cls->incident)
        return sw_json_error(path, key, "\"class\" must name an incident class of \"classes\"");
    snprintf(out, SW_OBL_NAME_MAX, "%s", name);
    return 0;
}

static int sw__ms(const char *path, const cJSON *obj, const char *name, int64_t def,
                  const char *key, int64_t *out)
{
    const cJSON *v = sw__get(obj, name);
    *out = def;
    if (v && (!cJSON_IsString(v) || sw_duration_parse_ms(v->valuestring, out)))
        return sw_json_error(path, key, "\"%s\" must be a duration in s, m, h or d", name);
    return 0;
}

/* The shortest slot a window can cut (its last one may be shorter). */
static int64_t sw__window_len(const sw_window *w)
{
    int len = (w->to_min - w->from_min + 1440) % 1440;
    return (int64_t)(len ? len : 1440) * 60000;
}

static int sw__schedule(const char *path, const cJSON *s, const char *key, sw_round *r)
{
    const cJSON *it;
    unsigned char cover[1440] = {0};

    if (!cJSON_IsArray(s) || !cJSON_GetArraySize(s) ||
        cJSON_GetArraySize(s) > (int)(sizeof r->windows / sizeof *r->windows))
        return sw_json_error(path, key,
                             "\"schedule\" must be 1-8 windows {\"from\": \"HH:MM\", \"to\": "
                             "\"HH:MM\", \"every\": DURATION}");
    r->nwindows = 0;
    cJSON_ArrayForEach(it, s)
    {
        sw_window *w = &r->windows[r->nwindows++];
        w->from_min = sw_hhmm_parse(cJSON_GetStringValue(sw__get(it, "from")), 0);
        w->to_min = sw_hhmm_parse(cJSON_GetStringValue(sw__get(it, "to")), 1);
        const char *every = cJSON_GetStringValue(sw__get(it, "every"));
        if (w->to_min == 1440)
            w->to_min = 0;
        if (w->from_min < 0 || w->to_min < 0 || !every ||
            sw_duration_parse_ms(every, &w->every_ms) || w->every_ms < 60000 ||
            w->every_ms % 60000 || w->every_ms > sw__window_len(w))
            return sw_json_error(path, key,
                                 "schedule window %d: needs \"from\" and \"to\" (HH:MM) and "
                                 "\"every\" of whole minutes, at most the window's length",
                                 r->nwindows - 1);
        for (int m = w->from_min, n = 0; n < sw__window_len(w) / 60000; n++, m = (m + 1) % 1440)
            if (cover[m]++)
                return sw_json_error(path, key, "schedule window %d overlaps another",
                                     r->nwindows - 1);
    }
    return 0;
}

static int sw__items(const char *path, const cJSON *a, const char *what, const char *key,
                     sw_round *r)
{
    const cJSON *it;
    if (!cJSON_IsArray(a) || !cJSON_GetArraySize(a) || cJSON_GetArraySize(a) > SW_ROUND_ITEMS_MAX)
        return sw_json_error(path, key, "\"%s\" must be an array of 1-%d ids", what,
                             SW_ROUND_ITEMS_MAX);
    if (!(r->items = calloc((size_t)cJSON_GetArraySize(a), sizeof *r->items)))
        return SW_ENOMEM;
    cJSON_ArrayForEach(it, a)
    {
        const char *s = cJSON_GetStringValue(it);
        if (!s || !sw_id_valid(s, strlen(s)))
            return sw_json_error(path, key, "\"%s\"[%d] is not an id of the contract", what,
                                 r->nitems);
        for (int i = 0; i < r->nitems; i++)
            if (!strcmp(r->items[i], s))
                return sw_json_error(path, key, "\"%s\" lists '%s' twice", what, s);
        snprintf(r->items[r->nitems++], SW_ID_MAX + 1, "%s", s);
    }
    return 0;
}

static int sw__round_head(const char *path, const cJSON *o, const char *key, sw_round *r)
{
    const char *site = cJSON_GetStringValue(sw__get(o, "site"));
    const char *name = cJSON_GetStringValue(sw__get(o, "name"));
    if (!cJSON_IsObject(o) || !site || !sw_site_valid(site, strlen(site)) || !name || !*name ||
        strlen(name) >= SW_OBL_NAME_MAX || !sw_site_valid(name, strlen(name)))
        return sw_json_error(path, key,
                             "needs a \"site\" and a \"name\" (1-47 of A-Z a-z 0-9 _ -)");
    snprintf(r->site, sizeof r->site, "%s", site);
    snprintf(r->name, sizeof r->name, "%s", name);
    return 0;
}

static int sw__rounds(const char *path, sw_policy *p, enum sw_round_kind kind)
{
    const char *sec = kind == SW_ROUND_PATROL ? "patrols" : "inspections";
    const cJSON *s = sw__get(p->root, sec), *rounds, *it;
    sw_expect_policy *x = p->expect;
    char key[160], cls[SW_OBL_NAME_MAX];
    int64_t grace;
    int i = 0;

    if (!s)
        return 0;
    snprintf(key, sizeof key, "%s", sec);
    rounds = sw__get(s, "rounds");
    if (!cJSON_IsObject(s) || (rounds && !cJSON_IsArray(rounds)))
        return sw_json_error(path, key, "must be an object with \"rounds\": [...]");
    if (sw__class_ref(path, p, s, NULL, key, cls) || sw__ms(path, s, "grace", 0, key, &grace))
        return SW_ECONFIG;
    sw_round def = {0};
    if (kind == SW_ROUND_PATROL && sw__schedule(path, sw__get(s, "schedule"), key, &def))
        return SW_ECONFIG;
    int n = cJSON_GetArraySize(rounds);
    sw_round *grown = realloc(x->rounds, (size_t)(x->nrounds + n + 1) * sizeof *grown);
    if (!grown)
        return SW_ENOMEM;
    x->rounds = grown;
    cJSON_ArrayForEach(it, rounds)
    {
        sw_round *r = &x->rounds[x->nrounds];
        *r = def;
        r->kind = kind;
        snprintf(r->cls, sizeof r->cls, "%s", cls);
        x->nrounds++;
        snprintf(key, sizeof key, "%s.rounds[%d]", sec, i++);
        if (sw__round_head(path, it, key, r) || sw__ms(path, it, "grace", grace, key, &r->grace_ms))
            return SW_ECONFIG;
        if (sw__get(it, "class") && sw__class_ref(path, p, it, NULL, key, r->cls))
            return SW_ECONFIG;
        if (kind == SW_ROUND_PATROL) {
            if (sw__get(it, "schedule") && sw__schedule(path, sw__get(it, "schedule"), key, r))
                return SW_ECONFIG;
            if (sw__items(path, sw__get(it, "points"), "points", key, r))
                return SW_ECONFIG;
            for (int w = 0; w < r->nwindows; w++)
                if (r->grace_ms >= r->windows[w].every_ms)
                    return sw_json_error(path, key, "\"grace\" must be shorter than every slot");
        } else {
            const char *every = cJSON_GetStringValue(sw__get(it, "every"));
            if (!every || (strcmp(every, "day") && strcmp(every, "week") && strcmp(every, "month")))
                return sw_json_error(path, key, "\"every\" must be \"day\", \"week\" or \"month\"");
            r->period = !strcmp(every, "day")    ? SW_PERIOD_DAY
                        : !strcmp(every, "week") ? SW_PERIOD_WEEK
                                                 : SW_PERIOD_MONTH;
            if (sw__items(path, sw__get(it, "equipment"), "equipment", key, r))
                return SW_ECONFIG;
            if (r->grace_ms >= SW_MS_PER_DAY)
                return sw_json_error(path, key, "\"grace\" must be shorter than a day");
        }
        for (int j = 0; j < x->nrounds - 1; j++)
            if (x->rounds[j].kind == kind && !strcmp(x->rounds[j].site, r->site) &&
                !strcmp(x->rounds[j].name, r->name))
                return sw_json_error(path, key, "round '%s' of site %s is listed twice", r->name,
                                     r->site);
    }
    return 0;
}

static int sw__silent(const char *path, sw_policy *p)
{
    const cJSON *s = sw__get(p->root, "silent_devices"), *after, *it, *slack;
    sw_expect_policy *x = p->expect;

    x->silent_slack = 0.25;
    if (!s)
        return 0;
    after = sw__get(s, "after");
    if (!cJSON_IsObject(s) || !cJSON_IsObject(after))
        return sw_json_error(path, "silent_devices",
                             "must be {\"class\", \"after\": {EVENT_TYPE: DURATION}, \"slack\"?}");
    if (sw__class_ref(path, p, s, NULL, "silent_devices", x->silent_cls))
        return SW_ECONFIG;
    slack = sw__get(s, "slack");
    if (slack && !(cJSON_IsNumber(slack) && slack->valuedouble >= 0 && slack->valuedouble <= 1))
        return sw_json_error(path, "silent_devices.slack", "must be a number from 0 to 1");
    if (slack)
        x->silent_slack = slack->valuedouble;
    if (!(x->silent = calloc((size_t)cJSON_GetArraySize(after) + 1, sizeof *x->silent)))
        return SW_ENOMEM;
    cJSON_ArrayForEach(it, after)
    {
        sw_silent_rule *r = &x->silent[x->nsilent++];
        char key[160];
        snprintf(key, sizeof key, "silent_devices.after.%.60s", it->string);
        if (strlen(it->string) >= sizeof r->type || !cJSON_IsString(it) ||
            sw_duration_parse_ms(it->valuestring, &r->after_ms) || r->after_ms < 1000)
            return sw_json_error(path, key, "must be a duration of at least \"1s\"");
        snprintf(r->type, sizeof r->type, "%s", it->string);
    }
    return 0;
}

static int sw__tele(const char *path, sw_policy *p)
{
    const cJSON *t = sw__get(p->root, "telemetry"), *rules, *it;
    sw_expect_policy *x = p->expect;
    char key[160];

    if (!t)
        return 0;
    rules = sw__get(t, "rules");
    if (!cJSON_IsObject(t) || !cJSON_IsArray(rules))
        return sw_json_error(path, "telemetry", "must be {\"rules\": [...]}");
    if (!(x->tele = calloc((size_t)cJSON_GetArraySize(rules) + 1, sizeof *x->tele)))
        return SW_ENOMEM;
    cJSON_ArrayForEach(it, rules)
    {
        sw_tele_rule *r = &x->tele[x->ntele];
        const char *name = cJSON_GetStringValue(sw__get(it, "name"));
        const char *type = cJSON_GetStringValue(sw__get(it, "type"));
        const cJSON *above = sw__get(it, "above"), *below = sw__get(it, "below");
        const cJSON *clear = sw__get(it, "clear");
        snprintf(key, sizeof key, "telemetry.rules[%d]", x->ntele++);
        if (!name || !*name || strlen(name) >= sizeof r->name || !sw_site_valid(name, strlen(name)))
            return sw_json_error(path, key, "needs a \"name\" of 1-47 of A-Z a-z 0-9 _ -");
        snprintf(r->name, sizeof r->name, "%s", name);
        if (!type || strlen(type) >= sizeof r->type ||
            !sw__get(sw__get(p->root, "event_types"), type))
            return sw_json_error(path, key, "\"type\" must name one of \"event_types\"");
        snprintf(r->type, sizeof r->type, "%s", type);
        if (!!above == !!below || !cJSON_IsNumber(above ? above : below) || !cJSON_IsNumber(clear))
            return sw_json_error(path, key,
                                 "needs one of \"above\" or \"below\" (a number) and \"clear\"");
        r->above = !!above;
        r->trigger = (above ? above : below)->valuedouble;
        r->clear = clear->valuedouble;
        if (r->above ? r->clear > r->trigger : r->clear < r->trigger)
            return sw_json_error(path, key,
                                 "\"clear\" must be on the normal side of the trigger (at most "
                                 "\"above\", at least \"below\")");
        if (sw__ms(path, it, "for", 0, key, &r->for_ms) ||
            sw__class_ref(path, p, it, NULL, key, r->cls))
            return SW_ECONFIG;
        for (int j = 0; j < x->ntele - 1; j++)
            if (!strcmp(x->tele[j].name, name))
                return sw_json_error(path, key, "rule '%s' is listed twice", name);
    }
    return 0;
}

int sw_expect_policy_parse(const char *path, sw_policy *p)
{
    if (!(p->expect = calloc(1, sizeof *p->expect)))
        return SW_ENOMEM;
    if (sw__rounds(path, p, SW_ROUND_PATROL) || sw__rounds(path, p, SW_ROUND_INSPECT) ||
        sw__silent(path, p) || sw__tele(path, p))
        return SW_ECONFIG;
    return 0;
}

void sw_expect_policy_free(sw_policy *p)
{
    sw_expect_policy *x = p->expect;
    if (!x)
        return;
    for (int i = 0; i < x->nrounds; i++)
        free(x->rounds[i].items);
    free(x->rounds);
    free(x->silent);
    free(x->tele);
    free(x);
    p->expect = NULL;
}

const sw_round *sw_expect_round(const sw_policy *p, enum sw_round_kind kind, const char *site,
                                const char *name)
{
    for (int i = 0; p->expect && i < p->expect->nrounds; i++) {
        const sw_round *r = &p->expect->rounds[i];
        if (r->kind == kind && !strcmp(r->site, site) && !strcmp(r->name, name))
            return r;
    }
    return NULL;
}

const sw_silent_rule *sw_expect_silent_rule(const sw_policy *p, const char *type)
{
    for (int i = 0; p->expect && i < p->expect->nsilent; i++)
        if (!strcmp(p->expect->silent[i].type, type))
            return &p->expect->silent[i];
    return NULL;
}
