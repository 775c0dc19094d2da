#include "batch.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gauges.h"
#include "log.h"
#include "obligations.h"
#include "timeutil.h"
#include "topic.h"
#include "utf8.h"

struct sw_out {
    sw_out *next;
    char *topic;
    char *payload;
    size_t len;
    int retained;
    int durable; /* kept in the outbox until acknowledged (outbox.h) */
    uint64_t id; /* its outbox key, once the batch has committed */
    unsigned char *corr;
    size_t corr_len;
};

struct sw_reply {
    sw_reply *next;
    char site[SW_SITE_MAX + 1];
    char user[SW_ID_MAX + 1];
    char request_id[SW_ID_MAX + 1];
    char report_id[SW_ID_MAX + 1];
    int has_request_id, has_report_id;
    int duplicate;
    char code[SW_CODE_MAX];
    char message[SW_REASON_MAX];
    sw_dirty *d;
    char *resp_topic;
    unsigned char *corr;
    size_t corr_len;
    char extra_key[16];
    cJSON *extra; /* owned: a member added to the reply (sw_batch_reply_attach) */
};

static unsigned sw__hash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h % SW_BATCH_BUCKETS;
}

int sw_batch_begin(sw_batch *b, sw_engine *e)
{
    memset(b, 0, sizeof *b);
    b->e = e;
    b->out_tail = &b->out;
    b->replies_tail = &b->replies;
    return sw_store_begin(e->store, 1, &b->txn);
}

static sw_dirty *sw__dirty_add(sw_batch *b)
{
    sw_dirty *d;
    if (b->ndirty == b->cap) {
        int cap = b->cap ? b->cap * 2 : 32;
        sw_dirty **n = realloc(b->dirty, (size_t)cap * sizeof *n);
        if (!n)
            return NULL;
        b->dirty = n;
        b->cap = cap;
    }
    if (!(d = calloc(1, sizeof *d)))
        return NULL;
    b->dirty[b->ndirty++] = d;
    return d;
}

static void sw__dirty_index(sw_batch *b, sw_dirty *d)
{
    unsigned h = sw__hash(d->inc.id);
    d->hnext = b->buckets[h];
    b->buckets[h] = d;
}

sw_dirty *sw_batch_dirty_new(sw_batch *b, const char *id)
{
    sw_dirty *d = sw__dirty_add(b);
    if (d) {
        snprintf(d->inc.id, sizeof d->inc.id, "%s", id);
        d->created = 1;
        sw__dirty_index(b, d);
    }
    return d;
}

int sw_batch_load(sw_batch *b, const char *id, sw_dirty **out)
{
    MDB_val v;
    sw_dirty *d;
    int rc;

    for (d = b->buckets[sw__hash(id)]; d; d = d->hnext)
        if (!strcmp(d->inc.id, id)) {
            *out = d;
            return 0;
        }
    if ((rc = sw_store_get(b->e->store, b->txn, SW_DB_INCIDENTS, id, strlen(id), &v)))
        return rc;
    if (!(d = sw__dirty_add(b)))
        return SW_ENOMEM;
    if (sw_incident_decode(v.mv_data, v.mv_size, &d->inc)) {
        sw_log(SW_LOG_ERR, "store: incident %s is unreadable", id);
        b->ndirty--;
        free(d);
        return SW_ENOENT;
    }
    memcpy(d->orig, d->inc.obl, sizeof d->orig);
    d->norig = d->inc.nobl;
    d->orig_state = d->inc.state;
    d->orig_level = d->inc.level;
    sw__dirty_index(b, d);
    *out = d;
    return 0;
}

int sw_batch_timeline(sw_batch *b, sw_dirty *d, int64_t ts, const char *by, cJSON *entry)
{
    unsigned char key[SW_ID_MAX + 8];
    size_t idlen = strlen(d->inc.id);
    char *txt;
    int rc;

    if (!entry)
        return SW_ENOMEM;
    sw_json_add_int(entry, "seq", d->inc.tl_seq);
    sw_json_add_int(entry, "ts", ts);
    cJSON_AddStringToObject(entry, "by", by);
    txt = cJSON_PrintUnformatted(entry);
    cJSON_Delete(entry);
    if (!txt)
        return SW_ENOMEM;
    memcpy(key, d->inc.id, idlen);
    key[idlen] = '/';
    sw_be32_put(key + idlen + 1, d->inc.tl_seq);
    rc = sw_store_put(b->e->store, b->txn, SW_DB_TIMELINE, key, idlen + 5, txt, strlen(txt));
    free(txt);
    if (!rc) {
        d->inc.tl_seq++;
        d->changed = 1;
    }
    return rc;
}

