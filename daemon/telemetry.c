/*
 * Telemetry thresholds: a reading beyond a rule's trigger ("above" or
 * "below") that stays beyond it for the rule's "for" opens an incident of
 * the rule's class; a reading back past "clear" resolves it. Between the
 * two (hysteresis) nothing changes, so a value hovering at the trigger
 * does not open and resolve incident after incident. A reading back on
 * the normal side of the trigger before "for" has passed cancels it.
 *
 * State per rule and device, written only when the phase changes:
 *
 *   T/SITE/RULE/SOURCE/DEVICE -> u8 phase | be64 since | be64 value bits | u8 n |
 *                                incident id (n bytes) | location JSON
 *
 * with the timer "@telemetry:SITE/RULE/SOURCE/DEVICE" at since + for while
 * the phase is "pending". No record: normal.
 */
#include <stdio.h>
#include <string.h>

#include "expect.h"
#include "timers.h"

#define SW__KEY_MAX (2 + SW_SITE_MAX + 1 + SW_OBL_NAME_MAX + 1 + 16 + 1 + SW_ID_MAX + 1)

enum { SW__PENDING = 1, SW__ACTIVE = 2 };

typedef struct sw__trec {
    int phase;
    int64_t since;
    double value;
    char id[SW_ID_MAX + 1];
    char loc[1025];
} sw__trec;

static int sw__decode(const MDB_val *v, sw__trec *r)
{
    const unsigned char *p = v->mv_data;
    uint64_t bits;
    memset(r, 0, sizeof *r);
    if (v->mv_size < 18 || p[17] > SW_ID_MAX || v->mv_size < 18u + p[17])
        return SW_EINVAL;
    r->phase = p[0];
    r->since = (int64_t)sw_be64_get(p + 1);
    bits = sw_be64_get(p + 9);
    memcpy(&r->value, &bits, sizeof bits);
    memcpy(r->id, p + 18, p[17]);
    size_t ll = v->mv_size - 18 - p[17];
    if (ll < sizeof r->loc)
        memcpy(r->loc, p + 18 + p[17], ll);
    return 0;
}

static int sw__put(sw_batch *b, const char *key, size_t klen, const sw__trec *r)
{
    unsigned char buf[18 + SW_ID_MAX + 1024];
    size_t n = strlen(r->id), ll = strlen(r->loc);
    uint64_t bits;
    buf[0] = (unsigned char)r->phase;
    sw_be64_put(buf + 1, (uint64_t)r->since);
    memcpy(&bits, &r->value, sizeof bits);
    sw_be64_put(buf + 9, bits);
    buf[17] = (unsigned char)n;
    memcpy(buf + 18, r->id, n);
    memcpy(buf + 18 + n, r->loc, ll);
    return sw_expect_put(b, key, klen, buf, 18 + n + ll);
}

static int sw__open(sw_batch *b, const sw_tele_rule *rule, const char *site, const char *device,
                    const char *key, size_t klen, sw__trec *r, int64_t at)
{
    cJSON *loc = r->loc[0] ? cJSON_Parse(r->loc) : NULL;
    cJSON *detail = cJSON_CreateObject();
    sw_dirty *d;
    int rc;

    cJSON_AddStringToObject(detail, "kind", "telemetry");
    cJSON_AddStringToObject(detail, "rule", rule->name);
    cJSON_AddStringToObject(detail, "type", rule->type);
    cJSON_AddStringToObject(detail, "device", device);
    cJSON_AddNumberToObject(detail, rule->above ? "above" : "below", rule->trigger);
    cJSON_AddNumberToObject(detail, "clear", rule->clear);
    cJSON_AddNumberToObject(detail, "value", r->value);
    sw_expect_add_time(b, detail, "since", site, r->since);
    rc = sw_expect_open(b, site, rule->cls, at, device, loc, detail, &d);
    cJSON_Delete(loc);
    if (rc)
        return rc;
    r->phase = SW__ACTIVE;
    snprintf(r->id, sizeof r->id, "%s", d->inc.id);
    return sw__put(b, key, klen, r);
}

