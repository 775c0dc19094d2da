#include "policy_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonfile.h"
#include "siteward/types.h"
#include "timeutil.h"

static const char *const sw__weekdays[7] = {"monday", "tuesday",  "wednesday", "thursday",
                                            "friday", "saturday", "sunday"};
static const char *const sw__weekday_names[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                 "Friday", "Saturday", "Sunday"};

const char *sw_weekday_name(int wd)
{
    return wd >= 0 && wd < 7 ? sw__weekday_names[wd] : "?";
}

/* "saturday" or "sat". */
static int sw__weekday(const char *s)
{
    for (int i = 0; s && i < 7; i++)
        if (!strcmp(s, sw__weekdays[i]) || (strlen(s) == 3 && !strncmp(s, sw__weekdays[i], 3)))
            return i;
    return -1;
}

static int sw__kind_parse(const sw_policy *p, const cJSON *k, sw_plan_kind *out)
{
    const cJSON *types = cJSON_GetObjectItemCaseSensitive(p->root, "event_types");
    const cJSON *v, *it;
    char key[160];

    snprintf(key, sizeof key, "planned_work.kinds.%.60s", k->string);
    if (!*k->string || strlen(k->string) >= sizeof out->name)
        return sw_json_error(p->path, key, "kind names are 1-31 characters");
    if (!cJSON_IsObject(k))
        return sw_json_error(
            p->path, key, "must be {\"class\", \"explains\"?: [TYPE...], \"not_on\"?: [DAY...]}");
    snprintf(out->name, sizeof out->name, "%s", k->string);
    v = cJSON_GetObjectItemCaseSensitive(k, "class");
    out->cls = cJSON_IsString(v) ? sw_policy_class(p, v->valuestring) : NULL;
    snprintf(key, sizeof key, "planned_work.kinds.%s.class", out->name);
    if (!out->cls || !out->cls->incident)
        return sw_json_error(p->path, key, "must name an incident class under \"classes\"");

    v = cJSON_GetObjectItemCaseSensitive(k, "explains");
    snprintf(key, sizeof key, "planned_work.kinds.%s.explains", out->name);
    if (v && (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > SW_PLAN_EXPLAINS_MAX))
        return sw_json_error(p->path, key, "must be an array of at most %d event types",
                             SW_PLAN_EXPLAINS_MAX);
    cJSON_ArrayForEach(it, v)
    {
        if (!cJSON_IsString(it) || strlen(it->valuestring) >= SW_OBL_NAME_MAX ||
            !cJSON_GetObjectItemCaseSensitive(types, it->valuestring))
            return sw_json_error(p->path, key, "'%.60s' is not an event type of \"event_types\"",
                                 cJSON_IsString(it) ? it->valuestring : "?");
        snprintf(out->explains[out->nexplains++], SW_OBL_NAME_MAX, "%s", it->valuestring);
    }

    v = cJSON_GetObjectItemCaseSensitive(k, "not_on");
    snprintf(key, sizeof key, "planned_work.kinds.%s.not_on", out->name);
    if (v && !cJSON_IsArray(v))
        return sw_json_error(p->path, key, "must be an array of weekdays such as \"saturday\"");
    cJSON_ArrayForEach(it, v)
    {
        int wd = sw__weekday(cJSON_GetStringValue(it));
        if (wd < 0)
            return sw_json_error(p->path, key, "weekdays are monday ... sunday (or mon ... sun)");
        out->not_on |= 1u << wd;
    }
    for (const cJSON *f = k->child; f; f = f->next)
        if (strcmp(f->string, "class") && strcmp(f->string, "explains") &&
            strcmp(f->string, "not_on") && f->string[0] != '_') {
            snprintf(key, sizeof key, "planned_work.kinds.%s.%.40s", out->name, f->string);
            return sw_json_error(p->path, key, "unknown key (class, explains, not_on)");
        }
    return 0;
}

static int sw__silences_parse(sw_policy *p)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(p->root, "silences");
    const char *max = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "max"));
    p->plan->silence_max_ms = 24 * 3600 * 1000LL;
    if (s && (!cJSON_IsObject(s) || (max && sw_duration_parse_ms(max, &p->plan->silence_max_ms)) ||
              p->plan->silence_max_ms < 1000))
        return sw_json_error(p->path, "silences",
                             "must be {\"max\": DURATION} of at least \"1s\" in s, m, h or d");
    return 0;
}

int sw_plan_policy_load(sw_policy *p)
{
    const cJSON *pw = cJSON_GetObjectItemCaseSensitive(p->root, "planned_work");
    const cJSON *kinds = cJSON_GetObjectItemCaseSensitive(pw, "kinds"), *k;
    sw_plan_policy *pp;
    int i = 0;

    if (!(pp = calloc(1, sizeof *pp)))
        return SW_ECONFIG;
    p->plan = pp;
    if (sw__silences_parse(p))
        return SW_ECONFIG;
    if (!pw)
        return 0;
    if (!cJSON_IsObject(kinds) || !kinds->child)
        return sw_json_error(p->path, "planned_work.kinds",
                             "must map each kind of planned work to {\"class\", ...}");
    if (!(pp->kinds = calloc((size_t)cJSON_GetArraySize(kinds), sizeof *pp->kinds)))
        return SW_ECONFIG;
    cJSON_ArrayForEach(k, kinds)
    {
        if (sw__kind_parse(p, k, &pp->kinds[i]))
            return SW_ECONFIG;
        pp->nkinds = ++i;
    }
    return 0;
}

void sw_plan_policy_free(sw_policy *p)
{
    if (p->plan)
        free(p->plan->kinds);
    free(p->plan);
    p->plan = NULL;
}

const sw_plan_kind *sw_plan_kind_find(const sw_policy *p, const char *name)
{
    for (int i = 0; p->plan && name && i < p->plan->nkinds; i++)
        if (!strcmp(p->plan->kinds[i].name, name))
            return &p->plan->kinds[i];
    return NULL;
}

int sw_plan_kind_explains(const sw_plan_kind *k, const char *type)
{
    for (int i = 0; type && i < k->nexplains; i++)
        if (!strcmp(k->explains[i], type))
            return 1;
    return 0;
}
