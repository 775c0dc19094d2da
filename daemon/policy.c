#include "policy.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonfile.h"
#include "log.h"
#include "policy_expect.h"
#include "policy_plan.h"
#include "topic.h"

static const char *const sw__ops[] = {"ack",     "plan_activated", "on_site",  "progress",
                                      "resolve", "close",          "reopen",   "reclassify",
                                      "comment", "callback_done",  "verified", "satisfaction",
                                      "review",  "inspected",      NULL};

/* The notices a planned work owes (planned.h). */
static const char *const sw__plan_ops[] = {"customer_service_notified", "residents_notified", NULL};

int sw_op_known(const char *op)
{
    for (int i = 0; sw__ops[i]; i++)
        if (!strcmp(op, sw__ops[i]))
            return 1;
    for (int i = 0; sw__plan_ops[i]; i++)
        if (!strcmp(op, sw__plan_ops[i]))
            return 1;
    return 0;
}

/* Child keys replace the base's; "classes" is merged class by class. */
static int sw__merge(cJSON *base, cJSON *child)
{
    cJSON *it = child->child;
    while (it) {
        cJSON *next = it->next;
        cJSON *b = cJSON_GetObjectItemCaseSensitive(base, it->string);
        if (!strcmp(it->string, "extends")) {
            it = next;
            continue;
        }
        cJSON_DetachItemViaPointer(child, it);
        if (!strcmp(it->string, "classes") && cJSON_IsObject(b) && cJSON_IsObject(it)) {
            cJSON *c = it->child;
            while (c) {
                cJSON *cn = c->next;
                cJSON_DetachItemViaPointer(it, c);
                /* cJSON frees the item's own key while replacing: pass a copy. */
                char name[256];
                snprintf(name, sizeof name, "%s", c->string);
                if (cJSON_HasObjectItem(b, name))
                    cJSON_ReplaceItemInObjectCaseSensitive(b, name, c);
                else
                    cJSON_AddItemToObject(b, c->string, c);
                c = cn;
            }
            cJSON_Delete(it);
        } else if (b) {
            char name[256];
            snprintf(name, sizeof name, "%s", it->string);
            cJSON_ReplaceItemInObjectCaseSensitive(base, name, it);
        } else {
            cJSON_AddItemToObject(base, it->string, it);
        }
        it = next;
    }
    return 0;
}

static int sw__load_merged(const char *path, cJSON **out, int depth)
{
    cJSON *root, *base;
    const cJSON *ext;

    if (sw_json_load(path, &root))
        return SW_ECONFIG;
    ext = cJSON_GetObjectItemCaseSensitive(root, "extends");
    if (!ext) {
        *out = root;
        return 0;
    }
    if (!cJSON_IsString(ext) || depth > 4) {
        cJSON_Delete(root);
        return sw_json_error(path, "extends", "must name one policy file (at most 4 deep)");
    }
    char dir[PATH_MAX], basepath[PATH_MAX * 2];
    snprintf(dir, sizeof dir, "%s", path);
    snprintf(basepath, sizeof basepath, "%s/%s", dirname(dir), ext->valuestring);
    if (ext->valuestring[0] == '/')
        snprintf(basepath, sizeof basepath, "%s", ext->valuestring);
    if (sw__load_merged(basepath, &base, depth + 1)) {
        cJSON_Delete(root);
        return sw_json_error(path, "extends", "base policy %s could not be loaded", basepath);
    }
    sw__merge(base, root);
    cJSON_Delete(root);
    *out = base;
    return 0;
}

static int sw__from_parse(const char *s, enum sw_from *out)
{
    if (!s || !strcmp(s, "opened"))
        *out = SW_FROM_OPENED;
    else if (!strcmp(s, "resolved"))
        *out = SW_FROM_RESOLVED;
    else if (!strcmp(s, "closed"))
        *out = SW_FROM_CLOSED;
    else if (!strcmp(s, "start"))
        *out = SW_FROM_START;
    else if (!strcmp(s, "end"))
        *out = SW_FROM_END;
    else
        return SW_EINVAL;
    return 0;
}

