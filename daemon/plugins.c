#include "plugins.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <limits.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "timeutil.h"
#include "topic.h"

#define SW__MAX_CBS 16

typedef struct sw__cb {
    sw_msg_cb fn;
    void *userdata;
} sw__cb;

struct sw_plugin_ctx {
    char name[64];
    const char *cfg_path; /* the config file that named the plugin */
    int index;            /* its place in "plugins" */
    char path[PATH_MAX];
    void *dl;
    void *userdata;
    void (*cleanup)(void *);
    const cJSON *config;
    const sw_policy *policy;
    const sw_config *host_cfg;
    sw_plugins *host;
};

struct sw_plugins {
    sw_plugin_ctx *ctx;
    int n;
    sw__cb cbs[SW_HOOK_MAX][SW__MAX_CBS];
    int ncbs[SW_HOOK_MAX];
};

static const int sw__abi_offered[] = {SW_PLUGIN_ABI_V1};

static int sw__callback_register(sw_plugin_ctx *ctx, enum sw_hook hook, sw_msg_cb cb,
                                 void *userdata)
{
    sw_plugins *pl = ctx->host;
    if (hook <= 0 || hook >= SW_HOOK_MAX || !cb)
        return SW_EINVAL;
    if (pl->ncbs[hook] >= SW__MAX_CBS)
        return SW_ENOMEM;
    pl->cbs[hook][pl->ncbs[hook]++] = (sw__cb){cb, userdata};
    return 0;
}

static int sw__conf_set(sw_plugin_ctx *ctx, const sw_conf_entry *e, const cJSON *v,
                        const char *text, void *out)
{
    char *dst = (char *)out + e->offset;
    int64_t n;

    switch (e->type) {
    case SW_CONF_BOOL:
        if (v ? !cJSON_IsBool(v) : (strcmp(text, "true") && strcmp(text, "false")))
            goto bad;
        *(int *)dst = v ? cJSON_IsTrue(v) : !strcmp(text, "true");
        return 0;
    case SW_CONF_INT:
        if (v) {
            if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int64_t)v->valuedouble)
                goto bad;
            n = (int64_t)v->valuedouble;
        } else {
            n = strtoll(text, NULL, 10);
        }
        *(int64_t *)dst = n;
        return 0;
    case SW_CONF_STRING:
        if (v && !cJSON_IsString(v))
            goto bad;
        if (strlen(v ? v->valuestring : text) >= SW_CONF_STR_MAX)
            goto bad;
        snprintf(dst, SW_CONF_STR_MAX, "%s", v ? v->valuestring : text);
        return 0;
    case SW_CONF_DURATION:
        if ((v && !cJSON_IsString(v)) || sw_duration_parse_ms(v ? v->valuestring : text, &n))
            goto bad;
        *(int64_t *)dst = n;
        return 0;
    default:
        break;
    }
bad:
    sw_log(SW_LOG_ERR, "%s: key 'plugins[%d].config.%s': %s %s (plugin %s)", ctx->cfg_path,
           ctx->index, e->key,
           e->type == SW_CONF_DURATION ? "must be a duration such as \"30s\" or \"5m\":"
           : e->type == SW_CONF_BOOL   ? "must be true or false:"
           : e->type == SW_CONF_INT    ? "must be an integer:"
                                       : "must be a string shorter than 128 characters:",
           e->help ? e->help : "", ctx->name);
    return SW_EINVAL;
}

static int sw__config_parse(sw_plugin_ctx *ctx, const sw_conf_entry *table, void *out)
{
    const cJSON *it;
    /* Unknown keys are errors: a misspelt key must not silently keep a default. */
    cJSON_ArrayForEach(it, ctx->config)
    {
        const sw_conf_entry *e = table;
        while (e->key && strcmp(e->key, it->string))
            e++;
        if (!e->key && it->string[0] != '_') {
            sw_log(SW_LOG_ERR, "%s: key 'plugins[%d].config.%s': unknown key (plugin %s)",
                   ctx->cfg_path, ctx->index, it->string, ctx->name);
            return SW_EINVAL;
        }
    }
    for (const sw_conf_entry *e = table; e->key; e++) {
        const cJSON *v = ctx->config ? cJSON_GetObjectItemCaseSensitive(ctx->config, e->key) : NULL;
        if (sw__conf_set(ctx, e, v, e->def ? e->def : "", out))
            return SW_EINVAL;
    }
    return 0;
}

