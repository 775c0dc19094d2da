#include "engine.h"
#include "json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "command.h"
#include "expect.h"
#include "log.h"
#include "metrics.h"
#include "obligations.h"
#include "planned.h"
#include "silence.h"
#include "timeutil.h"
#include "topic.h"

static int64_t sw__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sw_engine_init(sw_engine *e, const sw_config *cfg, const sw_policy *policy, sw_store *store,
                   sw_plugins *plugins, sw_publisher pub)
{
    MDB_txn *txn;
    MDB_val v;
    int rc;

    memset(e, 0, sizeof *e);
    e->cfg = cfg;
    e->policy = policy;
    e->store = store;
    e->plugins = plugins;
    e->pub = pub;
    if ((rc = sw_store_begin(store, 0, &txn)))
        return rc;
    rc = sw_store_get(store, txn, SW_DB_META, "inbox_applied", 13, &v);
    if (!rc && v.mv_size == 8)
        e->applied_seq = sw_be64_get(v.mv_data);
    if (rc == SW_ENOENT)
        rc = 0;
    /* Everything owed before the stop is offered again (owed.c). */
    if (!rc && !(rc = sw_outbox_next_id(store, txn, &e->outbox_next)))
        rc = sw_outbox_first(store, txn, 0, &e->spill_from);
    e->states_owed = 1;
    mdb_txn_abort(txn);
    return rc;
}

/* Opened time: the device's own time when it is plausible, else arrival. */
static int64_t sw__first_alarm(const sw_msg *m)
{
    int64_t skew = m->received_ms - m->ts_ms;
    return (skew >= 0 && skew <= 10 * 60000) ? m->ts_ms : m->received_ms;
}

int sw_batch_new_id(sw_batch *b, const char *site, int64_t ms, int tz, char *out, size_t len)
{
    char key[96], date[16];
    int64_t local = ms + (int64_t)tz * 1000;
    int64_t day = local / SW_MS_PER_DAY - (local % SW_MS_PER_DAY < 0);
    int y;
    unsigned mo, d;
    unsigned char be[4];
    MDB_val v;
    uint32_t n = 0;
    int rc;

    sw_civil_from_days(day, &y, &mo, &d);
    snprintf(date, sizeof date, "%04d%02u%02u", y, mo, d);
    size_t klen = (size_t)snprintf(key, sizeof key, "seq/%s/%s", site, date);
    rc = sw_store_get(b->e->store, b->txn, SW_DB_META, key, klen, &v);
    if (!rc && v.mv_size == 4)
        n = sw_be32_get(v.mv_data);
    else if (rc && rc != SW_ENOENT)
        return rc;
    /* Retention deletes the counters of past days (retention.c). A day
     * without one may still have incidents (an alarm replayed at a window
     * end that fired days late): never give out a number already taken. */
    int check = rc == SW_ENOENT;
    do {
        n++;
        snprintf(out, len, "%s-%s-%04" PRIu32, site, date, n);
    } while (check &&
             !(rc = sw_store_get(b->e->store, b->txn, SW_DB_INCIDENTS, out, strlen(out), &v)));
    if (check && rc != SW_ENOENT)
        return rc;
    sw_be32_put(be, n);
    return sw_store_put(b->e->store, b->txn, SW_DB_META, key, klen, be, 4);
}

/* Add the message payload as stored: personal data removed from reports;
 * an event's validated payload is kept as received, without a re-print. */
static void sw__add_payload(cJSON *o, const sw_msg *m)
{
    if (m->kind == SW_MSG_EVENT) {
        cJSON_AddRawToObject(o, "payload", m->payload);
        return;
    }
    cJSON *p = cJSON_Duplicate(m->json, 1);
    if (p)
        cJSON_DeleteItemFromObjectCaseSensitive(p, "contact");
    cJSON_AddItemToObject(o, "payload", p);
}

