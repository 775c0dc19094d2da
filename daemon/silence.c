#include "silence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "planned.h"
#include "policy_plan.h"
#include "timeutil.h"
#include "topic.h"

int sw_silence_is_op(const char *op)
{
    return op && (!strcmp(op, "silence") || !strcmp(op, "unsilence"));
}

/* Active silences under "sil/", ended ones under "sild/", so that events
 * only ever look through the active. */
static size_t sw__key(char *key, size_t len, int ended, const char *site, const char *id)
{
    return (size_t)snprintf(key, len, "%s/%s/%s", ended ? "sild" : "sil", site, id);
}

/* The deadline id "@silence:ID"; ID is SITE-silence-N (sw__next_id). */
static size_t sw__deadline(unsigned char *dkey, int64_t until, const char *id)
{
    char did[SW_SITE_MAX + 40];
    snprintf(did, sizeof did, "@silence:%.*s", SW_SITE_MAX + 20, id);
    return sw_deadline_key(dkey, until, did, "end");
}

/* Records are kept as plain cJSON numbers (epoch ms are exact in a
 * double), so they read back the same before and after storing. */
static int64_t sw__num(const cJSON *o, const char *key);

static int sw__put(sw_batch *b, const char *site, const char *id, const cJSON *rec)
{
    char key[SW_KEY_MAX];
    int ended = sw__num(rec, "ended") != 0;
    char *txt = cJSON_PrintUnformatted(rec);
    int rc;
    if (!txt)
        return SW_ENOMEM;
    rc = sw_store_put(b->e->store, b->txn, SW_DB_META, key,
                      sw__key(key, sizeof key, ended, site, id), txt, strlen(txt));
    cJSON_free(txt);
    if (!rc && ended) {
        rc = sw_store_del(b->e->store, b->txn, SW_DB_META, key,
                          sw__key(key, sizeof key, 0, site, id));
        rc = rc == SW_ENOENT ? 0 : rc;
    }
    return rc;
}

/* The stored silence `id` of `site`, active or ended (caller deletes), or
 * NULL. */
static cJSON *sw__get(sw_batch *b, const char *site, const char *id)
{
    char key[SW_KEY_MAX];
    MDB_val v;
    for (int ended = 0; ended < 2; ended++)
        if (!sw_store_get(b->e->store, b->txn, SW_DB_META, key,
                          sw__key(key, sizeof key, ended, site, id), &v))
            return cJSON_ParseWithLength(v.mv_data, v.mv_size);
    return NULL;
}

static int64_t sw__num(const cJSON *o, const char *key)
{
    return (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static const char *sw__str(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

cJSON *sw_silence_public(const cJSON *st, int tz)
{
    cJSON *o = cJSON_CreateObject();
    char buf[40];
    int64_t ended = sw__num(st, "ended");

    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", sw__str(st, "id") ? sw__str(st, "id") : "");
    cJSON_AddStringToObject(o, "site", sw__str(st, "site") ? sw__str(st, "site") : "");
    cJSON_AddItemToObject(o, "match",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(st, "match"), 1));
    sw_time_format(sw__num(st, "from"), tz, buf, sizeof buf);
    cJSON_AddStringToObject(o, "from", buf);
    sw_time_format(sw__num(st, "until"), tz, buf, sizeof buf);
    cJSON_AddStringToObject(o, "until", buf);
    cJSON_AddStringToObject(o, "by", sw__str(st, "by") ? sw__str(st, "by") : "");
    cJSON_AddStringToObject(o, "reason", sw__str(st, "reason") ? sw__str(st, "reason") : "");
    sw_json_add_int(o, "muted", sw__num(st, "muted"));
    const char *ended_by = sw__str(st, "ended_by");
    cJSON_AddStringToObject(o, "state",
                            !ended                                      ? "active"
                            : ended_by && !strcmp(ended_by, "siteward") ? "expired"
                                                                        : "ended");
    if (ended) {
        sw_time_format(ended, tz, buf, sizeof buf);
        cJSON_AddStringToObject(o, "ended", buf);
        cJSON_AddStringToObject(o, "ended_by", ended_by ? ended_by : "");
    }
    return o;
}

static int sw__reply(sw_batch *b, sw_msg *m, const sw_inmsg *in, const cJSON *rec, const char *code,
                     const char *why)
{
    const sw_site_conf *site = sw_config_site(b->e->cfg, m->site);
    int rc = sw_batch_reply(b, m, in, NULL, 0, code, why);
    if (code)
        b->stats.rejected++;
    else
        b->stats.accepted++;
    /* Applied: known again by its request_id (it names no incident). */
    if (!rc && !code)
        rc = sw_engine_dedup_put(b, m, "");
    if (!rc && rec)
        rc = sw_batch_reply_attach(b, "silence",
                                   sw_silence_public(rec, site ? site->tz_offset_s : 0));
    return rc;
}

static int sw__label_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 64)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == '/')
            return 0;
    return 1;
}