static const cJSON *sw__policy_section(sw_plugin_ctx *ctx, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(ctx->policy->root, name);
}

static int sw__policy_error(sw_plugin_ctx *ctx, const char *key, const char *why)
{
    sw_log(SW_LOG_ERR, "%s: key '%s': %s (plugin %s)", ctx->policy->path, key, why, ctx->name);
    return SW_EINVAL;
}

int sw_msg_reject(sw_msg *msg, const char *code, const char *fmt, ...)
{
    va_list ap;
    snprintf(msg->error_code, sizeof msg->error_code, "%s", code);
    va_start(ap, fmt);
    vsnprintf(msg->error_reason, sizeof msg->error_reason, fmt, ap);
    va_end(ap);
    return SW_EREJECTED;
}

static void sw__plugin_log(sw_plugin_ctx *ctx, int level, const char *fmt, ...)
{
    char prefix[80];
    va_list ap;
    snprintf(prefix, sizeof prefix, "plugin %s", ctx->name);
    va_start(ap, fmt);
    sw_log_v(level, prefix, fmt, ap);
    va_end(ap);
}

static const cJSON *sw__config_section(sw_plugin_ctx *ctx, const char *name)
{
    if (!strcmp(name, "foreign"))
        return ctx->host_cfg->foreign_doc;
    return NULL;
}

static const char *sw__config_path(sw_plugin_ctx *ctx)
{
    return ctx->cfg_path;
}

static int sw__id_valid(const char *s)
{
    return sw_id_valid(s, strlen(s));
}

static const sw_host_api sw__api = {
    .abi_version = SW_PLUGIN_ABI_V1,
    .size = sizeof(sw_host_api),
    .callback_register = sw__callback_register,
    .config_parse = sw__config_parse,
    .policy_section = sw__policy_section,
    .duration_parse = sw_duration_parse_ms,
    .time_parse = sw_time_parse,
    .id_valid = sw__id_valid,
    .policy_error = sw__policy_error,
    .msg_reject = sw_msg_reject,
    .log = sw__plugin_log,
    .config_section = sw__config_section,
    .config_path = sw__config_path,
};

const sw_host_api *sw_host_api_get(void)
{
    return &sw__api;
}

static void sw__default_dir(char *out, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(out, len, "%s", SW_PLUGIN_RELDIR);
        return;
    }
    exe[n] = 0;
    snprintf(out, len, "%s/%s", dirname(exe), SW_PLUGIN_RELDIR);
}