int sw_engine_open_incident(sw_batch *b, sw_msg *m, const sw_class *cls, const sw_site_conf *site,
                            sw_dirty **out)
{
    sw_dirty *d;
    char id[SW_ID_MAX + 1];
    int rc, uncovered = 0;

    if ((rc = sw_batch_new_id(b, m->site, sw__first_alarm(m), site->tz_offset_s, id, sizeof id)))
        return rc;
    if (!(d = sw_batch_dirty_new(b, id)))
        return SW_ENOMEM;
    sw_incident *inc = &d->inc;
    snprintf(inc->site, sizeof inc->site, "%s", m->site);
    snprintf(inc->cls, sizeof inc->cls, "%s", cls->name);
    snprintf(inc->label, sizeof inc->label, "%s", cls->label);
    snprintf(inc->priority, sizeof inc->priority, "%s", cls->priority);
    /* A resident's urgent request is urgent whatever the class default. */
    if (m->urgency && !strcmp(m->urgency, "urgent"))
        snprintf(inc->priority, sizeof inc->priority, "urgent");
    inc->level = cls->level;
    inc->state = SW_ST_OPEN;
    inc->opened_ms = sw__first_alarm(m);
    inc->review_required = cls->has_review;
    inc->location = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(m->json, "location"), 1);
    snprintf(inc->corr_key, sizeof inc->corr_key, "%s", m->corr_key);
    sw_obl_arm(inc, cls, SW_FROM_OPENED, inc->opened_ms, site, b->e->cfg->clock_scale, &uncovered);
    if (uncovered)
        sw_batch_calendar_uncovered(b, site);
    b->stats.opened++;
    d->changed = 1;
    *out = d;
    return 0;
}

static int sw__corr_put(sw_batch *b, const char *key, int64_t ms, const char *id)
{
    unsigned char val[8 + SW_ID_MAX];
    size_t idlen = strlen(id);
    sw_be64_put(val, (uint64_t)ms);
    memcpy(val + 8, id, idlen);
    return sw_store_put(b->e->store, b->txn, SW_DB_CORR, key, strlen(key), val, 8 + idlen);
}

/* The open incident `m` joins, or NULL. */
static int sw__correlate(sw_batch *b, const sw_msg *m, sw_dirty **out)
{
    MDB_val v;
    char id[SW_ID_MAX + 1];
    int rc;

    *out = NULL;
    if (!m->corr_key[0])
        return 0;
    rc = sw_store_get(b->e->store, b->txn, SW_DB_CORR, m->corr_key, strlen(m->corr_key), &v);
    if (rc == SW_ENOENT)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size <= 8 || v.mv_size - 8 > SW_ID_MAX)
        return 0;
    int64_t last = (int64_t)sw_be64_get(v.mv_data);
    memcpy(id, (char *)v.mv_data + 8, v.mv_size - 8);
    id[v.mv_size - 8] = 0;
    if (m->received_ms - last > m->corr_window_ms)
        return 0;
    if ((rc = sw_batch_load(b, id, out)) == SW_ENOENT)
        return 0;
    if (!rc && (*out)->inc.state >= SW_ST_RESOLVED)
        *out = NULL;
    return rc;
}

/* A record (sw_engine_record); `stale`: kept because the event's own time
 * is older than the dedup keys are kept (sw__event_or_report). */
static int sw__record(sw_batch *b, sw_msg *m, uint64_t seq, const char *silenced_by, int stale)
{
    char key[SW_SITE_MAX + 24];
    size_t n = (size_t)snprintf(key, sizeof key, "%s/", m->site);
    cJSON *o = cJSON_CreateObject();
    char *txt;
    int rc;

    sw_be64_put((unsigned char *)key + n, (uint64_t)m->received_ms);
    sw_be64_put((unsigned char *)key + n + 8, seq);
    cJSON_AddStringToObject(o, "topic", m->topic);
    sw_json_add_int(o, "received", m->received_ms);
    cJSON_AddStringToObject(o, "class", m->cls);
    if (silenced_by)
        cJSON_AddStringToObject(o, "silenced_by", silenced_by);
    if (stale)
        cJSON_AddBoolToObject(o, "stale", 1);
    sw__add_payload(o, m);
    txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!txt)
        return SW_ENOMEM;
    rc = sw_store_put(b->e->store, b->txn, SW_DB_RECORDS, key, n + 16, txt, strlen(txt));
    free(txt);
    return rc;
}

int sw_engine_record(sw_batch *b, sw_msg *m, uint64_t seq, const char *silenced_by)
{
    return sw__record(b, m, seq, silenced_by, 0);
}

