/*
 * Silent devices: a device that has spoken before and then says nothing for
 * longer than its type's interval (policy "silent_devices.after") opens a
 * device_offline incident, which resolves when the device speaks again.
 *
 * A million devices: nothing scans them. Each has one record,
 *
 *   S/SITE/SOURCE/DEVICE -> be64 deadline | be64 interval | u8 n | incident id (n bytes)
 *                           | location JSON (the rest, may be empty)
 *
 * and one timer "@silent:SITE/SOURCE/DEVICE" at that deadline. Re-arming on
 * every event would cost a write per event, so the deadline is armed with
 * slack: at interval * (1 + slack) after an event, and moved only when an
 * event finds it less than one interval away. Every event therefore lies
 * at least one interval before the armed deadline (no device is called
 * offline early), a device is called offline at most interval * (1 + slack)
 * after it last spoke, and a device that speaks often costs one read per
 * event and one write per interval * slack. A deadline that fires more
 * than an interval late (siteward was down, so what the device said may be
 * still on its way from the broker) gives the device a new interval
 * instead of an incident.
 */
#include <stdio.h>
#include <string.h>

#include "expect.h"
#include "timers.h"

#define SW__KEY_MAX (2 + SW_SITE_MAX + 1 + 16 + 1 + SW_ID_MAX + 1)

typedef struct sw__srec {
    int64_t due, every;
    char id[SW_ID_MAX + 1];
    const char *loc; /* into the value read: valid for the transaction */
    size_t loclen;
} sw__srec;

static int sw__decode(const MDB_val *v, sw__srec *r)
{
    const unsigned char *p = v->mv_data;
    if (v->mv_size < 17 || p[16] > SW_ID_MAX || v->mv_size < 17u + p[16])
        return SW_EINVAL;
    r->due = (int64_t)sw_be64_get(p);
    r->every = (int64_t)sw_be64_get(p + 8);
    memcpy(r->id, p + 17, p[16]);
    r->id[p[16]] = 0;
    r->loc = (const char *)p + 17 + p[16];
    r->loclen = v->mv_size - 17 - p[16];
    return 0;
}

static int sw__put(sw_batch *b, const char *key, size_t klen, const sw__srec *r)
{
    unsigned char buf[17 + SW_ID_MAX + 1024];
    size_t n = strlen(r->id), ll = r->loclen <= 1024 ? r->loclen : 0;
    sw_be64_put(buf, (uint64_t)r->due);
    sw_be64_put(buf + 8, (uint64_t)r->every);
    buf[16] = (unsigned char)n;
    memcpy(buf + 17, r->id, n);
    if (ll)
        memcpy(buf + 17 + n, r->loc, ll);
    return sw_expect_put(b, key, klen, buf, 17 + n + ll);
}

static void sw__names(const sw_msg *m, char *key, size_t *klen, char *tag)
{
    *klen = (size_t)snprintf(key, SW__KEY_MAX, "S/%s/%s/%s", m->site, m->source, m->device);
    snprintf(tag, SW_TIMER_TAG_MAX, "@silent:%s/%s/%s", m->site, m->source, m->device);
}

int sw_silent_event(sw_batch *b, const sw_msg *m)
{
    const sw_silent_rule *rule = sw_expect_silent_rule(b->e->policy, m->type);
    char key[SW__KEY_MAX], tag[SW_TIMER_TAG_MAX], by[16 + SW_ID_MAX + 2];
    char locbuf[1025];
    size_t klen;
    sw__srec r = {0};
    MDB_val v;
    int rc, had;

    if (!rule)
        return 0;
    sw__names(m, key, &klen, tag);
    int64_t now = m->received_ms, every = sw_expect_scaled(b, rule->after_ms);
    rc = sw_expect_get(b, key, klen, &v);
    if (rc && rc != SW_ENOENT)
        return rc;
    had = !rc && !sw__decode(&v, &r);
    /* The hot path: the armed deadline is still an interval away. */
    if (had && !r.id[0] && r.every == every && r.due - now >= every)
        return 0;
    if (had && r.id[0]) {
        snprintf(by, sizeof by, "%s/%s", m->source, m->device);
        if ((rc = sw_expect_resolve(b, r.id, now, by)))
            return rc;
        r.id[0] = 0;
    }
    if (had && (rc = sw_timer_cancel(b, r.due, tag)))
        return rc;
    const cJSON *loc = cJSON_GetObjectItemCaseSensitive(m->json, "location");
    char *txt = loc ? cJSON_PrintUnformatted(loc) : NULL;
    snprintf(locbuf, sizeof locbuf, "%s", txt && strlen(txt) < sizeof locbuf ? txt : "");
    cJSON_free(txt);
    r.loc = locbuf;
    r.loclen = strlen(locbuf);
    r.every = every;
    r.due = now + every + (int64_t)((double)every * b->e->policy->expect->silent_slack);
    if ((rc = sw__put(b, key, klen, &r)))
        return rc;
    return sw_timer_arm(b, r.due, tag);
}

int sw_silent_fire(sw_batch *b, const char *tag, int64_t due_ms, int64_t now)
{
    const char *rest = tag + 8; /* "@silent:" */
    char key[SW__KEY_MAX], by[16 + SW_ID_MAX + 2];
    const char *s1 = strchr(rest, '/');
    sw__srec r;
    MDB_val v;
    sw_dirty *d;
    int rc;

    if (strncmp(tag, "@silent:", 8) || !s1 || strlen(rest) + 3 > sizeof key)
        return 0;
    size_t klen = (size_t)snprintf(key, sizeof key, "S/%s", rest);
    if ((rc = sw_expect_get(b, key, klen, &v)) == SW_ENOENT)
        return 0;
    if (rc)
        return rc;
    if (sw__decode(&v, &r) || r.due != due_ms || r.id[0])
        return 0; /* stale, or already offline */
    /* The value read is valid only until the next write: keep the location. */
    char locbuf[1025];
    snprintf(locbuf, sizeof locbuf, "%.*s", r.loclen < sizeof locbuf ? (int)r.loclen : 0, r.loc);
    r.loc = locbuf;
    r.loclen = strlen(locbuf);
    char site[SW_SITE_MAX + 1];
    snprintf(site, sizeof site, "%.*s", (int)(s1 - rest), rest);
    snprintf(by, sizeof by, "%s", s1 + 1);
    if (now - due_ms > r.every) {
        r.due = now + r.every + (int64_t)((double)r.every * b->e->policy->expect->silent_slack);
        if ((rc = sw__put(b, key, klen, &r)))
            return rc;
        return sw_timer_arm(b, r.due, tag);
    }
    cJSON *loc = r.loclen ? cJSON_ParseWithLength(r.loc, r.loclen) : NULL;
    cJSON *detail = cJSON_CreateObject();
    cJSON_AddStringToObject(detail, "kind", "silent");
    cJSON_AddStringToObject(detail, "device", by);
    /* Every event lies at least an interval before the deadline. */
    sw_expect_add_time(b, detail, "last_heard_before", site, due_ms - r.every);
    rc = sw_expect_open(b, site, b->e->policy->expect->silent_cls, due_ms, by, loc, detail, &d);
    cJSON_Delete(loc);
    if (rc)
        return rc;
    snprintf(r.id, sizeof r.id, "%s", d->inc.id);
    return sw__put(b, key, klen, &r);
}