static int sw__role_ok(const char *r)
{
    return r && strlen(r) < SW_ROLE_MAX && sw_site_valid(r, strlen(r));
}

/* For ordering checks only: a working day or hour as its calendar length. */
static int64_t sw__approx_ms(const sw_duration *d)
{
    return d->ms + d->working_days * SW_MS_PER_DAY + d->working_ms;
}

static int sw__chains_parse(const char *path, sw_policy *p)
{
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(p->root, "escalations"), *c;
    char key[160];
    int i = 0;

    if (!all)
        return 0;
    if (!cJSON_IsObject(all))
        return sw_json_error(path, "escalations",
                             "must map chain names to {\"chain\", \"repeat\"}");
    p->nchains = cJSON_GetArraySize(all);
    if (!(p->chains = calloc((size_t)p->nchains, sizeof *p->chains)))
        return SW_ENOMEM;
    cJSON_ArrayForEach(c, all)
    {
        sw_chain *ch = &p->chains[i++];
        const cJSON *steps = cJSON_GetObjectItemCaseSensitive(c, "chain");
        const char *repeat = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "repeat"));
        snprintf(ch->name, sizeof ch->name, "%s", c->string);
        snprintf(key, sizeof key, "escalations.%s.chain", ch->name);
        if (!cJSON_IsArray(steps) || !cJSON_GetArraySize(steps))
            return sw_json_error(path, key, "must be a non-empty array of {\"role\", \"after\"}");
        ch->nsteps = cJSON_GetArraySize(steps);
        if (!(ch->steps = calloc((size_t)ch->nsteps, sizeof *ch->steps)))
            return SW_ENOMEM;
        for (int j = 0; j < ch->nsteps; j++) {
            const cJSON *st = cJSON_GetArrayItem(steps, j);
            const char *role = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "role"));
            const char *after = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "after"));
            snprintf(key, sizeof key, "escalations.%s.chain[%d]", ch->name, j);
            if (!sw__role_ok(role))
                return sw_json_error(path, key, "\"role\" must be 1-31 of A-Z a-z 0-9 _ -");
            snprintf(ch->steps[j].role, sizeof ch->steps[j].role, "%s", role);
            if (!after || sw_duration_parse(after, &ch->steps[j].after))
                return sw_json_error(path, key, "\"after\" must be a duration such as \"15m\"");
            if (j && sw__approx_ms(&ch->steps[j].after) < sw__approx_ms(&ch->steps[j - 1].after))
                return sw_json_error(path, key, "steps must come in order of \"after\"");
        }
        snprintf(key, sizeof key, "escalations.%s.repeat", ch->name);
        if (!repeat || sw_duration_parse(repeat, &ch->repeat) || sw__approx_ms(&ch->repeat) < 1000)
            return sw_json_error(path, key, "must be a duration of at least \"1s\"");
    }
    return 0;
}

static const sw_chain *sw__chain(const sw_policy *p, const char *name)
{
    for (int i = 0; name && i < p->nchains; i++)
        if (!strcmp(p->chains[i].name, name))
            return &p->chains[i];
    return NULL;
}

/* "escalation": NAME, when present, must name a chain. */
static int sw__chain_ref(const char *path, const sw_policy *p, const cJSON *obj, const char *key,
                         const sw_chain *def, const sw_chain **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "escalation");
    *out = def;
    if (!v)
        return 0;
    if (!cJSON_IsString(v) || !(*out = sw__chain(p, v->valuestring)))
        return sw_json_error(path, key, "\"escalation\" must name a chain under \"escalations\"");
    return 0;
}

static int sw__clock_min(const char *s, int *out)
{
    *out = sw_hhmm_parse(s, 0);
    return *out < 0 ? SW_EINVAL : 0;
}