int sw_engine_dedup_put(sw_batch *b, const sw_msg *m, const char *id)
{
    unsigned char val[8 + SW_ID_MAX];
    size_t n = strlen(id);

    if (!m->dedup_key[0])
        return 0;
    if (n > SW_ID_MAX)
        return SW_EINVAL;
    sw_be64_put(val, (uint64_t)m->received_ms);
    memcpy(val + 8, id, n);
    return sw_store_put(b->e->store, b->txn, SW_DB_DEDUP, m->dedup_key, strlen(m->dedup_key), val,
                        8 + n);
}

/* A retransmission: count it; a report or command gets its answer again. */
static int sw__duplicate(sw_batch *b, sw_msg *m, const sw_inmsg *in, int *is_dup)
{
    MDB_val v;
    char id[SW_ID_MAX + 1];
    sw_dirty *d = NULL;
    int rc;

    *is_dup = 0;
    if (!m->dedup_key[0])
        return 0;
    rc = sw_store_get(b->e->store, b->txn, SW_DB_DEDUP, m->dedup_key, strlen(m->dedup_key), &v);
    if (rc == SW_ENOENT)
        return 0;
    if (rc)
        return rc;
    *is_dup = 1;
    b->stats.duplicates++;
    if (m->kind == SW_MSG_EVENT)
        return 0;
    sw_dedup_value(&v, NULL, id);
    if (id[0] && (rc = sw_batch_load(b, id, &d)) && rc != SW_ENOENT)
        return rc;
    return sw_batch_reply(b, m, in, d, 1, NULL, NULL);
}