int sw_batch_timeline_state(sw_batch *b, sw_dirty *d, int64_t ts, const char *by,
                            enum sw_state from, enum sw_state to)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "kind", "state");
    cJSON_AddStringToObject(e, "from", sw_state_name(from));
    cJSON_AddStringToObject(e, "to", sw_state_name(to));
    return sw_batch_timeline(b, d, ts, by, e);
}

int sw_batch_timeline_obligation(sw_batch *b, sw_dirty *d, int64_t ts, const char *by,
                                 const char *op)
{
    int rc = 0;
    for (int i = 0; !rc && i < d->inc.nobl; i++) {
        const sw_obligation *ob = &d->inc.obl[i];
        if (ob->status != SW_OBL_MET || ob->met_ms != ts || strcmp(ob->met_by, op))
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "kind", "obligation");
        cJSON_AddStringToObject(e, "name", ob->name);
        cJSON_AddStringToObject(e, "status", "met");
        if (ob->was_missed)
            sw_json_add_int(e, "late_by_s", ((ob->met_ms - ob->due_ms) / 1000));
        rc = sw_batch_timeline(b, d, ts, by, e);
    }
    return rc;
}

/* Queue a publication; `durable` ones go to the outbox at commit. */
static int sw__out(sw_batch *b, char *topic, char *payload, int retained, int durable,
                   const unsigned char *corr, size_t corr_len)
{
    sw_out *o = calloc(1, sizeof *o + corr_len);
    if (!o || !topic || !payload) {
        free(o);
        free(topic);
        cJSON_free(payload);
        return SW_ENOMEM;
    }
    o->topic = topic;
    o->payload = payload;
    o->len = strlen(payload);
    o->retained = retained;
    o->durable = durable;
    if (corr_len) {
        o->corr = (unsigned char *)(o + 1);
        memcpy(o->corr, corr, corr_len);
        o->corr_len = corr_len;
    }
    *b->out_tail = o;
    b->out_tail = &o->next;
    return 0;
}

static char *sw__topic(const char *prefix, const char *site, const char *kind, const char *last)
{
    size_t n = strlen(prefix) + strlen(site) + strlen(kind) + (last ? strlen(last) : 0) + 4;
    char *t = malloc(n);
    if (t)
        snprintf(t, n, last ? "%s/%s/%s/%s" : "%s/%s/%s", prefix, site, kind, last);
    return t;
}

/* A response topic is honoured unless it would let a client publish as
 * siteward elsewhere under the prefix (an incident or another user's
 * reply). */
static int sw__resp_topic_ok(const sw_batch *b, const sw_reply *r, const char *t)
{
    char own[SW_SITE_MAX + SW_ID_MAX + 80];
    size_t plen = strlen(b->e->cfg->prefix), olen;
    if (!*t || strpbrk(t, "+#"))
        return 0;
    if (strncmp(t, b->e->cfg->prefix, plen) || t[plen] != '/')
        return 1;
    olen = (size_t)snprintf(own, sizeof own, "%s/%s/reply/%s", b->e->cfg->prefix, r->site, r->user);
    return !strncmp(t, own, olen) && (t[olen] == 0 || t[olen] == '/');
}