static int sw__retention_parse(const char *path, sw_policy *p)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(p->root, "retention");
    const char *keep = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "keep"));
    const char *grace = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "review_grace"));
    const char *dedup = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "dedup"));
    p->keep_ms = 365 * SW_MS_PER_DAY;
    p->review_grace_ms = 30 * SW_MS_PER_DAY;
    p->dedup_ms = 30 * SW_MS_PER_DAY;
    if (!r)
        return 0;
    if (!cJSON_IsObject(r) || (keep && sw_duration_parse_ms(keep, &p->keep_ms)) ||
        (grace && sw_duration_parse_ms(grace, &p->review_grace_ms)) ||
        (dedup && sw_duration_parse_ms(dedup, &p->dedup_ms)) || p->dedup_ms < 60000)
        return sw_json_error(path, "retention",
                             "must be {\"keep\": DURATION, \"review_grace\": DURATION, "
                             "\"dedup\": DURATION of at least 1m} in s, m, h or d");
    return 0;
}

static int sw__quiet_parse(const char *path, sw_policy *p)
{
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(p->root, "quiet_hours");
    p->quiet_from_min = p->quiet_to_min = -1;
    if (!q)
        return 0;
    if (sw__clock_min(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "from")),
                      &p->quiet_from_min) ||
        sw__clock_min(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "to")),
                      &p->quiet_to_min) ||
        p->quiet_from_min == p->quiet_to_min)
        return sw_json_error(
            path, "quiet_hours",
            "must be {\"from\": \"HH:MM\", \"to\": \"HH:MM\"}, two different times");
    return 0;
}