/* What the command mutes, checked: exactly one of class, device, area. */
static cJSON *sw__match(sw_batch *b, const sw_msg *m, char *why, size_t len, const char **code)
{
    static const char *const parts[] = {"building", "floor", "unit", "area"};
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(m->json, "class");
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(m->json, "device");
    const cJSON *area = cJSON_GetObjectItemCaseSensitive(m->json, "area"), *it;
    cJSON *match;

    *code = "bad_command";
    if (!!cls + !!dev + !!area != 1) {
        snprintf(why, len, "give exactly one of \"class\", \"device\" or \"area\"");
        return NULL;
    }
    if (cls) {
        if (!cJSON_IsString(cls) || !sw_policy_class(b->e->policy, cls->valuestring)) {
            *code = "unknown_class";
            snprintf(why, len, "\"class\" must name a class of the policy");
            return NULL;
        }
    } else if (dev) {
        /* "sensor/d17", or "d17" for that device under any source. */
        const char *s = cJSON_GetStringValue(dev), *slash = s ? strchr(s, '/') : NULL;
        const char *idpart = slash ? slash + 1 : s;
        if (!s || !idpart || !*idpart || strchr(idpart, '/') || strlen(s) > SW_ID_MAX + 8) {
            snprintf(why, len, "\"device\" must be \"SOURCE/DEVICE\" or a device id");
            return NULL;
        }
        for (const char *p = idpart; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || strchr("_-.:", *p))) {
                snprintf(why, len, "\"device\" must be \"SOURCE/DEVICE\" or a device id");
                return NULL;
            }
    } else {
        int n = 0;
        if (!cJSON_IsObject(area)) {
            snprintf(why, len, "\"area\" must be a location object");
            return NULL;
        }
        cJSON_ArrayForEach(it, area)
        {
            int i = 0;
            while (i < 4 && strcmp(it->string, parts[i]))
                i++;
            if (i == 4 || !cJSON_IsString(it) || !sw__label_ok(it->valuestring)) {
                snprintf(why, len,
                         "\"area\" keys are building, floor, unit and area, each a string of "
                         "1-64 bytes without '/'");
                return NULL;
            }
            n++;
        }
        if (!n) {
            snprintf(why, len, "\"area\" must name at least one of building, floor, unit, area");
            return NULL;
        }
    }
    *code = NULL;
    match = cJSON_CreateObject();
    if (cls)
        cJSON_AddStringToObject(match, "class", cls->valuestring);
    else if (dev)
        cJSON_AddStringToObject(match, "device", dev->valuestring);
    else
        cJSON_AddItemToObject(match, "area", cJSON_Duplicate(area, 1));
    return match;
}

static int sw__next_id(sw_batch *b, const char *site, char *out, size_t len)
{
    char key[SW_SITE_MAX + 24];
    unsigned char be[4];
    MDB_val v;
    uint32_t n = 0;
    size_t klen = (size_t)snprintf(key, sizeof key, "seq/%s/silence", site);
    int rc = sw_store_get(b->e->store, b->txn, SW_DB_META, key, klen, &v);
    if (!rc && v.mv_size == 4)
        n = sw_be32_get(v.mv_data);
    else if (rc && rc != SW_ENOENT)
        return rc;
    sw_be32_put(be, ++n);
    snprintf(out, len, "%s-silence-%u", site, n);
    return sw_store_put(b->e->store, b->txn, SW_DB_META, key, klen, be, 4);
}