int sw_batch_reply(sw_batch *b, const sw_msg *m, const sw_inmsg *in, sw_dirty *d, int duplicate,
                   const char *code, const char *message)
{
    sw_reply *r = calloc(1, sizeof *r + in->resp_topic_len + 1 + in->corr_len);
    if (!r)
        return SW_ENOMEM;
    snprintf(r->site, sizeof r->site, "%s", m->site);
    snprintf(r->user, sizeof r->user, "%s", m->user);
    if (m->request_id) {
        r->has_request_id = 1;
        snprintf(r->request_id, sizeof r->request_id, "%s", m->request_id);
    }
    if (m->report_id) {
        r->has_report_id = 1;
        snprintf(r->report_id, sizeof r->report_id, "%s", m->report_id);
    }
    r->duplicate = duplicate;
    if (code) {
        snprintf(r->code, sizeof r->code, "%s", code);
        snprintf(r->message, sizeof r->message, "%s", message ? message : code);
    }
    r->d = d;
    if (in->resp_topic_len) {
        r->resp_topic = (char *)(r + 1);
        memcpy(r->resp_topic, in->resp_topic, in->resp_topic_len);
        r->corr = (unsigned char *)r->resp_topic + in->resp_topic_len + 1;
        if (in->corr_len)
            memcpy(r->corr, in->corr, in->corr_len);
        r->corr_len = in->corr_len;
    }
    *b->replies_tail = r;
    b->replies_tail = &r->next;
    return 0;
}

int sw_batch_reply_attach(sw_batch *b, const char *key, cJSON *item)
{
    sw_reply *r = b->replies;
    while (r && r->next)
        r = r->next;
    if (!r || !item) {
        cJSON_Delete(item);
        return item ? SW_EINVAL : SW_ENOMEM;
    }
    cJSON_Delete(r->extra);
    snprintf(r->extra_key, sizeof r->extra_key, "%s", key);
    r->extra = item;
    return 0;
}

int sw_batch_escalation(sw_batch *b, sw_dirty *d, const sw_obligation *ob, const char *label,
                        int step, const char *role, int64_t now)
{
    const sw_site_conf *site = sw_config_site(b->e->cfg, d->inc.site);
    int tz = site ? site->tz_offset_s : 0;
    char summary[256], due[40], text[400];
    cJSON *o = cJSON_CreateObject(), *entry;
    char *payload;
    int rc;

    sw_incident_summary(&d->inc, summary, sizeof summary);
    snprintf(text, sizeof text, "%s: %s", summary, ob ? label : "opened");
    cJSON_AddStringToObject(o, "incident", d->inc.id);
    cJSON_AddStringToObject(o, "site", d->inc.site);
    cJSON_AddStringToObject(o, "class", d->inc.cls);
    if (d->inc.level)
        sw_json_add_int(o, "level", d->inc.level);
    else
        cJSON_AddNullToObject(o, "level");
    if (ob) {
        sw_time_format(ob->due_ms, tz, due, sizeof due);
        cJSON_AddStringToObject(o, "obligation", ob->name);
        cJSON_AddStringToObject(o, "due", due);
        sw_json_add_int(o, "overdue_s", ((now - ob->due_ms) / 1000));
    } else {
        cJSON_AddNullToObject(o, "obligation");
        cJSON_AddNullToObject(o, "due");
        sw_json_add_int(o, "overdue_s", 0);
    }
    sw_json_add_int(o, "step", step);
    cJSON_AddStringToObject(o, "role", role);
    cJSON_AddStringToObject(o, "summary", text);
    payload = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if ((rc = sw__out(b, sw__topic(b->e->cfg->prefix, d->inc.site, "escalation", role), payload, 0,
                      1, NULL, 0)))
        return rc;
    b->stats.escalations++;

    entry = cJSON_CreateObject();
    cJSON_AddStringToObject(entry, "kind", "escalation");
    if (ob) {
        cJSON_AddStringToObject(entry, "obligation", ob->name);
        sw_json_add_int(entry, "overdue_s", ((now - ob->due_ms) / 1000));
    }
    sw_json_add_int(entry, "step", step);
    cJSON_AddStringToObject(entry, "role", role);
    return sw_batch_timeline(b, d, now, "siteward", entry);
}

/* Cut to at most `max` bytes without splitting a UTF-8 sequence. */
static size_t sw__utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

