/*
 * map: the decoder of foreign devices (Zigbee2MQTT and the like). For a
 * message on a topic the configuration's "foreign" array maps (the host
 * sets sw_msg.mapping), it applies the entry's rules to the device's own
 * JSON and fills the canonical event: the first rule whose `field` equals
 * `equals` gives the type and state; "otherwise" covers payloads no rule
 * matches (or they are rejected as unmapped). The device's location comes
 * from the entry's "devices" map, which may also give a device its own
 * rules. Everything is checked when the plugin loads; other messages are
 * left to the next decoder.
 *
 *   {"topic": "zigbee2mqtt/+", "site": "A", "device": "topic:1",
 *    "rules": [{"field": "smoke", "equals": true, "type": "smoke", "state": "alarm"}, ...],
 *    "otherwise": {"type": "device_status", "state": "normal"},
 *    "devices": {"kitchen_smoke": {"location": {"building": "3", "floor": "12"}}}}
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "siteward/plugin.h"
#include "utf8.h"

typedef struct map {
    const sw_host_api *api;
    sw_plugin_ctx *ctx;
    const char *cfg_path;
} map;

static int map_err(map *p, const char *key, const char *why)
{
    p->api->log(p->ctx, SW_LOG_ERR, "%s: key '%s': %s", p->cfg_path, key, why);
    return SW_EINVAL;
}

/* Location values become parts of correlation keys, where '/' separates. */
static int map_label_ok(const cJSON *v)
{
    const char *s = cJSON_GetStringValue(v);
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 64)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == '/' || *s == 0x7f)
            return 0;
    return 1;
}

/* {"type", "state"?}: the type must be one of the policy's event types. */
static int map_check_outcome(map *p, const cJSON *o, const char *key)
{
    const cJSON *types = p->api->policy_section(p->ctx, "event_types");
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "type"));
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(o, "state");
    if (!type || !cJSON_GetObjectItemCaseSensitive(types, type))
        return map_err(p, key, "\"type\" must be an event type of the policy's \"event_types\"");
    if (state && !(cJSON_IsString(state) &&
                   (!strcmp(state->valuestring, "alarm") || !strcmp(state->valuestring, "normal"))))
        return map_err(p, key, "\"state\" must be \"alarm\" or \"normal\"");
    return 0;
}

static int map_check_rules(map *p, const cJSON *rules, const char *base)
{
    char key[200];
    int i = 0;
    const cJSON *r;

    snprintf(key, sizeof key, "%s", base);
    if (!cJSON_IsArray(rules) || !cJSON_GetArraySize(rules))
        return map_err(p, key, "must be a non-empty array of {\"field\", \"equals\", \"type\"}");
    cJSON_ArrayForEach(r, rules)
    {
        snprintf(key, sizeof key, "%s[%d]", base, i++);
        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r, "field")) ||
            !cJSON_GetObjectItemCaseSensitive(r, "equals"))
            return map_err(p, key, "needs \"field\" (a payload key) and \"equals\" (a value)");
        if (map_check_outcome(p, r, key))
            return SW_EINVAL;
    }
    return 0;
}

static int map_check(map *p, const cJSON *m, int idx)
{
    static const char *const parts[] = {"building", "floor", "unit", "area"};
    const cJSON *dev, *other = cJSON_GetObjectItemCaseSensitive(m, "otherwise");
    const cJSON *devices = cJSON_GetObjectItemCaseSensitive(m, "devices");
    char key[200];

    snprintf(key, sizeof key, "foreign[%d].rules", idx);
    if (map_check_rules(p, cJSON_GetObjectItemCaseSensitive(m, "rules"), key))
        return SW_EINVAL;
    snprintf(key, sizeof key, "foreign[%d].otherwise", idx);
    if (other && map_check_outcome(p, other, key))
        return SW_EINVAL;
    snprintf(key, sizeof key, "foreign[%d].devices", idx);
    if (devices && !cJSON_IsObject(devices))
        return map_err(p, key, "must map device ids to {\"location\"?, \"rules\"?}");
    cJSON_ArrayForEach(dev, devices)
    {
        const cJSON *loc = cJSON_GetObjectItemCaseSensitive(dev, "location"), *it;
        const cJSON *rules = cJSON_GetObjectItemCaseSensitive(dev, "rules");
        snprintf(key, sizeof key, "foreign[%d].devices.%.64s", idx, dev->string);
        if (!cJSON_IsObject(dev) || !p->api->id_valid(dev->string))
            return map_err(p, key,
                           "a device id of the contract mapped to {\"location\"?, \"rules\"?}");
        if (loc && !cJSON_IsObject(loc))
            return map_err(p, key, "\"location\" must be an object");
        cJSON_ArrayForEach(it, loc)
        {
            int i = 0;
            while (i < 4 && strcmp(it->string, parts[i]))
                i++;
            if (i == 4 || !map_label_ok(it))
                return map_err(p, key,
                               "\"location\" keys are building, floor, unit and area, each a "
                               "string of 1-64 bytes without '/'");
        }
        snprintf(key, sizeof key, "foreign[%d].devices.%.64s.rules", idx, dev->string);
        if (rules && map_check_rules(p, rules, key))
            return SW_EINVAL;
    }
    return 0;
}

/* The outcome for `payload`: the first rule that matches, or "otherwise". */
static const cJSON *map_outcome(const cJSON *rules, const cJSON *other, const cJSON *payload)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, rules)
    {
        const char *field = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "field"));
        const cJSON *have = cJSON_GetObjectItemCaseSensitive(payload, field);
        if (have && cJSON_Compare(have, cJSON_GetObjectItemCaseSensitive(r, "equals"), 1))
            return r;
    }
    return other;
}

