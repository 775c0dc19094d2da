#include "shard.h"

#include "foreign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topic.h"

uint32_t sw_shard_hash(const char *site, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)site[i];
        h *= 16777619u;
    }
    return h;
}

int sw_shard_owns(const sw_config *cfg, const char *site, size_t len)
{
    const sw_shard_conf *sh = &cfg->shard;
    switch (sh->mode) {
    case SW_SHARD_SITES:
        for (int i = 0; i < sh->nsites; i++)
            if (strlen(sh->sites[i]) == len && !memcmp(sh->sites[i], site, len))
                return 1;
        return 0;
    case SW_SHARD_HASH:
        return sw_shard_hash(site, len) % sh->count == sh->index;
    default:
        return 1;
    }
}

int sw_shard_takes(const sw_config *cfg, const char *topic, size_t len)
{
    size_t plen = strlen(cfg->prefix);
    const char *site = topic + plen + 1, *slash;

    if (len > plen && !memcmp(topic, cfg->prefix, plen) && topic[plen] == '/' &&
        (slash = memchr(site, '/', len - plen - 1)) && sw_site_valid(site, (size_t)(slash - site)))
        return sw_shard_owns(cfg, site, (size_t)(slash - site));
    /* A foreign device's topic belongs to its mapping's site (the first
     * entry that matches, as the decoder picks it). */
    for (int i = 0; i < cfg->nforeign; i++)
        if (sw_topic_filter_match(cfg->foreign[i].filter, topic, len))
            return sw_shard_owns(cfg, cfg->foreign[i].site, strlen(cfg->foreign[i].site));
    /* No site to own it by: one instance dead-letters it. */
    return cfg->shard.mode == SW_SHARD_NONE ||
           (cfg->shard.mode == SW_SHARD_HASH && cfg->shard.index == 0);
}

static const char *const sw__kinds[3] = {"event/+/+", "report/+", "cmd/+"};

static int sw__add(char **list, int *n, const char *prefix, const char *site, const char *kind)
{
    size_t len = strlen(prefix) + strlen(site) + strlen(kind) + 3;
    if (!(list[*n] = malloc(len)))
        return SW_ENOMEM;
    snprintf(list[(*n)++], len, "%s/%s/%s", prefix, site, kind);
    return 0;
}

int sw_shard_any(const sw_config *cfg)
{
    const sw_shard_conf *sh = &cfg->shard;
    int any = sh->mode == SW_SHARD_NONE;
    /* A hash shard names its sites only when the config lists them all. */
    if (sh->mode == SW_SHARD_HASH)
        for (int i = 0; i < cfg->nsites && !any; i++)
            any = !strcmp(cfg->sites[i].name, "*");
    return any;
}

static int sw__filters(const sw_config *cfg, int any, char ***out, int *n)
{
    const sw_shard_conf *sh = &cfg->shard;
    int max = 3, rc = 0;
    char **list;

    if (!any)
        max = 3 * (sh->mode == SW_SHARD_SITES ? sh->nsites : cfg->nsites);
    *out = NULL;
    *n = 0;
    if (!(list = calloc((size_t)(max ? max : 1), sizeof *list)))
        return SW_ENOMEM;
    /* A site's three filters side by side, so they share a SUBSCRIBE. */
    if (any) {
        for (int k = 0; k < 3 && !rc; k++)
            rc = sw__add(list, n, cfg->prefix, "+", sw__kinds[k]);
    } else if (sh->mode == SW_SHARD_SITES) {
        for (int i = 0; i < sh->nsites; i++)
            for (int k = 0; k < 3 && !rc; k++)
                rc = sw__add(list, n, cfg->prefix, sh->sites[i], sw__kinds[k]);
    } else {
        for (int i = 0; i < cfg->nsites; i++) {
            const char *s = cfg->sites[i].name;
            for (int k = 0; k < 3 && !rc && sw_shard_owns(cfg, s, strlen(s)); k++)
                rc = sw__add(list, n, cfg->prefix, s, sw__kinds[k]);
        }
    }
    if (rc) {
        while (*n)
            free(list[--*n]);
        free(list);
        return rc;
    }
    *out = list;
    return 0;
}

int sw_shard_filters(const sw_config *cfg, char ***out, int *n)
{
    return sw__filters(cfg, sw_shard_any(cfg), out, n);
}

int sw_shard_stale(const sw_config *cfg, char ***out, int *n)
{
    if (sw_shard_any(cfg)) {
        *out = NULL;
        *n = 0;
        return 0;
    }
    return sw__filters(cfg, 1, out, n);
}