int sw_batch_deadletter(sw_batch *b, const sw_msg *m, const sw_inmsg *in, const char *site)
{
    cJSON *o = cJSON_CreateObject();
    char *payload;

    cJSON_AddStringToObject(o, "topic", in->topic);
    cJSON_AddStringToObject(o, "error", m->error_code);
    cJSON_AddStringToObject(o, "message", m->error_reason);
    /* A message rejected for its topic was never parsed: parse it here, so
     * that a report sent on a malformed topic loses its contact too. */
    size_t valid = sw_utf8_valid(in->payload, in->payload_len);
    /* Bytes that are not UTF-8 would make the dead letter itself bad JSON:
     * such a payload is shown only up to its first bad byte. */
    cJSON *parsed = m->json || valid < in->payload_len
                        ? NULL
                        : cJSON_ParseWithLength(in->payload, in->payload_len);
    const cJSON *obj = valid < in->payload_len ? NULL : m->json ? m->json : parsed;
    if (obj && cJSON_IsObject(obj)) {
        /* Personal data never reaches the dead-letter topic. */
        cJSON *copy = cJSON_Duplicate(obj, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "contact");
        char *txt = cJSON_PrintUnformatted(copy);
        cJSON_Delete(copy);
        if (txt) {
            txt[sw__utf8_cut(txt, strlen(txt), 1024)] = 0;
            cJSON_AddStringToObject(o, "payload", txt);
            cJSON_free(txt);
        }
    } else if (m->kind == SW_MSG_REPORT || strstr(in->topic, "/report/")) {
        /* An unreadable report may still hold a contact: withhold it. */
        cJSON_AddNullToObject(o, "payload");
    } else {
        size_t n = sw__utf8_cut(in->payload, valid, 1024);
        char *txt = malloc(n + 1);
        if (txt) {
            memcpy(txt, in->payload, n);
            txt[n] = 0;
            cJSON_AddStringToObject(o, "payload", txt);
            free(txt);
        }
    }
    cJSON_Delete(parsed);
    payload = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    sw_log(SW_LOG_DEBUG, "dead letter: %s: %s", m->error_code, m->error_reason);
    return sw__out(
        b, sw__topic(b->e->cfg->prefix, site && *site ? site : "_unknown", "deadletter", NULL),
        payload, 0, 1, NULL, 0);
}

void sw_batch_rejected(sw_batch *b, const char *code)
{
    int i = 0;
    b->stats.rejected++;
    while (i < b->nrejected && strcmp(b->rejected[i].code, code))
        i++;
    if (i == b->nrejected) {
        if (b->nrejected == (int)(sizeof b->rejected / sizeof *b->rejected))
            i--;
        else
            snprintf(b->rejected[b->nrejected++].code, SW_CODE_MAX, "%s", code);
    }
    b->rejected[i].n++;
}

void sw_batch_calendar_uncovered(sw_batch *b, const sw_site_conf *site)
{
    if (!b->stats.calendar_uncovered)
        sw_log(SW_LOG_WARNING,
               "site %s: calendar %s does not cover a day a due time was computed over; "
               "weekends alone were used",
               site->name, site->calendar.name);
    b->stats.calendar_uncovered++;
}

static int sw__deadline(sw_batch *b, const sw_incident *inc, int64_t due, const char *name, int put)
{
    unsigned char key[SW_DEADLINE_KEY_MAX];
    size_t klen = sw_deadline_key(key, due, inc->id, name);
    if (put)
        return sw_store_put(b->e->store, b->txn, SW_DB_DEADLINES, key, klen, "", 0);
    int rc = sw_store_del(b->e->store, b->txn, SW_DB_DEADLINES, key, klen);
    return rc == SW_ENOENT ? 0 : rc;
}

