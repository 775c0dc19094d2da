#include "foreign.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "jsonfile.h"
#include "shard.h"
#include "topic.h"

int sw_topic_filter_match(const char *f, const char *t, size_t len)
{
    const char *end = t + len;
    for (;;) {
        const char *fs = strchr(f, '/'), *ts = memchr(t, '/', (size_t)(end - t));
        size_t fl = fs ? (size_t)(fs - f) : strlen(f);
        size_t tl = ts ? (size_t)(ts - t) : (size_t)(end - t);
        if (fl == 1 && f[0] == '#')
            return 1;
        if (!(fl == 1 && f[0] == '+') && (fl != tl || memcmp(f, t, fl)))
            return 0;
        if (!ts) /* "a/#" also matches "a" (MQTT 5, 4.7.1.2) */
            return !fs || !strcmp(fs + 1, "#");
        if (!fs)
            return 0;
        f = fs + 1;
        t = ts + 1;
    }
}

/* '+' and '#' only as whole levels, '#' last. Returns the number of
 * levels, or -1. */
static int sw__filter_levels(const char *f)
{
    int n = 1;
    size_t len = strlen(f);
    if (!len || len >= 256)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (f[i] == '/')
            n++;
        else if ((f[i] == '+' || f[i] == '#') &&
                 ((i && f[i - 1] != '/') || (i + 1 < len && f[i + 1] != '/') ||
                  (f[i] == '#' && i + 1 != len)))
            return -1;
    }
    return n;
}

static int sw__level_is_plus(const char *f, int level)
{
    for (int i = 0; i < level && f; i++)
        if ((f = strchr(f, '/')))
            f++;
    return f && f[0] == '+' && (f[1] == '/' || !f[1]);
}

/* The entry completed from its "mapping" file. */
static cJSON *sw__complete(const char *cfgpath, const cJSON *entry, const char *key)
{
    const char *file = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "mapping"));
    cJSON *doc = NULL;
    if (!cJSON_IsObject(entry)) {
        sw_json_error(cfgpath, key, "must be an object {\"mapping\"?, \"topic\", \"site\", ...}");
        return NULL;
    }
    if (cJSON_GetObjectItemCaseSensitive(entry, "mapping") && !file) {
        sw_json_error(cfgpath, key, "\"mapping\" must name a file");
        return NULL;
    }
    if (file) {
        char dir[PATH_MAX], path[PATH_MAX * 2];
        snprintf(dir, sizeof dir, "%s", cfgpath);
        if (file[0] == '/')
            snprintf(path, sizeof path, "%s", file);
        else
            snprintf(path, sizeof path, "%s/%s", dirname(dir), file);
        if (sw_json_load(path, &doc))
            return NULL;
        if (!cJSON_IsObject(doc)) {
            sw_json_error(path, "(top)", "a mapping file holds one JSON object");
            cJSON_Delete(doc);
            return NULL;
        }
    } else if (!(doc = cJSON_CreateObject())) {
        return NULL;
    }
    for (const cJSON *it = entry->child; it; it = it->next) {
        if (!strcmp(it->string, "mapping"))
            continue;
        char name[128];
        snprintf(name, sizeof name, "%s", it->string);
        cJSON_DeleteItemFromObjectCaseSensitive(doc, name);
        cJSON_AddItemToObject(doc, name, cJSON_Duplicate(it, 1));
    }
    return doc;
}