static int sw__one(sw_batch *b, const sw_tele_rule *rule, const sw_msg *m)
{
    char key[SW__KEY_MAX], tag[SW_TIMER_TAG_MAX], device[16 + SW_ID_MAX + 2];
    size_t klen = (size_t)snprintf(key, sizeof key, "T/%s/%s/%s/%s", m->site, rule->name, m->source,
                                   m->device);
    double v = m->value;
    int beyond = rule->above ? v > rule->trigger : v < rule->trigger;
    int cleared = rule->above ? v <= rule->clear : v >= rule->clear;
    int64_t now = m->received_ms, hold = sw_expect_scaled(b, rule->for_ms);
    sw__trec r;
    MDB_val val;
    int rc = sw_expect_get(b, key, klen, &val);

    if (rc && rc != SW_ENOENT)
        return rc;
    if (rc || sw__decode(&val, &r))
        memset(&r, 0, sizeof r);
    snprintf(tag, sizeof tag, "@telemetry:%s/%s/%s/%s", m->site, rule->name, m->source, m->device);
    snprintf(device, sizeof device, "%s/%s", m->source, m->device);
    switch (r.phase) {
    case SW__PENDING:
        if (beyond)
            return 0;
        if ((rc = sw_timer_cancel(b, r.since + hold, tag)))
            return rc;
        return sw_expect_del(b, key, klen);
    case SW__ACTIVE:
        if (!cleared)
            return 0;
        if ((rc = sw_expect_resolve(b, r.id, now, device)))
            return rc;
        return sw_expect_del(b, key, klen);
    default:
        if (!beyond)
            return 0;
        r.phase = SW__PENDING;
        r.since = now;
        r.value = v;
        const cJSON *loc = cJSON_GetObjectItemCaseSensitive(m->json, "location");
        char *txt = loc ? cJSON_PrintUnformatted(loc) : NULL;
        snprintf(r.loc, sizeof r.loc, "%s", txt && strlen(txt) < sizeof r.loc ? txt : "");
        cJSON_free(txt);
        if (!hold)
            return sw__open(b, rule, m->site, device, key, klen, &r, now);
        if ((rc = sw__put(b, key, klen, &r)))
            return rc;
        return sw_timer_arm(b, now + hold, tag);
    }
}

int sw_telemetry_event(sw_batch *b, const sw_msg *m)
{
    const sw_expect_policy *x = b->e->policy->expect;
    int rc = 0;
    if (!m->has_value)
        return 0;
    for (int i = 0; !rc && i < x->ntele; i++)
        if (!strcmp(x->tele[i].type, m->type))
            rc = sw__one(b, &x->tele[i], m);
    return rc;
}

int sw_telemetry_fire(sw_batch *b, const char *tag, int64_t due_ms, int64_t now)
{
    const sw_expect_policy *x = b->e->policy->expect;
    const char *rest = tag + 11; /* "@telemetry:" */
    const char *s1 = strchr(rest, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
    char key[SW__KEY_MAX], site[SW_SITE_MAX + 1], name[SW_OBL_NAME_MAX];
    const sw_tele_rule *rule = NULL;
    sw__trec r;
    MDB_val v;
    int rc;

    (void)now;
    if (strncmp(tag, "@telemetry:", 11) || !s2 || s1 - rest > SW_SITE_MAX ||
        s2 - s1 - 1 >= SW_OBL_NAME_MAX || strlen(rest) + 3 > sizeof key)
        return 0;
    snprintf(site, sizeof site, "%.*s", (int)(s1 - rest), rest);
    snprintf(name, sizeof name, "%.*s", (int)(s2 - s1 - 1), s1 + 1);
    for (int i = 0; i < x->ntele && !rule; i++)
        if (!strcmp(x->tele[i].name, name))
            rule = &x->tele[i];
    size_t klen = (size_t)snprintf(key, sizeof key, "T/%s", rest);
    if ((rc = sw_expect_get(b, key, klen, &v)) == SW_ENOENT)
        return 0;
    if (rc)
        return rc;
    if (sw__decode(&v, &r) || r.phase != SW__PENDING)
        return 0;
    if (!rule) /* the policy no longer has the rule */
        return sw_expect_del(b, key, klen);
    /* Armed under another "for": arm the one this policy sets. */
    if (r.since + sw_expect_scaled(b, rule->for_ms) != due_ms)
        return sw_timer_arm(b, r.since + sw_expect_scaled(b, rule->for_ms), tag);
    return sw__open(b, rule, site, s2 + 1, key, klen, &r, due_ms);
}