static int sw__flush(sw_batch *b, sw_dirty *d)
{
    sw_incident *inc = &d->inc;
    char key[SW_SITE_MAX + SW_ID_MAX + 2];
    size_t klen;
    char *txt;
    int rc = 0;

    for (int i = 0; !rc && i < d->norig; i++)
        if (sw_obl_timed(&d->orig[i]))
            rc = sw__deadline(b, inc, d->orig[i].next_ms, d->orig[i].name, 0);
    for (int i = 0; !rc && i < inc->nobl; i++)
        if (sw_obl_timed(&inc->obl[i]))
            rc = sw__deadline(b, inc, inc->obl[i].next_ms, inc->obl[i].name, 1);
    if (rc)
        return rc;

    klen = (size_t)snprintf(key, sizeof key, "%s/%s", inc->site, inc->id);
    if (inc->state < SW_ST_CLOSED && (d->created || d->orig_state >= SW_ST_CLOSED))
        rc = sw_store_put(b->e->store, b->txn, SW_DB_OPEN, key, klen, "", 0);
    else if (inc->state >= SW_ST_CLOSED && !d->created && d->orig_state < SW_ST_CLOSED)
        rc = sw_store_del(b->e->store, b->txn, SW_DB_OPEN, key, klen);
    if (rc && rc != SW_ENOENT)
        return rc;

    if (!(txt = sw_incident_encode(inc)))
        return SW_ENOMEM;
    rc = sw_store_put(b->e->store, b->txn, SW_DB_INCIDENTS, inc->id, strlen(inc->id), txt,
                      strlen(txt));
    cJSON_free(txt);
    return rc;
}

static cJSON *sw__public(sw_batch *b, sw_dirty *d)
{
    if (!d->public) {
        const sw_site_conf *site = sw_config_site(b->e->cfg, d->inc.site);
        d->public = sw_incident_public(&d->inc, site ? site->tz_offset_s : 0);
    }
    return d->public;
}

static int sw__replies(sw_batch *b)
{
    int rc = 0;
    for (sw_reply *r = b->replies; r && !rc; r = r->next) {
        cJSON *o = cJSON_CreateObject();
        char *payload;
        if (r->has_request_id)
            cJSON_AddStringToObject(o, "request_id", r->request_id);
        if (r->has_report_id)
            cJSON_AddStringToObject(o, "report_id", r->report_id);
        cJSON_AddBoolToObject(o, "ok", !r->code[0]);
        if (r->code[0]) {
            cJSON_AddStringToObject(o, "error", r->code);
            cJSON_AddStringToObject(o, "message", r->message);
        }
        if (r->duplicate)
            cJSON_AddBoolToObject(o, "duplicate", 1);
        if (r->d && sw__public(b, r->d))
            cJSON_AddItemToObject(o, "incident", cJSON_Duplicate(sw__public(b, r->d), 1));
        if (r->extra)
            cJSON_AddItemToObject(o, r->extra_key, cJSON_Duplicate(r->extra, 1));
        payload = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (r->resp_topic && sw__resp_topic_ok(b, r, r->resp_topic)) {
            char *copy = payload ? strdup(payload) : NULL;
            char *topic = strdup(r->resp_topic);
            if ((rc = sw__out(b, topic, copy, 0, 1, r->corr, r->corr_len))) {
                cJSON_free(payload);
                break;
            }
        }
        rc = sw__out(b, sw__topic(b->e->cfg->prefix, r->site, "reply", r->user), payload, 0, 1,
                     r->corr_len ? r->corr : NULL, r->corr_len);
    }
    return rc;
}

/* `o` as a publication (borrowing its parts). */
static sw_publication sw__publication(const sw_out *o)
{
    return (sw_publication){.topic = o->topic,
                            .payload = o->payload,
                            .len = o->len,
                            .retained = o->retained,
                            .corr = o->corr,
                            .corr_len = o->corr_len,
                            .outbox_id = o->id};
}

/* Outbox entries for the durable publications, numbered from e->outbox_next;
 * deletions of those the broker acknowledged since the last commit. */
static int sw__outbox(sw_batch *b)
{
    sw_engine *e = b->e;
    uint64_t id = e->outbox_next;
    int rc = 0;

    for (sw_out *o = b->out; o && !rc; o = o->next) {
        if (!o->durable)
            continue;
        o->id = id++;
        sw_publication p = sw__publication(o);
        rc = sw_outbox_put(e->store, b->txn, o->id, &p);
    }
    if (!rc)
        rc = sw_outbox_del(e->store, b->txn, e->acked.v, e->acked.n);
    b->outbox_next = id;
    b->acked_done = e->acked.n;
    return rc;
}