static int sw__load_one(sw_plugins *pl, sw_plugin_ctx *ctx, const sw_plugin_conf *pc,
                        const char *dir)
{
    int (*version)(int, const int *);
    int (*init)(sw_plugin_ctx *, const sw_host_api *, void **);

    snprintf(ctx->name, sizeof ctx->name, "%s", pc->name);
    int n = pc->path[0] ? snprintf(ctx->path, sizeof ctx->path, "%s", pc->path)
                        : snprintf(ctx->path, sizeof ctx->path, "%s/%s.so", dir, pc->name);
    if (n < 0 || (size_t)n >= sizeof ctx->path) {
        sw_log(SW_LOG_ERR, "%s: key 'plugins[%d]': the path of plugin %s is too long",
               ctx->cfg_path, ctx->index, pc->name);
        return SW_ECONFIG;
    }
    ctx->config = pc->config;
    ctx->host = pl;

    ctx->dl = dlopen(ctx->path, RTLD_NOW | RTLD_LOCAL);
    if (!ctx->dl) {
        sw_log(SW_LOG_ERR, "%s: key 'plugins[%d]': plugin %s cannot be loaded: %s", ctx->cfg_path,
               ctx->index, ctx->name, dlerror());
        return SW_ECONFIG;
    }
    *(void **)&version = dlsym(ctx->dl, "sw_plugin_version");
    *(void **)&init = dlsym(ctx->dl, "sw_plugin_init");
    *(void **)&ctx->cleanup = dlsym(ctx->dl, "sw_plugin_cleanup");
    if (!version || !init || !ctx->cleanup) {
        sw_log(SW_LOG_ERR,
               "plugin %s: %s is not a siteward plugin (needs sw_plugin_version, "
               "sw_plugin_init and sw_plugin_cleanup)",
               ctx->name, ctx->path);
        return SW_ECONFIG;
    }
    n = (int)(sizeof sw__abi_offered / sizeof *sw__abi_offered);
    int chosen = version(n, sw__abi_offered), ok = 0;
    char offered[64];
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        ok |= chosen == sw__abi_offered[i];
        if (off < sizeof offered)
            off += (size_t)snprintf(offered + off, sizeof offered - off, "%s%d", i ? ", " : "",
                                    sw__abi_offered[i]);
    }
    if (!ok) {
        if (chosen < 0)
            sw_log(SW_LOG_ERR,
                   "%s: key 'plugins[%d]': plugin %s (%s) supports none of the plugin ABI "
                   "versions this siteward offers (%s)",
                   ctx->cfg_path, ctx->index, ctx->name, ctx->path, offered);
        else
            sw_log(SW_LOG_ERR,
                   "%s: key 'plugins[%d]': plugin %s (%s) was built for plugin ABI version %d; "
                   "this siteward offers %s",
                   ctx->cfg_path, ctx->index, ctx->name, ctx->path, chosen, offered);
        return SW_ECONFIG;
    }
    int rc = init(ctx, &sw__api, &ctx->userdata);
    if (rc) {
        ctx->cleanup = NULL; /* a failed init leaves nothing to clean up */
        sw_log(SW_LOG_ERR, "plugin %s: initialisation failed: %s", ctx->name, sw_strerror(rc));
        return SW_ECONFIG;
    }
    sw_log(SW_LOG_INFO, "plugin %s: loaded %s (ABI %d)", ctx->name, ctx->path, chosen);
    return 0;
}

int sw_plugins_load(sw_plugins **out, const sw_config *cfg, const sw_policy *policy)
{
    char dir[PATH_MAX];
    sw_plugins *pl = calloc(1, sizeof *pl);

    *out = NULL;
    if (!pl || !(pl->ctx = calloc((size_t)cfg->nplugins, sizeof *pl->ctx))) {
        free(pl);
        return SW_ENOMEM;
    }
    if (cfg->plugin_dir[0])
        snprintf(dir, sizeof dir, "%s", cfg->plugin_dir);
    else
        sw__default_dir(dir, sizeof dir);
    for (int i = 0; i < cfg->nplugins; i++) {
        pl->ctx[i].policy = policy;
        pl->ctx[i].host_cfg = cfg;
        pl->ctx[i].cfg_path = cfg->path;
        pl->ctx[i].index = i;
        pl->n = i + 1;
        if (sw__load_one(pl, &pl->ctx[i], &cfg->plugins[i], dir)) {
            sw_plugins_unload(pl);
            return SW_ECONFIG;
        }
    }
    *out = pl;
    return 0;
}

void sw_plugins_unload(sw_plugins *pl)
{
    if (!pl)
        return;
    for (int i = pl->n - 1; i >= 0; i--) {
        if (pl->ctx[i].cleanup)
            pl->ctx[i].cleanup(pl->ctx[i].userdata);
        if (pl->ctx[i].dl)
            dlclose(pl->ctx[i].dl);
    }
    free(pl->ctx);
    free(pl);
}

int sw_plugins_run(sw_plugins *pl, enum sw_hook hook, sw_msg *msg)
{
    for (int i = 0; i < pl->ncbs[hook]; i++) {
        int rc = pl->cbs[hook][i].fn(pl->cbs[hook][i].userdata, msg);
        if (rc)
            return rc;
    }
    return 0;
}

int sw_plugins_has(const sw_plugins *pl, enum sw_hook hook)
{
    return pl->ncbs[hook] > 0;
}

void sw_plugins_incident(sw_plugins *pl, const cJSON *incident)
{
    for (int i = 0; i < pl->ncbs[SW_HOOK_INCIDENT]; i++)
        ((sw_incident_cb)(void *)pl->cbs[SW_HOOK_INCIDENT][i].fn)(
            pl->cbs[SW_HOOK_INCIDENT][i].userdata, incident);
}
