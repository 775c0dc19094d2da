/*
 * sms: an example siteward notifier plugin, built outside the siteward tree
 * against the installed SDK (pkg-config siteward) and loaded by config:
 *
 *   "plugins": [..., {"name": "sms", "path": "/usr/local/lib/siteward/sms.so",
 *                     "config": {"spool": "/var/spool/siteward-sms"}}]
 *
 * It registers the incident hook and, for emergencies, writes the text
 * messages an SMS gateway would send into a spool directory, one file per
 * message, the way gateways such as smstools pick up outgoing messages:
 * when an incident opens (to the role `on_open`) and each time its
 * escalation (step and role) changes (to the role escalated to). A message
 * names a role, never a telephone number or a person: the gateway maps
 * roles to the numbers on duty, so no personal data passes through here.
 *
 * The incident hook shows an incident's current escalation, not every
 * escalation message: a reminder repeated to the same role at the same step
 * is not sent again (a gateway that must relay every one subscribes to
 * P/{site}/escalation/+ instead). What was sent is remembered in memory only,
 * for the last SMS_REMEMBER incidents: after a restart, an incident still
 * open with a single event that changes again is announced again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <siteward/plugin.h>

/* The ABI this plugin is built for. Building it with -DSMS_ABI=99 shows how
 * a host that does not offer the version refuses the plugin. */
#ifndef SMS_ABI
#define SMS_ABI SW_PLUGIN_ABI_CURRENT
#endif

#define SMS_REMEMBER 256

typedef struct sms_conf {
    char spool[SW_CONF_STR_MAX];
    char on_open[SW_CONF_STR_MAX];
    int escalations;
    int64_t max_level;
    int64_t max_length;
} sms_conf;

static const sw_conf_entry sms_conf_table[] = {
    {"spool", SW_CONF_STRING, "", offsetof(sms_conf, spool),
     "the spool directory the SMS gateway reads (required)"},
    {"on_open", SW_CONF_STRING, "manager", offsetof(sms_conf, on_open),
     "the role told when an emergency opens (\"\" for none)"},
    {"escalations", SW_CONF_BOOL, "true", offsetof(sms_conf, escalations),
     "one message per escalation step, to the role escalated to"},
    {"max_level", SW_CONF_INT, "1", offsetof(sms_conf, max_level),
     "1: Level I emergencies only; 2: Level I and II"},
    {"max_length", SW_CONF_INT, "160", offsetof(sms_conf, max_length),
     "longest text in bytes (160: one SMS)"},
    {NULL, SW_CONF_END, NULL, 0, NULL},
};

typedef struct sms_seen {
    char id[SW_ID_MAX + 1];
    int esc_level;     /* the escalation step last sent */
    char esc_role[64]; /* and its role */
} sms_seen;

typedef struct sms {
    sw_plugin_ctx *ctx;
    const sw_host_api *api;
    sms_conf conf;
    sms_seen seen[SMS_REMEMBER];
    int next; /* the slot reused next, round robin */
    unsigned long seq;
} sms;

static sms_seen *sms_find(sms *s, const char *id)
{
    for (int i = 0; i < SMS_REMEMBER; i++)
        if (!strcmp(s->seen[i].id, id))
            return &s->seen[i];
    return NULL;
}

/* An integer of the incident: the host writes integers as cJSON raw items
 * (exact 64-bit text), so both forms are read. Returns 0 when absent. */
static int sms_int(const cJSON *item)
{
    if (cJSON_IsNumber(item))
        return item->valueint;
    if (cJSON_IsRaw(item) && item->valuestring)
        return (int)strtol(item->valuestring, NULL, 10);
    return 0;
}

/* Cut `text` to at most `max` bytes without splitting a UTF-8 sequence. */
static void sms_cut(char *text, size_t max)
{
    size_t n = strlen(text);
    if (n <= max)
        return;
    n = max;
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--;
    text[n] = 0;
}

/* One message, written under a hidden name and renamed, so the gateway
 * never reads half a file. */
static void sms_spool(sms *s, const char *kind, const char *role, const cJSON *inc, int level,
                      const char *text)
{
    char tmp[SW_CONF_STR_MAX + 64], path[SW_CONF_STR_MAX + 64];
    struct timespec ts;
    cJSON *o = cJSON_CreateObject();
    char *body;
    FILE *f;

    clock_gettime(CLOCK_REALTIME, &ts);
    s->seq++;
    snprintf(tmp, sizeof tmp, "%s/.sms-%ld-%lu", s->conf.spool, (long)getpid(), s->seq);
    snprintf(path, sizeof path, "%s/%lld%03ld-%ld-%lu.sms", s->conf.spool, (long long)ts.tv_sec,
             ts.tv_nsec / 1000000, (long)getpid(), s->seq);
    if (!o)
        goto fail;
    cJSON_AddStringToObject(o, "kind", kind);
    cJSON_AddStringToObject(o, "role", role);
    cJSON_AddStringToObject(o, "site",
                            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(inc, "site")));
    cJSON_AddStringToObject(o, "incident",
                            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(inc, "id")));
    cJSON_AddNumberToObject(o, "level", level);
    cJSON_AddStringToObject(o, "text", text);
    if (!(body = cJSON_PrintUnformatted(o)))
        goto fail;
    cJSON_Delete(o);
    o = NULL;
    f = fopen(tmp, "w");
    int ok = f && fprintf(f, "%s\n", body) >= 0;
    int err = errno;
    if (f && fclose(f) && ok) {
        ok = 0;
        err = errno;
    }
    if (ok && rename(tmp, path)) {
        ok = 0;
        err = errno;
    }
    if (!ok) {
        if (f)
            unlink(tmp);
        cJSON_free(body);
        s->api->log(s->ctx, SW_LOG_WARNING, "cannot spool the %s message to %s in %s: %s", kind,
                    role, s->conf.spool, strerror(err));
        return;
    }
    cJSON_free(body);
    s->api->log(s->ctx, SW_LOG_INFO, "spooled %s message to %s: %s", kind, role, path);
    return;
