#include "mock_host.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins.h"
#include "timeutil.h"
#include "topic.h"

/* The opaque context is the mock itself. */
struct sw_plugin_ctx {
    mock_host h;
};

static int m_register(sw_plugin_ctx *ctx, enum sw_hook hook, sw_msg_cb cb, void *ud)
{
    ctx->h.cb[hook] = cb;
    ctx->h.cb_ud[hook] = ud;
    return 0;
}

static int m_config(sw_plugin_ctx *ctx, const sw_conf_entry *table, void *out)
{
    for (const sw_conf_entry *e = table; e->key; e++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(ctx->h.config, e->key);
        char *dst = (char *)out + e->offset;
        if (e->type == SW_CONF_INT)
            *(int64_t *)dst = v ? (int64_t)v->valuedouble : strtoll(e->def, NULL, 10);
    }
    return 0;
}

static const cJSON *m_section(sw_plugin_ctx *ctx, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(ctx->h.policy, name);
}

static int m_policy_error(sw_plugin_ctx *ctx, const char *key, const char *why)
{
    (void)key;
    (void)why;
    ctx->h.policy_errors++;
    return SW_EINVAL;
}

static void m_log(sw_plugin_ctx *ctx, int level, const char *fmt, ...)
{
    (void)ctx;
    (void)level;
    (void)fmt;
}

static const cJSON *m_config_section(sw_plugin_ctx *ctx, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(ctx->h.daemon, name);
}

static const char *m_config_path(sw_plugin_ctx *ctx)
{
    (void)ctx;
    return "siteward.json";
}

static int m_id_valid(const char *s)
{
    return sw_id_valid(s, strlen(s));
}

static const sw_host_api m_api = {
    .abi_version = SW_PLUGIN_ABI_V1,
    .size = sizeof(sw_host_api),
    .callback_register = m_register,
    .config_parse = m_config,
    .policy_section = m_section,
    .duration_parse = sw_duration_parse_ms,
    .time_parse = sw_time_parse,
    .id_valid = m_id_valid,
    .policy_error = m_policy_error,
    .msg_reject = sw_msg_reject,
    .log = m_log,
    .config_section = m_config_section,
    .config_path = m_config_path,
};

const sw_host_api *mock_api(void)
{
    return &m_api;
}

static sw_plugin_ctx m_ctx;

int mock_load(mock_host *h, const char *policy_json, const char *config_json)
{
    return mock_load_daemon(h, policy_json, config_json, NULL);
}

int mock_load_daemon(mock_host *h, const char *policy_json, const char *config_json,
                     const char *daemon_json)
{
    int offered = SW_PLUGIN_ABI_V1;
    memset(&m_ctx, 0, sizeof m_ctx);
    m_ctx.h.daemon = daemon_json ? cJSON_Parse(daemon_json) : NULL;
    m_ctx.h.policy = cJSON_Parse(policy_json ? policy_json : "{}");
    m_ctx.h.config = config_json ? cJSON_Parse(config_json) : NULL;
    if (sw_plugin_version(1, &offered) != SW_PLUGIN_ABI_V1)
        return SW_EVERSION;
    int rc = sw_plugin_init(&m_ctx, &m_api, &m_ctx.h.userdata);
    *h = m_ctx.h;
    return rc;
}

void mock_unload(mock_host *h)
{
    if (h->userdata)
        sw_plugin_cleanup(h->userdata);
    cJSON_Delete(h->policy);
    cJSON_Delete(h->config);
    cJSON_Delete(h->daemon);
    memset(h, 0, sizeof *h);
}

void mock_msg(sw_msg *m, enum sw_msg_kind kind, const char *site, const char *source,
              const char *device_or_user, const char *payload)
{
    memset(m, 0, sizeof *m);
    m->size = sizeof *m;
    m->kind = kind;
    m->site = site;
    m->source = source;
    if (kind == SW_MSG_EVENT)
        m->device = device_or_user;
    else
        m->user = device_or_user;
    m->payload = payload;
    m->payload_len = payload ? strlen(payload) : 0;
    m->received_ms = 1795000000000LL;
}

int mock_run(mock_host *h, enum sw_hook hook, sw_msg *m)
{
    return h->cb[hook] ? h->cb[hook](h->cb_ud[hook], m) : SW_ENOENT;
}