static int sw__silence(sw_batch *b, sw_msg *m, const sw_inmsg *in)
{
    const char *code = NULL, *reason = sw__str(m->json, "reason"), *dur = sw__str(m->json, "for");
    int64_t for_ms = 0, max = b->e->policy->plan ? b->e->policy->plan->silence_max_ms : 0;
    double scale = b->e->cfg->clock_scale > 0 ? b->e->cfg->clock_scale : 1.0;
    char why[SW_REASON_MAX], id[SW_ID_MAX + 1];
    int rc;

    cJSON *match = sw__match(b, m, why, sizeof why, &code);
    if (!code && (!dur || sw_duration_parse_ms(dur, &for_ms) || for_ms < 1000 || for_ms > max)) {
        code = "bad_command";
        snprintf(why, sizeof why,
                 "\"for\" must be a duration from \"1s\" up to the policy's %lld s, such as "
                 "\"2h\"",
                 (long long)(max / 1000));
    }
    if (!code && (!reason || strlen(reason) > 500)) {
        code = "bad_command";
        snprintf(why, sizeof why, "\"reason\" is required: why it is muted (at most 500 bytes)");
    }
    if (code) {
        cJSON_Delete(match);
        return sw__reply(b, m, in, NULL, code, why);
    }
    if ((rc = sw__next_id(b, m->site, id, sizeof id))) {
        cJSON_Delete(match);
        return rc;
    }
    int64_t until = m->received_ms + (int64_t)((double)for_ms / scale);
    cJSON *rec = cJSON_CreateObject();
    cJSON_AddStringToObject(rec, "id", id);
    cJSON_AddStringToObject(rec, "site", m->site);
    cJSON_AddItemToObject(rec, "match", match);
    cJSON_AddNumberToObject(rec, "from", (double)m->received_ms);
    cJSON_AddNumberToObject(rec, "until", (double)until);
    cJSON_AddStringToObject(rec, "by", m->user);
    cJSON_AddStringToObject(rec, "reason", reason);
    if (m->request_id)
        cJSON_AddStringToObject(rec, "request_id", m->request_id);
    cJSON_AddNumberToObject(rec, "muted", 0);
    cJSON_AddNumberToObject(rec, "ended", 0);
    unsigned char dkey[SW_DEADLINE_KEY_MAX];
    size_t dlen = sw__deadline(dkey, until, id);
    if (!(rc = sw__put(b, m->site, id, rec)) &&
        !(rc = sw_store_put(b->e->store, b->txn, SW_DB_DEADLINES, dkey, dlen, "", 0)))
        rc = sw__reply(b, m, in, rec, NULL, NULL);
    cJSON_Delete(rec);
    return rc;
}

/* End silence `rec` at `now` on behalf of `by` (the expiry: "siteward"). */
static int sw__end(sw_batch *b, cJSON *rec, int64_t now, const char *by)
{
    const char *site = sw__str(rec, "site"), *id = sw__str(rec, "id");
    unsigned char dkey[SW_DEADLINE_KEY_MAX];
    if (!site || !id)
        return 0;
    cJSON_ReplaceItemInObjectCaseSensitive(rec, "ended", cJSON_CreateNumber((double)now));
    cJSON_DeleteItemFromObjectCaseSensitive(rec, "ended_by");
    cJSON_AddStringToObject(rec, "ended_by", by);
    int rc = sw_store_del(b->e->store, b->txn, SW_DB_DEADLINES, dkey,
                          sw__deadline(dkey, sw__num(rec, "until"), id));
    if (rc && rc != SW_ENOENT)
        return rc;
    return sw__put(b, site, id, rec);
}

static int sw__unsilence(sw_batch *b, sw_msg *m, const sw_inmsg *in)
{
    const char *id = sw__str(m->json, "silence");
    char why[SW_REASON_MAX];
    cJSON *rec;
    int rc;

    if (!id || !sw_id_valid(id, strlen(id)))
        return sw__reply(b, m, in, NULL, "bad_command", "\"silence\" is required: a silence id");
    if (!(rec = sw__get(b, m->site, id))) {
        snprintf(why, sizeof why, "no silence %s at site %s", id, m->site);
        return sw__reply(b, m, in, NULL, "unknown_silence", why);
    }
    if (sw__num(rec, "ended") || sw__num(rec, "until") <= m->received_ms) {
        snprintf(why, sizeof why, "silence %s has already ended", id);
        rc = sw__reply(b, m, in, rec, "illegal_transition", why);
    } else if (!(rc = sw__end(b, rec, m->received_ms, m->user))) {
        rc = sw__reply(b, m, in, rec, NULL, NULL);
    }
    cJSON_Delete(rec);
    return rc;
}