static int sw__class_parse(const char *path, const sw_policy *p, const cJSON *c, sw_class *cls)
{
    char key[160];
    const cJSON *v;

    snprintf(cls->name, sizeof cls->name, "%s", c->string);
    if (strlen(c->string) >= sizeof cls->name || !*c->string)
        return sw_json_error(path, "classes", "class name '%.60s' is empty or too long", c->string);
    snprintf(key, sizeof key, "classes.%s", cls->name);
    if (!cJSON_IsObject(c))
        return sw_json_error(path, key, "must be an object");

    v = cJSON_GetObjectItemCaseSensitive(c, "label");
    snprintf(cls->label, sizeof cls->label, "%s", cJSON_IsString(v) ? v->valuestring : cls->name);

    v = cJSON_GetObjectItemCaseSensitive(c, "level");
    if (v && !(cJSON_IsNumber(v) && (v->valueint == 1 || v->valueint == 2) &&
               v->valuedouble == v->valueint)) {
        snprintf(key, sizeof key, "classes.%s.level", cls->name);
        return sw_json_error(path, key, "must be 1 or 2 (leave it out for non-emergencies)");
    }
    cls->level = v ? v->valueint : 0;

    v = cJSON_GetObjectItemCaseSensitive(c, "priority");
    if (v && !(cJSON_IsString(v) &&
               (!strcmp(v->valuestring, "urgent") || !strcmp(v->valuestring, "general")))) {
        snprintf(key, sizeof key, "classes.%s.priority", cls->name);
        return sw_json_error(path, key, "must be \"urgent\" or \"general\"");
    }
    snprintf(cls->priority, sizeof cls->priority, "%s", v ? v->valuestring : "general");

    v = cJSON_GetObjectItemCaseSensitive(c, "incident");
    if (v && !cJSON_IsBool(v)) {
        snprintf(key, sizeof key, "classes.%s.incident", cls->name);
        return sw_json_error(path, key, "must be true or false");
    }
    cls->incident = v ? cJSON_IsTrue(v) : 1;

    v = cJSON_GetObjectItemCaseSensitive(c, "resolve_on_normal");
    if (v && !cJSON_IsBool(v)) {
        snprintf(key, sizeof key, "classes.%s.resolve_on_normal", cls->name);
        return sw_json_error(path, key, "must be true or false");
    }
    cls->resolve_on_normal = cJSON_IsTrue(v);

    /* Reloads: the class's own setting, else the policy's top-level one. */
    int own = cJSON_HasObjectItem(c, "apply_to_open");
    v = cJSON_GetObjectItemCaseSensitive(own ? c : p->root, "apply_to_open");
    if (v && !cJSON_IsBool(v)) {
        if (own)
            snprintf(key, sizeof key, "classes.%s.apply_to_open", cls->name);
        else
            snprintf(key, sizeof key, "apply_to_open");
        return sw_json_error(path, key, "must be true or false");
    }
    cls->apply_to_open = cJSON_IsTrue(v);

    v = cJSON_GetObjectItemCaseSensitive(c, "notify");
    snprintf(key, sizeof key, "classes.%s.notify", cls->name);
    if (v && (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > 4))
        return sw_json_error(path, key, "must be an array of at most 4 roles");
    for (int i = 0; v && i < cJSON_GetArraySize(v); i++) {
        const char *role = cJSON_GetStringValue(cJSON_GetArrayItem(v, i));
        if (!sw__role_ok(role))
            return sw_json_error(path, key, "roles are 1-31 of A-Z a-z 0-9 _ -");
        snprintf(cls->notify[cls->nnotify++], SW_ROLE_MAX, "%s", role);
    }

    const sw_chain *chain;
    snprintf(key, sizeof key, "classes.%s", cls->name);
    if (sw__chain_ref(path, p, c, key, sw__chain(p, "default"), &chain))
        return SW_ECONFIG;

    const cJSON *obl = cJSON_GetObjectItemCaseSensitive(c, "obligations");
    const cJSON *review = cJSON_GetObjectItemCaseSensitive(c, "review");
    if (obl && !cJSON_IsArray(obl)) {
        snprintf(key, sizeof key, "classes.%s.obligations", cls->name);
        return sw_json_error(path, key, "must be an array");
    }
    cls->nobl = obl ? cJSON_GetArraySize(obl) : 0;
    cls->obl = calloc((size_t)cls->nobl + 1, sizeof *cls->obl);
    if (!cls->obl)
        return SW_ENOMEM;
    for (int i = 0; i < cls->nobl; i++) {
        const cJSON *o = cJSON_GetArrayItem(obl, i);
        sw_obl_rule *r = &cls->obl[i];
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "name"));
        const char *within = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "within"));
        const char *before = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "before"));
        const char *met_by = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "met_by"));
        const char *from = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "from"));
        const char *label = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "label"));
        const cJSON *contact = cJSON_GetObjectItemCaseSensitive(o, "contact");

        snprintf(key, sizeof key, "classes.%s.obligations[%d]", cls->name, i);
        if (!name || !*name || strlen(name) >= sizeof r->name || !strcmp(name, "review"))
            return sw_json_error(path, key,
                                 "needs a \"name\" of 1-47 characters (\"review\" is reserved)");
        snprintf(r->name, sizeof r->name, "%s", name);
        snprintf(r->label, sizeof r->label, "%s", label ? label : name);
        for (int j = 0; j < i; j++)
            if (!strcmp(cls->obl[j].name, name))
                return sw_json_error(path, key, "obligation '%s' is listed twice", name);
        /* "before": due that long ahead of its base (a planned work's start). */
        if (before && (within || sw_duration_parse(before, &r->within) || r->within.working_ms))
            return sw_json_error(path, key,
                                 "\"before\" (instead of \"within\") must be a duration such as "
                                 "\"24h\" or \"3wd\"");
        r->before = before != NULL;
        if (!before && (!within || sw_duration_parse(within, &r->within)))
            return sw_json_error(
                path, key,
                "\"within\" must be a duration such as \"5m\", \"24h\", \"8wh\" or "
                "\"3wd\" (working days)");
        if (!met_by || !sw_op_known(met_by))
            return sw_json_error(path, key, "\"met_by\" must name a command op of the contract");
        snprintf(r->met_by, sizeof r->met_by, "%s", met_by);
        if ((cJSON_GetObjectItemCaseSensitive(o, "from") && !from) ||
            sw__from_parse(from, &r->from))
            return sw_json_error(path, key,
                                 "\"from\" must be \"opened\", \"resolved\", \"closed\", "
                                 "\"start\" or \"end\"");
        if (contact && !cJSON_IsBool(contact))
            return sw_json_error(path, key, "\"contact\" must be true or false");
        r->contact = cJSON_IsTrue(contact);
        r->quiet_from = r->contact ? p->quiet_from_min : -1;
        r->quiet_to = r->contact ? p->quiet_to_min : -1;
        if (sw__chain_ref(path, p, o, key, chain, &r->chain))
            return SW_ECONFIG;
    }
    if (review) {
        sw_obl_rule *r = &cls->obl[cls->nobl];
        const char *within =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(review, "within"));
        snprintf(key, sizeof key, "classes.%s.review", cls->name);
        if (!within || sw_duration_parse(within, &r->within))
            return sw_json_error(path, key,
                                 "must be {\"within\": DURATION, \"escalation\"?: CHAIN}");
        if (sw__chain_ref(path, p, review, key, chain, &r->chain))
            return SW_ECONFIG;
        snprintf(r->name, sizeof r->name, "review");
        snprintf(r->label, sizeof r->label, "post-incident review not submitted");
        snprintf(r->met_by, sizeof r->met_by, "review");
        r->from = SW_FROM_CLOSED;
        r->quiet_from = r->quiet_to = -1;
        cls->nobl++;
        cls->has_review = 1;
    }
    return 0;
}

