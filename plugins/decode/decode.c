/*
 * decode: turns the JSON payloads of the contract (Event, Report, Command)
 * into the canonical fields of sw_msg, rejecting what does not conform with
 * a stable error code: bad_json for what is not a JSON object, bad_field for
 * a missing or mistyped field.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "siteward/plugin.h"
#include "utf8.h"

typedef struct decode_conf {
    int64_t max_data;
    int64_t max_text;
} decode_conf;

typedef struct decode {
    const sw_host_api *api;
    decode_conf conf;
} decode;

static const sw_conf_entry decode_table[] = {
    {"max_data", SW_CONF_INT, "4096", offsetof(decode_conf, max_data),
     "largest event \"data\" object kept, in bytes of compact JSON"},
    {"max_text", SW_CONF_INT, "4000", offsetof(decode_conf, max_text),
     "longest report \"text\", in bytes"},
    {NULL, SW_CONF_END, NULL, 0, NULL},
};

/* Location values become parts of correlation keys, where '/' separates. */
static int decode_label_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == '/' || *p == 0x7f)
            return 0;
    return 1;
}

/* The string field `key`, or NULL when absent; rejects other types. */
static int decode_str(decode *d, sw_msg *m, const char *key, const char **out, size_t max)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m->json, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return d->api->msg_reject(m, "bad_field", "\"%s\" must be a string", key);
    if (strlen(v->valuestring) > max)
        return d->api->msg_reject(m, "bad_field", "\"%s\" is longer than %zu bytes", key, max);
    *out = v->valuestring;
    return 0;
}

static int decode_id(decode *d, sw_msg *m, const char *key, const char **out)
{
    int rc = decode_str(d, m, key, out, 128);
    if (!rc && *out && !d->api->id_valid(*out))
        return d->api->msg_reject(m, "bad_field",
                                  "\"%s\" must be 1-128 of A-Z a-z 0-9 _ - . :", key);
    return rc;
}

static int decode_one_of(decode *d, sw_msg *m, const char *key, const char **out,
                         const char *const *allowed, const char *def)
{
    int rc = decode_str(d, m, key, out, 32);
    if (rc)
        return rc;
    if (!*out) {
        *out = def;
        return 0;
    }
    for (int i = 0; allowed[i]; i++)
        if (!strcmp(*out, allowed[i])) {
            *out = allowed[i];
            return 0;
        }
    char list[160] = "";
    for (int i = 0; allowed[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 allowed[i]);
    return d->api->msg_reject(m, "bad_field", "\"%s\" must be one of %s", key, list);
}

static int decode_location(decode *d, sw_msg *m)
{
    static const char *const keys[] = {"building", "floor", "unit", "area"};
    const cJSON *loc = cJSON_GetObjectItemCaseSensitive(m->json, "location");
    const char **dst[] = {&m->location.building, &m->location.floor, &m->location.unit,
                          &m->location.area};
    const cJSON *it;

    if (!loc || cJSON_IsNull(loc))
        return 0;
    if (!cJSON_IsObject(loc))
        return d->api->msg_reject(m, "bad_field", "\"location\" must be an object");
    cJSON_ArrayForEach(it, loc)
    {
        int i = 0;
        while (i < 4 && strcmp(it->string, keys[i]))
            i++;
        if (i == 4)
            return d->api->msg_reject(m, "bad_field",
                                      "\"location\" keys are building, floor, unit and area");
        if (!cJSON_IsString(it) || !decode_label_ok(it->valuestring))
            return d->api->msg_reject(m, "bad_field",
                                      "\"location.%s\" must be a string of 1-64 bytes without "
                                      "'/' or control characters",
                                      keys[i]);
        *dst[i] = it->valuestring;
    }
    return 0;
}

static int decode_type_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 47)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static int decode_event(decode *d, sw_msg *m)
{
    static const char *const states[] = {"alarm", "normal", NULL};
    const cJSON *v;
    const char *state;
    int rc;

    v = cJSON_GetObjectItemCaseSensitive(m->json, "type");
    if (!cJSON_IsString(v) || !decode_type_ok(v->valuestring))
        return d->api->msg_reject(m, "bad_field",
                                  "\"type\" is required: a string of a-z 0-9 _ (1-47)");
    m->type = v->valuestring;
    if ((rc = decode_id(d, m, "id", &m->event_id)) ||
        (rc = decode_one_of(d, m, "state", &state, states, "alarm")))
        return rc;
    m->normal = !strcmp(state, "normal");

    m->ts_ms = m->received_ms;
    v = cJSON_GetObjectItemCaseSensitive(m->json, "ts");
    if (cJSON_IsString(v)) {
        if (d->api->time_parse(v->valuestring, &m->ts_ms))
            return d->api->msg_reject(m, "bad_field",
                                      "\"ts\" must be RFC 3339 with an offset, or epoch ms");
    } else if (cJSON_IsNumber(v)) {
        if (v->valuedouble < 0 || v->valuedouble > 1e15)
            return d->api->msg_reject(m, "bad_field", "\"ts\" epoch ms out of range");
        m->ts_ms = (int64_t)v->valuedouble;
    } else if (v && !cJSON_IsNull(v)) {
        return d->api->msg_reject(m, "bad_field",
                                  "\"ts\" must be RFC 3339 with an offset, or epoch ms");
    }

    v = cJSON_GetObjectItemCaseSensitive(m->json, "value");
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v))
            return d->api->msg_reject(m, "bad_field", "\"value\" must be a number");
        m->has_value = 1;
        m->value = v->valuedouble;
    }
    if ((rc = decode_location(d, m)))
        return rc;

    v = cJSON_GetObjectItemCaseSensitive(m->json, "data");
    if (v && !cJSON_IsNull(v)) {
        char *txt = cJSON_PrintUnformatted(v);
        size_t n = txt ? strlen(txt) : 0;
        cJSON_free(txt);
        if (!cJSON_IsObject(v))
            return d->api->msg_reject(m, "bad_field", "\"data\" must be an object");
        if ((int64_t)n > d->conf.max_data)
            return d->api->msg_reject(m, "bad_field", "\"data\" is larger than %lld bytes",
                                      (long long)d->conf.max_data);
        m->data = v;
    }
    return 0;
}