static int map_msg(void *ud, sw_msg *m)
{
    map *p = ud;
    const cJSON *mp;
    const char *end = NULL;

    if (m->size < offsetof(sw_msg, mapping) + sizeof m->mapping || !(mp = m->mapping) ||
        m->kind != SW_MSG_EVENT)
        return 0;
    /* The decoder's rules (plugins/decode), applied before this plugin
     * reads anything: UTF-8 only, no NUL (raw or \u0000), and nothing but
     * whitespace after the value. */
    size_t bad = sw_utf8_valid(m->payload, m->payload_len);
    if (bad < m->payload_len)
        return p->api->msg_reject(m, "bad_json", "payload is not valid UTF-8 (byte %zu)", bad);
    bad = sw_json_nul_find(m->payload, m->payload_len);
    if (bad < m->payload_len && !m->payload[bad])
        return p->api->msg_reject(
            m, "bad_json", "payload has a NUL byte at byte %zu: JSON text cannot hold one", bad);
    if (bad < m->payload_len)
        return p->api->msg_reject(m, "bad_field",
                                  "a string holds \\u0000 (byte %zu): siteward does not accept "
                                  "NUL characters",
                                  bad);
    cJSON *payload = cJSON_ParseWithLengthOpts(m->payload, m->payload_len, &end, 0);
    while (payload && end < m->payload + m->payload_len &&
           (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    if (payload && end != m->payload + m->payload_len) {
        cJSON_Delete(payload);
        return p->api->msg_reject(m, "bad_json", "payload is not valid JSON (byte %zu)",
                                  (size_t)(end - m->payload));
    }
    if (!cJSON_IsObject(payload)) {
        cJSON_Delete(payload);
        return p->api->msg_reject(m, "bad_json", "a mapped device's payload must be a JSON object");
    }
    cJSON *ev = cJSON_CreateObject();
    m->json = ev; /* the host owns it from here, also on rejection */
    if (!ev) {
        cJSON_Delete(payload);
        return SW_ENOMEM;
    }
    const char *devspec = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(mp, "device"));
    if (!m->device && devspec && !strncmp(devspec, "field:", 6)) {
        const char *id =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(payload, devspec + 6));
        if (!id || !p->api->id_valid(id)) {
            cJSON_Delete(payload);
            return p->api->msg_reject(
                m, "bad_field",
                "\"%s\" must hold the device id: 1-128 of A-Z a-z 0-9 _ - . :", devspec + 6);
        }
        m->device = cJSON_GetStringValue(cJSON_AddStringToObject(ev, "device", id));
    }
    if (!m->device) {
        cJSON_Delete(payload);
        return p->api->msg_reject(m, "bad_field", "no device id for this mapped message");
    }
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(mp, "devices"), m->device);
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(dev, "rules");
    const cJSON *out = map_outcome(rules ? rules : cJSON_GetObjectItemCaseSensitive(mp, "rules"),
                                   cJSON_GetObjectItemCaseSensitive(mp, "otherwise"), payload);
    if (!out) {
        cJSON_Delete(payload);
        return p->api->msg_reject(m, "unmapped",
                                  "no rule of the mapping for %s matches this payload", m->topic);
    }
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(out, "state"));
    m->type = cJSON_GetStringValue(cJSON_AddStringToObject(
        ev, "type", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(out, "type"))));
    m->normal = state && !strcmp(state, "normal");
    cJSON_AddStringToObject(ev, "state", m->normal ? "normal" : "alarm");
    m->ts_ms = m->received_ms;
    const cJSON *loc = cJSON_GetObjectItemCaseSensitive(dev, "location");
    if (loc) {
        cJSON *l = cJSON_Duplicate(loc, 1);
        cJSON_AddItemToObject(ev, "location", l);
        m->location.building =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "building"));
        m->location.floor = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "floor"));
        m->location.unit = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "unit"));
        m->location.area = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "area"));
    }
    /* The device's own payload is kept whole as the event's data. */
    cJSON_AddItemToObject(ev, "data", payload);
    m->data = payload;
    return 0;
}

SW_PLUGIN_VERSION(SW_PLUGIN_ABI_V1)

void sw_plugin_cleanup(void *userdata)
{
    free(userdata);
}

int sw_plugin_init(sw_plugin_ctx *ctx, const sw_host_api *api, void **userdata)
{
    static const sw_conf_entry table[] = {{NULL, SW_CONF_END, NULL, 0, NULL}};
    map *p = calloc(1, sizeof *p);
    const cJSON *all, *m;
    int rc, i = 0;

    if (!p)
        return SW_ENOMEM;
    p->api = api;
    p->ctx = ctx;
    if ((rc = api->config_parse(ctx, table, NULL)))
        goto fail;
    if (api->size < offsetof(sw_host_api, config_path) + sizeof api->config_path ||
        !api->config_section || !api->config_path) {
        api->log(ctx, SW_LOG_ERR, "this siteward does not offer the configuration to plugins");
        rc = SW_EVERSION;
        goto fail;
    }
    p->cfg_path = api->config_path(ctx);
    all = api->config_section(ctx, "foreign");
    cJSON_ArrayForEach(m, all)
    {
        if ((rc = map_check(p, m, i++)))
            goto fail;
    }
    if ((rc = api->callback_register(ctx, SW_HOOK_DECODE, map_msg, p)))
        goto fail;
    *userdata = p;
    return 0;
fail:
    free(p);
    return rc;
}