static int sw__event_or_report(sw_batch *b, sw_msg *m, const sw_inmsg *in)
{
    const sw_class *cls = sw_policy_class(b->e->policy, m->cls);
    const sw_site_conf *site = sw_config_site(b->e->cfg, m->site);
    sw_dirty *d = NULL;
    int rc, dup;
    char by[SW_ID_MAX + 16];

    if (!cls)
        return sw_msg_reject(m, "unknown_class", "class \"%s\" is not in the policy", m->cls);
    if (!b->replay && ((rc = sw__duplicate(b, m, in, &dup)) || dup))
        return rc;
    /* Dedup keys are kept retention.dedup after their event arrived, then
     * purged (retention.c), so a retransmission later than that would not
     * be known. The rule that makes this harmless: an event whose own time
     * is older than retention.dedup is kept in the records, marked stale,
     * and opens, joins, meets or pages nothing; a forgotten key can never
     * re-open a purged or closed incident. (An event without "ts" is taken
     * as sent when received, so a device that retransmits must send ts.) */
    if (m->kind == SW_MSG_EVENT && !b->replay &&
        m->received_ms - m->ts_ms > sw_expect_scaled(b, b->e->policy->dedup_ms)) {
        if ((rc = sw__record(b, m, in->seq, NULL, 1)) || (rc = sw_engine_dedup_put(b, m, "")))
            return rc;
        b->stats.accepted++;
        return 0;
    }
    /* Expected (planned work) or muted (a silence): kept, paged to nobody. */
    if (!b->replay && ((rc = sw_plan_explain(b, m, &dup)) || dup))
        return rc;
    if ((rc = sw_silence_mute(b, m, in->seq, &dup)) || dup)
        return rc;
    /* Patrol and inspection check-ins, silent devices, thresholds. */
    if ((rc = sw_expect_event(b, m)))
        return rc;
    if (!cls->incident) {
        if ((rc = sw_engine_record(b, m, in->seq, NULL)) || (rc = sw_engine_dedup_put(b, m, "")))
            return rc;
        b->stats.accepted++;
        return 0;
    }
    if ((rc = sw__correlate(b, m, &d)))
        return rc;
    /* A condition that cleared is news only for an incident already open. */
    if (!d && m->normal) {
        if ((rc = sw_engine_record(b, m, in->seq, NULL)) || (rc = sw_engine_dedup_put(b, m, "")))
            return rc;
        b->stats.accepted++;
        return 0;
    }
    int opened = !d;
    if (opened && (rc = sw_engine_open_incident(b, m, cls, site, &d)))
        return rc;
    if (m->corr_key[0] && (rc = sw__corr_put(b, m->corr_key, m->received_ms, d->inc.id)))
        return rc;

    sw_incident *inc = &d->inc;
    if (m->kind == SW_MSG_EVENT)
        snprintf(by, sizeof by, "%s/%s", m->source, m->device);
    else
        snprintf(by, sizeof by, "report/%s", m->user);
    inc->events++;
    inc->updated_ms = m->received_ms;
    inc->last_event_ms = m->received_ms;
    sw_incident_add_source(inc, by);
    d->changed = 1;

    cJSON *entry = cJSON_CreateObject();
    cJSON_AddStringToObject(entry, "kind", m->kind == SW_MSG_EVENT ? "event" : "report");
    cJSON_AddStringToObject(entry, "topic", m->topic);
    sw__add_payload(entry, m);
    if ((rc = sw_batch_timeline(b, d, m->received_ms, by, entry)))
        return rc;
    /* Level I: the manager hears at once, before any limit passes. */
    for (int i = 0; opened && i < cls->nnotify; i++)
        if ((rc = sw_batch_escalation(b, d, NULL, NULL, 0, cls->notify[i], m->received_ms)))
            return rc;
    if (m->meets[0] && !m->normal && sw_obl_meet(inc, m->meets, m->received_ms, by) > 0 &&
        (rc = sw_batch_timeline_obligation(b, d, m->received_ms, by, m->meets)))
        return rc;
    /* Where the policy says so, the all-clear resolves (never for Level I by
     * default: an operator decides). */
    if (m->normal && cls->resolve_on_normal && inc->state < SW_ST_RESOLVED &&
        (rc = sw_command_transition(b, d, SW_ST_RESOLVED, m->received_ms, by)))
        return rc;
    if ((rc = sw_engine_dedup_put(b, m, inc->id)))
        return rc;
    if (m->kind == SW_MSG_REPORT && m->contact) {
        char key[SW_KEY_MAX];
        char *txt = cJSON_PrintUnformatted(m->contact);
        size_t n = (size_t)snprintf(key, sizeof key, "%s/%s/%s", inc->id, m->user,
                                    m->report_id ? m->report_id : "-");
        if (!txt)
            return SW_ENOMEM;
        rc = sw_store_put(b->e->store, b->txn, SW_DB_PERSONAL, key, n, txt, strlen(txt));
        free(txt);
        if (rc)
            return rc;
    }
    b->stats.accepted++;
    if (m->kind == SW_MSG_REPORT)
        return sw_batch_reply(b, m, in, d, 0, NULL, NULL);
    return 0;
}

static int sw__command(sw_batch *b, sw_msg *m, const sw_inmsg *in)
{
    sw_dirty *d = NULL;
    const char *code = NULL;
    char why[SW_REASON_MAX];
    int rc, dup;

    if ((rc = sw__duplicate(b, m, in, &dup)) || dup)
        return rc;
    if ((rc = sw_plugins_run(b->e->plugins, SW_HOOK_COMMAND, m)))
        return rc;
    if (sw_silence_is_op(m->op)) /* needs no incident */
        return sw_silence_command(b, m, in);
    if (!sw_op_known(m->op)) {
        code = "unknown_op";
        snprintf(why, sizeof why, "op \"%s\" is not one of the contract's ops", m->op);
    } else if (sw_expect_op(m->op)) {
        /* An op of expected events ("inspected") names no incident; it is
         * kept in the records. */
        if ((rc = sw_expect_command(b, m, &code, why, sizeof why)) < 0)
            return rc;
        snprintf(m->cls, sizeof m->cls, "inspection");
        if (!code && (rc = sw_engine_record(b, m, in->seq, NULL)))
            return rc;
    } else if (!m->incident_id) {
        code = "bad_command";
        snprintf(why, sizeof why, "\"incident\" is required");
    } else if ((rc = sw_batch_load(b, m->incident_id, &d)) == SW_ENOENT ||
               (!rc && strcmp(d->inc.site, m->site))) {
        d = NULL;
        code = "unknown_incident";
        snprintf(why, sizeof why, "no incident %s at site %s", m->incident_id, m->site);
    } else if (rc) {
        return rc;
    } else if ((rc = sw_command_apply(b, d, m, &code, why, sizeof why)) < 0) {
        return rc;
    }
    if (code) {
        sw_batch_rejected(b, code);
        return sw_batch_reply(b, m, in, d, 0, code, why);
    }
    if ((rc = sw_engine_dedup_put(b, m, d ? d->inc.id : "")))
        return rc;
    b->stats.accepted++;
    return sw_batch_reply(b, m, in, d, 0, NULL, NULL);
}