static int sw__check(const sw_config *cfg, const cJSON *m, const char *key, sw_foreign *f)
{
    static const char *const known[] = {"topic", "site",      "source",  "device",
                                        "rules", "otherwise", "devices", NULL};
    static const char *const sources[] = {"sensor", "gate", "patrol", "system", NULL};
    const char *path = cfg->path;
    char k[160];
    const char *topic = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "topic"));
    const char *site = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "site"));
    const char *source = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "source"));
    const char *device = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "device"));
    size_t plen = strlen(cfg->prefix);
    int levels;

    for (const cJSON *it = m->child; it; it = it->next) {
        int ok = it->string[0] == '_';
        for (int i = 0; known[i] && !ok; i++)
            ok = !strcmp(it->string, known[i]);
        if (!ok) {
            snprintf(k, sizeof k, "%s.%.60s", key, it->string);
            return sw_json_error(path, k,
                                 "unknown key (mapping, topic, site, source, device, rules, "
                                 "otherwise, devices)");
        }
    }
    snprintf(k, sizeof k, "%s.topic", key);
    if (!topic || (levels = sw__filter_levels(topic)) < 0)
        return sw_json_error(path, k, "must be an MQTT topic filter ('+' and '#' as whole levels)");
    if ((!strncmp(topic, cfg->prefix, plen) && (topic[plen] == '/' || !topic[plen])) ||
        topic[0] == '+' || topic[0] == '#')
        return sw_json_error(path, k, "must not overlap the prefix '%s' of the contract's topics",
                             cfg->prefix);
    snprintf(f->filter, sizeof f->filter, "%s", topic);
    snprintf(k, sizeof k, "%s.site", key);
    if (!site || !sw_site_valid(site, strlen(site)))
        return sw_json_error(path, k, "must be a site id (1-64 of A-Z a-z 0-9 _ -)");
    snprintf(f->site, sizeof f->site, "%s", site);
    snprintf(k, sizeof k, "%s.source", key);
    int si = 0;
    while (source && sources[si] && strcmp(source, sources[si]))
        si++;
    if (cJSON_GetObjectItemCaseSensitive(m, "source") && (!source || !sources[si]))
        return sw_json_error(path, k, "must be sensor, gate, patrol or system");
    snprintf(f->source, sizeof f->source, "%s", source ? source : "sensor");
    snprintf(k, sizeof k, "%s.device", key);
    char *end = NULL;
    if (device && !strncmp(device, "topic:", 6)) {
        long n = strtol(device + 6, &end, 10);
        if (end == device + 6 || *end || n < 0 || n >= levels || !sw__level_is_plus(topic, (int)n))
            return sw_json_error(path, k,
                                 "\"topic:N\" must name a '+' level of the topic (0-based)");
        f->device_level = (int)n;
    } else if (device && !strncmp(device, "field:", 6) && device[6]) {
        f->device_level = -1;
    } else {
        return sw_json_error(path, k, "must be \"topic:N\" or \"field:NAME\"");
    }
    f->mapping = m;
    return 0;
}

int sw_foreign_load(sw_config *cfg, const cJSON *arr)
{
    char key[48];
    int i = 0;
    const cJSON *it;

    if (!arr)
        return 0;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > 60)
        return sw_json_error(cfg->path, "foreign", "must be an array of at most 60 mappings");
    if (!(cfg->foreign_doc = cJSON_CreateArray()) ||
        !(cfg->foreign = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *cfg->foreign)))
        return SW_ECONFIG;
    cJSON_ArrayForEach(it, arr)
    {
        snprintf(key, sizeof key, "foreign[%d]", i);
        cJSON *m = sw__complete(cfg->path, it, key);
        if (!m)
            return SW_ECONFIG;
        cJSON_AddItemToArray(cfg->foreign_doc, m);
        if (sw__check(cfg, m, key, &cfg->foreign[i]))
            return SW_ECONFIG;
        cfg->nforeign = ++i;
    }
    return 0;
}

void sw_foreign_free(sw_config *cfg)
{
    cJSON_Delete(cfg->foreign_doc);
    free(cfg->foreign);
    cfg->foreign_doc = NULL;
    cfg->foreign = NULL;
    cfg->nforeign = 0;
}

int sw_foreign_subscriptions(const sw_config *cfg, char ***subs, int *nsubs)
{
    for (int i = 0; i < cfg->nforeign; i++) {
        int dup = 0;
        /* Only the instance that owns the mapping's site listens. */
        if (!sw_shard_owns(cfg, cfg->foreign[i].site, strlen(cfg->foreign[i].site)))
            continue;
        for (int j = 0; j < *nsubs; j++)
            dup |= !strcmp((*subs)[j], cfg->foreign[i].filter);
        if (dup)
            continue;
        char **grown = realloc(*subs, (size_t)(*nsubs + 1) * sizeof **subs);
        if (!grown)
            return SW_ENOMEM;
        *subs = grown;
        if (!(grown[*nsubs] = strdup(cfg->foreign[i].filter)))
            return SW_ENOMEM;
        (*nsubs)++;
    }
    return 0;
}

int sw_foreign_match(const sw_config *cfg, const char *topic, size_t len, sw_topic *t,
                     const sw_foreign **out, const char **code)
{
    for (int i = 0; i < cfg->nforeign; i++) {
        const sw_foreign *f = &cfg->foreign[i];
        if (!sw_topic_filter_match(f->filter, topic, len))
            continue;
        memset(t, 0, sizeof *t);
        t->kind = SW_MSG_EVENT;
        snprintf(t->site, sizeof t->site, "%s", f->site);
        snprintf(t->source, sizeof t->source, "%s", f->source);
        *out = f;
        if (f->device_level < 0)
            return 0;
        const char *p = topic, *end = topic + len;
        for (int l = 0; l < f->device_level; l++)
            p = memchr(p, '/', (size_t)(end - p)) + 1;
        const char *slash = memchr(p, '/', (size_t)(end - p));
        size_t n = slash ? (size_t)(slash - p) : (size_t)(end - p);
        if (!sw_id_valid(p, n)) {
            *code = "bad_id";
            return SW_EINVAL;
        }
        memcpy(t->device, p, n);
        t->device[n] = 0;
        return 0;
    }
    return SW_ENOENT;
}