int sw_silence_command(sw_batch *b, sw_msg *m, const sw_inmsg *in)
{
    return !strcmp(m->op, "silence") ? sw__silence(b, m, in) : sw__unsilence(b, m, in);
}

static int sw__mutes(const cJSON *match, const sw_msg *m)
{
    const char *cls = sw__str(match, "class"), *dev = sw__str(match, "device");
    const cJSON *area = cJSON_GetObjectItemCaseSensitive(match, "area");
    if (cls)
        return !strcmp(cls, m->cls);
    if (dev) {
        const char *slash = strchr(dev, '/');
        if (!slash)
            return !strcmp(dev, m->device);
        return (size_t)(slash - dev) == strlen(m->source) &&
               !strncmp(dev, m->source, (size_t)(slash - dev)) && !strcmp(slash + 1, m->device);
    }
    return area && sw_plan_place_matches(area, &m->location);
}

/* The active silence of m's site muting `m`, parsed (caller deletes). */
static int sw__find(sw_batch *b, const sw_msg *m, cJSON **out)
{
    char prefix[SW_SITE_MAX + 8];
    size_t plen = (size_t)snprintf(prefix, sizeof prefix, "sil/%s/", m->site);
    MDB_cursor *cur;
    MDB_val k = {plen, prefix}, v;
    int r;

    *out = NULL;
    if (mdb_cursor_open(b->txn, b->e->store->dbi[SW_DB_META], &cur))
        return SW_ESTORE;
    for (r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         !r && !*out && k.mv_size > plen && !memcmp(k.mv_data, prefix, plen);
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        cJSON *rec = cJSON_ParseWithLength(v.mv_data, v.mv_size);
        if (rec && !sw__num(rec, "ended") && sw__num(rec, "from") <= m->received_ms &&
            m->received_ms < sw__num(rec, "until") &&
            sw__mutes(cJSON_GetObjectItemCaseSensitive(rec, "match"), m))
            *out = rec;
        else
            cJSON_Delete(rec);
    }
    mdb_cursor_close(cur);
    return 0;
}

int sw_silence_mute(sw_batch *b, sw_msg *m, uint64_t seq, int *muted)
{
    cJSON *rec = NULL;
    int rc = 0;

    *muted = 0;
    if (m->kind != SW_MSG_EVENT || (rc = sw__find(b, m, &rec)) || !rec)
        return rc;
    *muted = 1;
    /* Kept as a record, like events that open no incident. */
    rc = sw_engine_record(b, m, seq, sw__str(rec, "id"));
    if (!rc)
        rc = sw_engine_dedup_put(b, m, "");
    if (!rc) {
        cJSON_ReplaceItemInObjectCaseSensitive(
            rec, "muted", cJSON_CreateNumber((double)(sw__num(rec, "muted") + 1)));
        rc = sw__put(b, m->site, sw__str(rec, "id"), rec);
    }
    if (!rc)
        b->stats.accepted++;
    cJSON_Delete(rec);
    return rc;
}

int sw_silence_fire(sw_batch *b, const char *id, const char *name, int64_t now)
{
    char site[SW_SITE_MAX + 1];
    const char *tail = NULL;
    cJSON *rec;
    int rc = 0;

    /* The site is what comes before the last "-silence-". */
    for (const char *p = strstr(id, "-silence-"); p; p = strstr(p + 1, "-silence-"))
        tail = p;
    if (strcmp(name, "end") || !tail || (size_t)(tail - id) > SW_SITE_MAX)
        return 0;
    snprintf(site, sizeof site, "%.*s", (int)(tail - id), id);
    if (!(rec = sw__get(b, site, id)))
        return 0;
    if (!sw__num(rec, "ended"))
        rc = sw__end(b, rec, now, "siteward");
    cJSON_Delete(rec);
    return rc;
}