int sw_batch_commit(sw_batch *b, uint64_t last_seq)
{
    unsigned char be[8];
    int rc = 0;

    for (int i = 0; i < b->ndirty; i++) {
        if (!b->dirty[i]->changed)
            continue;
        if ((rc = sw__flush(b, b->dirty[i])))
            return rc;
        /* Until the broker has it, its retained state is owed (engine.h). */
        char key[SW_ID_MAX + 8];
        size_t klen = (size_t)snprintf(key, sizeof key, "pub/%s", b->dirty[i]->inc.id);
        if ((rc = sw_store_put(b->e->store, b->txn, SW_DB_META, key, klen, "", 0)))
            return rc;
    }
    if ((rc = sw_gauges_commit(b)))
        return rc;
    /* Never lowered: a batch without messages (a tick) keeps the mark. */
    if (last_seq < b->e->applied_seq)
        last_seq = b->e->applied_seq;
    sw_be64_put(be, last_seq);
    if ((rc = sw_store_put(b->e->store, b->txn, SW_DB_META, "inbox_applied", 13, be, 8)))
        return rc;
    /* Render before commit so an allocation failure aborts cleanly. */
    for (int i = 0; i < b->ndirty; i++) {
        sw_dirty *d = b->dirty[i];
        if (!d->changed)
            continue;
        char *txt = sw__public(b, d) ? cJSON_PrintUnformatted(d->public) : NULL;
        if ((rc = sw__out(b, sw__topic(b->e->cfg->prefix, d->inc.site, "incident", d->inc.id), txt,
                          1, 0, NULL, 0)))
            return rc;
    }
    if ((rc = sw__replies(b)) || (rc = sw__outbox(b)))
        return rc;
    rc = sw_store_commit(b->e->store, b->txn);
    b->txn = NULL;
    if (rc)
        return rc;
    b->last_seq = last_seq;
    b->e->outbox_next = b->outbox_next;
    /* The deletions committed; acknowledgements are added only between
     * batches (on this thread), so all of them went. */
    b->e->acked.n -= b->acked_done;
    return 0;
}

void sw_batch_publish(sw_batch *b)
{
    sw_engine *e = b->e;
    for (sw_out *o = b->out; o; o = o->next) {
        /* Behind entries still waiting for room: their turn comes in order
         * (sw_engine_pump). */
        if (o->id && e->spill_from)
            continue;
        sw_publication p = sw__publication(o);
        if (e->pub.publish(e->pub.ctx, &p, 0) != SW_EAGAIN)
            continue;
        if (o->id)
            e->spill_from = o->id;
        else
            sw_engine_states_lost(e);
    }
    for (int i = 0; i < b->ndirty; i++)
        if (b->dirty[i]->changed && b->dirty[i]->public)
            sw_plugins_incident(e->plugins, b->dirty[i]->public);
    e->stats.received += b->stats.received;
    e->stats.accepted += b->stats.accepted;
    e->stats.rejected += b->stats.rejected;
    e->stats.duplicates += b->stats.duplicates;
    e->stats.opened += b->stats.opened;
    e->stats.escalations += b->stats.escalations;
    e->stats.calendar_uncovered += b->stats.calendar_uncovered;
    e->stats.batches++;
    if (e->metrics) {
        for (int i = 0; i < b->nrejected; i++)
            sw_metrics_rejected(e->metrics, b->rejected[i].code, b->rejected[i].n);
        sw_gauges_publish(e->metrics, b);
    }
    if (b->last_seq)
        e->applied_seq = b->last_seq;
    /* What waits behind earlier entries goes on now, whichever kind of
     * batch this was (messages, deadlines, a reload). */
    if (e->spill_from || e->resend.n || e->states_owed)
        sw_engine_pump(e);
}

void sw_batch_end(sw_batch *b)
{
    if (b->txn)
        mdb_txn_abort(b->txn);
    for (int i = 0; i < b->ndirty; i++) {
        sw_incident_free(&b->dirty[i]->inc);
        cJSON_Delete(b->dirty[i]->public);
        free(b->dirty[i]);
    }
    free(b->dirty);
    sw_gauges_free(b->gauges);
    for (sw_out *o = b->out, *n; o; o = n) {
        n = o->next;
        free(o->topic);
        cJSON_free(o->payload);
        free(o);
    }
    for (sw_reply *r = b->replies, *n; r; r = n) {
        n = r->next;
        cJSON_Delete(r->extra);
        free(r);
    }
    memset(b, 0, sizeof *b);
}