static int decode_report(decode *d, sw_msg *m)
{
    static const char *const categories[] = {"emergency", "repair",       "complaint", "inquiry",
                                             "request",   "planned_work", NULL};
    static const char *const urgencies[] = {"urgent", "general", NULL};
    static const char *const channels[] = {"online", "offline", NULL};
    const cJSON *v;
    int rc;

    if (!cJSON_GetObjectItemCaseSensitive(m->json, "category"))
        return d->api->msg_reject(m, "bad_field", "\"category\" is required");
    if ((rc = decode_id(d, m, "report_id", &m->report_id)) ||
        (rc = decode_one_of(d, m, "category", &m->category, categories, NULL)) ||
        (rc = decode_one_of(d, m, "urgency", &m->urgency, urgencies, "general")) ||
        (rc = decode_one_of(d, m, "channel", &m->channel, channels, "online")) ||
        (rc = decode_str(d, m, "text", &m->text, (size_t)d->conf.max_text)) ||
        (rc = decode_location(d, m)))
        return rc;
    v = cJSON_GetObjectItemCaseSensitive(m->json, "contact");
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsObject(v))
            return d->api->msg_reject(m, "bad_field", "\"contact\" must be an object");
        m->contact = v;
    }
    m->ts_ms = m->received_ms;
    return 0;
}

static int decode_command(decode *d, sw_msg *m)
{
    int rc;
    /* An id of the contract: it becomes part of the command's dedup key. */
    if ((rc = decode_id(d, m, "request_id", &m->request_id)))
        return rc;
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m->json, "op")))
        return d->api->msg_reject(m, "bad_command", "\"op\" is required: a string");
    if ((rc = decode_str(d, m, "op", &m->op, 32)) ||
        (rc = decode_id(d, m, "incident", &m->incident_id)) ||
        (rc = decode_str(d, m, "note", &m->note, (size_t)d->conf.max_text)))
        return rc;
    m->ts_ms = m->received_ms;
    return 0;
}

static int decode_msg(void *ud, sw_msg *m)
{
    decode *d = ud;
    const char *end = NULL;
    size_t valid = sw_utf8_valid(m->payload, m->payload_len);

    /* JSON is UTF-8 (RFC 8259); cJSON would pass other bytes through into
     * the store and into what siteward publishes. */
    if (valid < m->payload_len)
        return d->api->msg_reject(m, "bad_json", "payload is not valid UTF-8 (byte %zu)", valid);

    /* NUL is rejected, not escaped or dropped: cJSON turns \u0000 into a
     * NUL byte that cuts the stored text there (the rest of the event would
     * vanish from the timeline and the review), and no field of the
     * contract has a use for one, so changing the text behind the sender's
     * back would only hide a broken device. A dead letter shows it. Checked
     * here, before the payload is used, for every kind and for mapped
     * payloads too (plugins/map applies the same rule first). */
    size_t nul = sw_json_nul_find(m->payload, m->payload_len);
    if (nul < m->payload_len && !m->payload[nul])
        return d->api->msg_reject(
            m, "bad_json", "payload has a NUL byte at byte %zu: JSON text cannot hold one", nul);
    if (nul < m->payload_len)
        return d->api->msg_reject(m, "bad_field",
                                  "a string holds \\u0000 (byte %zu): siteward does not accept "
                                  "NUL characters",
                                  nul);

    /* Decoded already by a plugin before this one (plugins/map). */
    if (m->json)
        return 0;
    m->json = cJSON_ParseWithLengthOpts(m->payload, m->payload_len, &end, 0);
    /* Only whitespace may follow the value. */
    while (m->json && end < m->payload + m->payload_len &&
           (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    if (!m->json || end != m->payload + m->payload_len)
        return d->api->msg_reject(m, "bad_json", "payload is not valid JSON (byte %zu)",
                                  end ? (size_t)(end - m->payload) : (size_t)0);
    if (!cJSON_IsObject(m->json))
        return d->api->msg_reject(m, "bad_json", "payload must be a JSON object");
    switch (m->kind) {
    case SW_MSG_EVENT:
        return decode_event(d, m);
    case SW_MSG_REPORT:
        return decode_report(d, m);
    case SW_MSG_COMMAND:
        return decode_command(d, m);
    }
    return d->api->msg_reject(m, "bad_topic", "unknown message kind");
}

SW_PLUGIN_VERSION(SW_PLUGIN_ABI_V1)

int sw_plugin_init(sw_plugin_ctx *ctx, const sw_host_api *api, void **userdata)
{
    decode *d = calloc(1, sizeof *d);
    int rc;
    if (!d)
        return SW_ENOMEM;
    d->api = api;
    rc = api->config_parse(ctx, decode_table, &d->conf);
    if (!rc && (d->conf.max_data < 2 || d->conf.max_text < 1)) {
        api->log(ctx, SW_LOG_ERR, "config key 'max_data'/'max_text': must be positive");
        rc = SW_EINVAL;
    }
    if (!rc)
        rc = api->callback_register(ctx, SW_HOOK_DECODE, decode_msg, d);
    if (rc) {
        free(d);
        return rc;
    }
    *userdata = d;
    return 0;
}

void sw_plugin_cleanup(void *userdata)
{
    free(userdata);
}