/* A planned-work report: its own record, notices and window (planned.h). */
static int sw__planned(sw_batch *b, sw_msg *m, const sw_inmsg *in)
{
    sw_dirty *d = NULL;
    int rc, dup;

    if ((rc = sw__duplicate(b, m, in, &dup)) || dup)
        return rc;
    if ((rc = sw_plan_report(b, m, &d)) || (rc = sw_engine_dedup_put(b, m, d->inc.id)))
        return rc;
    b->stats.accepted++;
    return sw_batch_reply(b, m, in, d, 0, NULL, NULL);
}

/* One message: parse the topic, run the plugins, apply. Returns 0 when the
 * message was handled (applied or answered) and a negative code only for
 * failures that must abort the whole transaction. */
static int sw__one(sw_batch *b, const sw_inmsg *in)
{
    sw_msg m;
    sw_topic t;
    const char *code = NULL;
    int rc;

    memset(&m, 0, sizeof m);
    m.size = sizeof m;
    m.topic = in->topic;
    m.payload = in->payload;
    m.payload_len = in->payload_len;
    m.received_ms = in->received_ms;
    b->stats.received += !b->replay;

    const sw_foreign *foreign = NULL;
    if (sw_topic_parse(b->e->cfg->prefix, in->topic, in->topic_len, &t, &code)) {
        /* Outside the contract: a foreign device's topic, if one is mapped. */
        int frc = b->e->cfg->nforeign
                      ? sw_foreign_match(b->e->cfg, in->topic, in->topic_len, &t, &foreign, &code)
                      : SW_ENOENT;
        if (frc) {
            sw_msg_reject(&m, code, "%s",
                          frc == SW_EINVAL
                              ? "the level of this mapped topic that names the device is not "
                                "an id of the contract (1-128 of A-Z a-z 0-9 _ - . :)"
                              : "topic is not P/{site}/event/{source}/{device}, "
                                "P/{site}/report/{user} or P/{site}/cmd/{user} with ids of the "
                                "contract's alphabet");
            rc = SW_EREJECTED;
            goto done;
        }
    }
    m.mapping = foreign ? foreign->mapping : NULL;
    m.kind = t.kind;
    m.site = t.site;
    m.source = t.source[0] ? t.source : NULL;
    m.device = t.device[0] ? t.device : NULL;
    m.user = t.user[0] ? t.user : NULL;
    if (in->payload_full_len > SW_PAYLOAD_MAX) {
        rc = sw_msg_reject(&m, "too_large", "payload of %zu bytes is over the %d-byte limit",
                           in->payload_full_len, SW_PAYLOAD_MAX);
        goto done;
    }
    if (!sw_config_site(b->e->cfg, m.site)) {
        rc =
            sw_msg_reject(&m, "unknown_site", "site %s is not configured on this instance", m.site);
        goto done;
    }
    if ((rc = sw_plugins_run(b->e->plugins, SW_HOOK_DECODE, &m)))
        goto done;
    if (m.kind != SW_MSG_COMMAND && !sw_plan_is_report(&m)) {
        if ((rc = sw_plugins_run(b->e->plugins, SW_HOOK_CLASSIFY, &m)))
            goto done;
        if (!m.cls[0]) {
            rc = sw_msg_reject(&m, "unclassified", "no plugin classified this message");
            goto done;
        }
    }
    if ((rc = sw_plugins_run(b->e->plugins, SW_HOOK_CORRELATE, &m)))
        goto done;
    rc = m.kind == SW_MSG_COMMAND ? sw__command(b, &m, in)
         : sw_plan_is_report(&m)  ? sw__planned(b, &m, in)
                                  : sw__event_or_report(b, &m, in);
done:
    if (rc == SW_EREJECTED || (rc && m.error_code[0])) {
        if (!m.error_code[0])
            sw_msg_reject(&m, "rejected", "rejected by a plugin");
        sw_batch_rejected(b, m.error_code);
        rc = sw_batch_deadletter(b, &m, in, t.site);
        if (!rc && m.user && m.kind != SW_MSG_EVENT)
            rc = sw_batch_reply(b, &m, in, NULL, 0, m.error_code, m.error_reason);
    }
    cJSON_Delete(m.json);
    return rc;
}