int sw_policy_load(sw_policy *p, const char *path)
{
    const cJSON *classes, *c, *v;
    int i = 0;

    memset(p, 0, sizeof *p);
    snprintf(p->path, sizeof p->path, "%s", path);
    if (sw__load_merged(path, &p->root, 0))
        return SW_ECONFIG;
    v = cJSON_GetObjectItemCaseSensitive(p->root, "name");
    snprintf(p->name, sizeof p->name, "%s", cJSON_IsString(v) ? v->valuestring : "unnamed");

    classes = cJSON_GetObjectItemCaseSensitive(p->root, "classes");
    if (!cJSON_IsObject(classes) || !classes->child) {
        sw_policy_free(p);
        return sw_json_error(path, "classes", "must be an object with at least one class");
    }
    p->nclasses = cJSON_GetArraySize(classes);
    p->classes = calloc((size_t)p->nclasses, sizeof *p->classes);
    if (!p->classes) {
        sw_policy_free(p);
        return SW_ENOMEM;
    }
    if (sw__chains_parse(path, p) || sw__quiet_parse(path, p) || sw__retention_parse(path, p)) {
        sw_policy_free(p);
        return SW_ECONFIG;
    }
    cJSON_ArrayForEach(c, classes)
    {
        if (sw__class_parse(path, p, c, &p->classes[i++])) {
            sw_policy_free(p);
            return SW_ECONFIG;
        }
    }
    if (sw_expect_policy_parse(path, p) || sw_plan_policy_load(p)) {
        sw_policy_free(p);
        return SW_ECONFIG;
    }
    return 0;
}

void sw_policy_free(sw_policy *p)
{
    sw_plan_policy_free(p);
    for (int i = 0; i < p->nclasses; i++)
        free(p->classes[i].obl);
    free(p->classes);
    for (int i = 0; i < p->nchains; i++)
        free(p->chains[i].steps);
    free(p->chains);
    sw_expect_policy_free(p);
    cJSON_Delete(p->root);
    p->chains = NULL;
    p->nchains = 0;
    p->classes = NULL;
    p->root = NULL;
    p->nclasses = 0;
}

const sw_obl_rule *sw_class_rule(const sw_class *cls, const char *name)
{
    for (int i = 0; cls && i < cls->nobl; i++)
        if (!strcmp(cls->obl[i].name, name))
            return &cls->obl[i];
    return NULL;
}

const sw_class *sw_policy_class(const sw_policy *p, const char *name)
{
    for (int i = 0; i < p->nclasses; i++)
        if (!strcmp(p->classes[i].name, name))
            return &p->classes[i];
    return NULL;
}