fail:
    cJSON_Delete(o);
    s->api->log(s->ctx, SW_LOG_WARNING, "out of memory: the %s message to %s is not spooled", kind,
                role);
}

static void sms_incident(void *userdata, const cJSON *inc)
{
    sms *s = userdata;
    const cJSON *lv = cJSON_GetObjectItemCaseSensitive(inc, "level");
    const cJSON *esc = cJSON_GetObjectItemCaseSensitive(inc, "escalation");
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(inc, "id"));
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(inc, "state"));
    const char *summary = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(inc, "summary"));
    int events = sms_int(cJSON_GetObjectItemCaseSensitive(inc, "events"));
    int level = sms_int(lv);
    char text[1700];

    if (!id || !state || level < 1 || level > s->conf.max_level)
        return;
    sms_seen *seen = sms_find(s, id);
    if (!seen) {
        seen = &s->seen[s->next];
        s->next = (s->next + 1) % SMS_REMEMBER;
        snprintf(seen->id, sizeof seen->id, "%s", id);
        seen->esc_level = 0;
        seen->esc_role[0] = 0;
        /* Opened now, not an older incident seen for the first time. */
        if (s->conf.on_open[0] && !strcmp(state, "open") && events == 1) {
            snprintf(text, sizeof text, "L%d %s opened: %s", level, id, summary ? summary : "");
            sms_cut(text, (size_t)s->conf.max_length);
            sms_spool(s, "opened", s->conf.on_open, inc, level, text);
        }
    }
    int esc_level = sms_int(cJSON_GetObjectItemCaseSensitive(esc, "level"));
    const char *role = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(esc, "role"));
    if (s->conf.escalations && esc_level > 0 && role &&
        (esc_level != seen->esc_level || strcmp(role, seen->esc_role))) {
        seen->esc_level = esc_level;
        snprintf(seen->esc_role, sizeof seen->esc_role, "%s", role);
        snprintf(text, sizeof text, "L%d %s escalated to %s (step %d): %s", level, id, role,
                 esc_level, summary ? summary : "");
        sms_cut(text, (size_t)s->conf.max_length);
        sms_spool(s, "escalated", role, inc, level, text);
    }
}

SW_PLUGIN_VERSION(SMS_ABI)

SW_PLUGIN_EXPORT int sw_plugin_init(sw_plugin_ctx *ctx, const sw_host_api *api, void **userdata)
{
    sms *s = calloc(1, sizeof *s);
    int rc = SW_EINVAL;

    if (!s)
        return SW_ENOMEM;
    s->ctx = ctx;
    s->api = api;
    if (api->config_parse(ctx, sms_conf_table, &s->conf))
        goto fail;
    if (!s->conf.spool[0]) {
        api->log(ctx, SW_LOG_ERR,
                 "config key 'spool': required: the SMS gateway's spool directory");
        goto fail;
    }
    if (access(s->conf.spool, W_OK | X_OK)) {
        api->log(ctx, SW_LOG_ERR, "config key 'spool': %s: %s", s->conf.spool, strerror(errno));
        goto fail;
    }
    if (s->conf.max_level < 1 || s->conf.max_level > 2) {
        api->log(ctx, SW_LOG_ERR, "config key 'max_level': must be 1 or 2");
        goto fail;
    }
    if (s->conf.max_length < 70 || s->conf.max_length > 1600) {
        api->log(ctx, SW_LOG_ERR, "config key 'max_length': must be from 70 to 1600");
        goto fail;
    }
    if ((rc = api->callback_register(ctx, SW_HOOK_INCIDENT, (sw_msg_cb)(void *)sms_incident, s)))
        goto fail;
    api->log(ctx, SW_LOG_INFO, "spooling to %s (ABI %d, host API %u bytes)", s->conf.spool,
             api->abi_version, (unsigned)api->size);
    *userdata = s;
    return 0;
fail:
    free(s);
    return rc;
}

SW_PLUGIN_EXPORT void sw_plugin_cleanup(void *userdata)
{
    free(userdata);
}