int sw_engine_replay(sw_batch *b, const char *topic, const char *payload, int64_t received_ms,
                     uint64_t seq)
{
    sw_inmsg *in =
        sw_inmsg_new(topic, strlen(topic), payload, strlen(payload), NULL, 0, NULL, 0, received_ms);
    int rc;
    if (!in)
        return SW_ENOMEM;
    /* Outside the inbox's sequence, so records never collide with it. */
    in->seq = (1ULL << 63) | seq;
    b->replay = 1;
    rc = sw__one(b, in);
    b->replay = 0;
    free(in);
    return rc;
}

int sw_engine_apply(sw_engine *e, sw_inmsg *const *msgs, int n)
{
    for (int attempt = 0;; attempt++) {
        sw_batch b;
        int rc = sw_batch_begin(&b, e);
        for (int i = 0; !rc && i < n; i++)
            rc = sw__one(&b, msgs[i]);
        if (!rc && n)
            rc = sw_batch_commit(&b, msgs[n - 1]->seq);
        if (!rc) {
            sw_batch_publish(&b);
            sw_batch_end(&b);
            e->storage_fault = 0;
            if (e->metrics) {
                int64_t now = sw__now_ms();
                for (int i = 0; i < n; i++)
                    sw_metrics_latency(e->metrics, now - msgs[i]->received_ms);
            }
            return 0;
        }
        sw_batch_end(&b);
        if (rc != SW_EMAPFULL || attempt > 8 || sw_store_grow(e->store)) {
            if (rc == SW_ENOSPC || rc == SW_EMAPFULL || rc == SW_ESTORE) {
                e->storage_fault = 1;
                e->stats.storage_errors++;
            }
            return rc;
        }
    }
}

char *sw_engine_stats_json(sw_engine *e, size_t inbox_backlog, uint64_t inbox_errors,
                           int inbox_fault)
{
    MDB_txn *txn;
    cJSON *o = cJSON_CreateObject();
    char *out;

    if (!o)
        return NULL;
    sw_json_add_int(o, "received", e->stats.received);
    sw_json_add_int(o, "accepted", e->stats.accepted);
    sw_json_add_int(o, "rejected", e->stats.rejected);
    sw_json_add_int(o, "duplicates", e->stats.duplicates);
    if (!sw_store_begin(e->store, 0, &txn)) {
        sw_json_add_int(o, "incidents_open", (double)sw_store_count(e->store, txn, SW_DB_OPEN));
        sw_json_add_int(o, "timers_armed", (double)sw_store_count(e->store, txn, SW_DB_DEADLINES));
        /* Escalations, replies and dead letters not yet acknowledged (outbox.h). */
        sw_json_add_int(o, "outbox", (double)sw_store_count(e->store, txn, SW_DB_OUTBOX));
        mdb_txn_abort(txn);
    }
    sw_json_add_int(o, "escalations_sent", e->stats.escalations);
    sw_json_add_int(o, "store_size", sw_store_used(e->store));
    sw_json_add_int(o, "incidents_opened", e->stats.opened);
    sw_json_add_int(o, "inbox_backlog", inbox_backlog);
    sw_json_add_int(o, "calendar_uncovered", e->stats.calendar_uncovered);
    sw_json_add_int(o, "purged", e->stats.purged);
    /* Added to the contract's counters: a store or inbox that cannot write
     * (disk full) shows here while messages wait (docs/testing.md, "A full disk"). */
    cJSON_AddBoolToObject(o, "storage_fault", e->storage_fault || inbox_fault);
    sw_json_add_int(o, "storage_errors", (double)(e->stats.storage_errors + inbox_errors));
    if (e->metrics)
        sw_metrics_json(e->metrics, o);
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}
