/*
 * Retention: closed incidents and everything kept about them (timeline,
 * contacts, deadlines, correlation key) are purged once the policy's
 * retention has passed since their last change: never while a review is
 * pending, and a review never submitted only once it has been overdue for
 * the policy's grace. Called from a timer in small steps, away from the
 * message batches.
 *
 * Every other database that grows with the traffic has its owner here too,
 * each step examining a bounded number of its keys from where the last one
 * stopped (a full pass takes as many steps as the database has keys over
 * the step's budget; nothing is scanned per message):
 *   dedup    E/ keys, and keys naming no incident: retention.dedup after
 *            they were stored. R/ (reports) and C/ (commands): as long as
 *            the incident they acted on, and at least retention.dedup.
 *   records  retention.keep after the event arrived (keys in time order
 *            per site, so a step deletes from the front of each site).
 *   meta     seq/SITE/YYYYMMDD, the incident-number counter of a day, once
 *            no new incident can be numbered on that day: ids take the site's
 *            local day of the first alarm, at most 10 minutes before arrival
 *            and at most 14 hours from UTC, so a day two UTC days back is done
 *            (a late replay that still lands there skips taken numbers,
 *            sw_batch_new_id). sild/SITE/ID, an ended silence: retention.keep
 *            after it ended.
 *   corr     with the incident it points to (above); a newer incident of the
 *            same key has replaced it otherwise.
 * A planned work is finished when its window has ended and it stands
 * resolved (planned.c): nobody has to close it, so retention does, as
 * "siteward", once retention.keep has passed since its last change; like
 * every closed incident it is purged retention.keep after that.
 * The rest is bounded without a timer: open, deadlines, personal and
 * timeline go with their incident; expect holds one key per round, device
 * or rule; planned work's meta keys end with its window (planned.c);
 * pub/ marks are cleared when published.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "command.h"
#include "engine.h"
#include "incident.h"
#include "log.h"
#include "obligations.h"
#include "timeutil.h"

/* A policy duration on the engine's clock (--clock-scale). */
static int64_t sw__scaled(const sw_engine *e, int64_t ms)
{
    return e->cfg->clock_scale > 0 ? (int64_t)((double)ms / e->cfg->clock_scale) : ms;
}

static int sw__expired(const sw_engine *e, const sw_incident *inc, int64_t now)
{
    int64_t keep = sw__scaled(e, e->policy->keep_ms);
    int64_t grace = sw__scaled(e, e->policy->review_grace_ms);

    if (inc->state < SW_ST_CLOSED || inc->updated_ms + keep > now)
        return 0;
    for (int i = 0; i < inc->nobl; i++) {
        const sw_obligation *ob = &inc->obl[i];
        if (strcmp(ob->name, "review"))
            continue;
        if (ob->status == SW_OBL_PENDING)
            return 0;
        if (ob->status == SW_OBL_MISSED && ob->due_ms + grace > now)
            return 0;
    }
    return 1;
}

static int sw__finished_plan(const sw_engine *e, const sw_incident *inc, int64_t now)
{
    return inc->plan_kind[0] && inc->state == SW_ST_RESOLVED && inc->plan_end_ms <= now &&
           inc->updated_ms + sw__scaled(e, e->policy->keep_ms) <= now;
}

/* Close the finished planned works `ids` in one batch, published like any. */
static int sw__close_plans(sw_engine *e, char *const *ids, int n, int64_t now)
{
    sw_batch b;
    int rc = sw_batch_begin(&b, e);

    for (int i = 0; !rc && i < n; i++) {
        sw_dirty *d;
        if ((rc = sw_batch_load(&b, ids[i], &d)) == SW_ENOENT) {
            rc = 0;
            continue;
        }
        if (!rc && sw__finished_plan(e, &d->inc, now))
            rc = sw_command_transition(&b, d, SW_ST_CLOSED, now, "siteward");
    }
    if (!rc && n)
        rc = sw_batch_commit(&b, e->applied_seq);
    if (!rc && n)
        sw_batch_publish(&b);
    sw_batch_end(&b);
    return rc;
}

/* Delete every key of `db` that starts with `prefix`. */
static int sw__del_prefix(sw_store *st, MDB_txn *txn, enum sw_db db, const char *prefix)
{
    size_t plen = strlen(prefix);
    MDB_cursor *cur;
    MDB_val k, v;

    if (mdb_cursor_open(txn, st->dbi[db], &cur))
        return SW_ESTORE;
    for (;;) {
        k.mv_size = plen;
        k.mv_data = (void *)prefix;
        if (mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) || k.mv_size < plen ||
            memcmp(k.mv_data, prefix, plen) || mdb_cursor_del(cur, 0))
            break;
    }
    mdb_cursor_close(cur);
    return 0;
}

/* Purge `inc` and everything kept about it; its retained message on the
 * broker is cleared by an empty retained message, an outbox entry numbered
 * *next_id (outbox.h), so that it goes out even after a crash. */
static int sw__purge_one(sw_engine *e, MDB_txn *txn, const sw_incident *inc, uint64_t *next_id)
{
    char prefix[SW_ID_MAX + 8];
    char topic[SW_SITE_MAX + SW_ID_MAX + 96];
    unsigned char key[SW_DEADLINE_KEY_MAX];
    size_t idlen = strlen(inc->id);
    int rc;

    snprintf(topic, sizeof topic, "%s/%s/incident/%s", e->cfg->prefix, inc->site, inc->id);
    sw_publication clear = {.topic = topic, .payload = "", .len = 0, .retained = 1};
    if ((rc = sw_outbox_put(e->store, txn, *next_id, &clear)))
        return rc;
    ++*next_id;

    for (int i = 0; i < inc->nobl; i++) {
        const sw_obligation *ob = &inc->obl[i];
        if (!sw_obl_timed(ob))
            continue;
        size_t klen = sw_deadline_key(key, ob->next_ms, inc->id, ob->name);
        rc = sw_store_del(e->store, txn, SW_DB_DEADLINES, key, klen);
        if (rc && rc != SW_ENOENT)
            return rc;
    }
    snprintf(prefix, sizeof prefix, "%s/", inc->id);
    if ((rc = sw__del_prefix(e->store, txn, SW_DB_TIMELINE, prefix)) ||
        (rc = sw__del_prefix(e->store, txn, SW_DB_PERSONAL, prefix)))
        return rc;
    snprintf(prefix, sizeof prefix, "pub/%s", inc->id);
    rc = sw_store_del(e->store, txn, SW_DB_META, prefix, strlen(prefix));
    if (rc && rc != SW_ENOENT)
        return rc;
    /* The correlation key, unless a later incident has taken it over. */
    MDB_val cv;
    if (inc->corr_key[0] &&
        !sw_store_get(e->store, txn, SW_DB_CORR, inc->corr_key, strlen(inc->corr_key), &cv) &&
        cv.mv_size == 8 + idlen && !memcmp((char *)cv.mv_data + 8, inc->id, idlen) &&
        (rc = sw_store_del(e->store, txn, SW_DB_CORR, inc->corr_key, strlen(inc->corr_key))))
        return rc;
    rc = sw_store_del(e->store, txn, SW_DB_INCIDENTS, inc->id, idlen);
    return rc == SW_ENOENT ? 0 : rc;
}

enum { SW__KEEP, SW__DROP, SW__NEXT_GROUP };

/* The verdict on one key: keep it, delete it, or (keys grouped by a part
 * ending in '/' after the walk's prefix, in time order within the group)
 * keep it and skip the rest of its group. */
typedef int (*sw__judge_fn)(sw_engine *e, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                            int64_t now);

/* Examine up to `max` keys of `db` starting with `prefix`, from `pos`
 * (wrapping to the prefix's first key at the end), deleting what `judge`
 * drops; add the deletions to *dropped. */
static int sw__walk(sw_engine *e, MDB_txn *txn, enum sw_db db, const char *prefix, sw_resume *pos,
                    int max, int64_t now, sw__judge_fn judge, int *dropped)
{
    size_t plen = strlen(prefix);
    unsigned char buf[SW_KEY_MAX];
    MDB_cursor *cur;
    MDB_val k, v;
    int rc, seen = 0;

    if (pos->len < plen || memcmp(pos->key, prefix, plen)) {
        memcpy(pos->key, prefix, plen);
        pos->len = plen;
    }
    if (mdb_cursor_open(txn, e->store->dbi[db], &cur))
        return SW_ESTORE;
    k.mv_size = pos->len;
    k.mv_data = pos->key;
    rc = pos->len ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
                  : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (; !rc && seen < max && k.mv_size >= plen && !memcmp(k.mv_data, prefix, plen); seen++) {
        size_t klen = k.mv_size;
        int verdict = klen <= sizeof buf ? judge(e, txn, &k, &v, now) : SW__KEEP;
        const unsigned char *slash;

        if (verdict == SW__KEEP) {
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            continue;
        }
        memcpy(buf, k.mv_data, klen);
        if (verdict == SW__DROP) {
            if ((rc = mdb_cursor_del(cur, 0)))
                break;
            (*dropped)++;
        } else if ((slash = memchr(buf + plen, '/', klen - plen))) {
            /* Past every key of the group: its '/' becomes the next byte. */
            klen = (size_t)(slash - buf) + 1;
            buf[klen - 1] = '/' + 1;
        }
        k.mv_size = klen;
        k.mv_data = buf;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    }
    if (!rc && seen >= max && k.mv_size >= plen && k.mv_size <= sizeof pos->key &&
        !memcmp(k.mv_data, prefix, plen)) {
        memcpy(pos->key, k.mv_data, k.mv_size);
        pos->len = k.mv_size;
    } else if (!rc || rc == MDB_NOTFOUND) {
        pos->len = 0; /* at the end (or past the prefix): the next step wraps */
        rc = 0;
    }
    mdb_cursor_close(cur);
    return rc ? SW_ESTORE : 0;
}

static int sw__judge_dedup(sw_engine *e, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                           int64_t now)
{
    char id[SW_ID_MAX + 1];
    int64_t ms;
    MDB_val iv;

    sw_dedup_value(v, &ms, id);
    if (ms + sw__scaled(e, e->policy->dedup_ms) > now)
        return SW__KEEP;
    /* An event's key goes by time alone: an incident may be purged sooner
     * than a device may retransmit (engine.c says why that is harmless). */
    if (!id[0] || (k->mv_size >= 2 && !memcmp(k->mv_data, "E/", 2)))
        return SW__DROP;
    return sw_store_get(e->store, txn, SW_DB_INCIDENTS, id, strlen(id), &iv) == SW_ENOENT
               ? SW__DROP
               : SW__KEEP;
}

/* SITE/be64(ms)/be64(seq): the oldest of each site first. */
static int sw__judge_record(sw_engine *e, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                            int64_t now)
{
    const unsigned char *slash = memchr(k->mv_data, '/', k->mv_size);
    (void)txn;
    (void)v;
    if (!slash || (size_t)(slash - (const unsigned char *)k->mv_data) + 17 != k->mv_size)
        return SW__KEEP;
    return (int64_t)sw_be64_get(slash + 1) + sw__scaled(e, e->policy->keep_ms) <= now
               ? SW__DROP
               : SW__NEXT_GROUP;
}

/* seq/SITE/YYYYMMDD, oldest first; seq/SITE/silence sorts after the days. */
static int sw__judge_seq(sw_engine *e, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                         int64_t now)
{
    const char *key = k->mv_data, *day = key + k->mv_size - 8;
    char done[16];
    int y;
    unsigned mo, d;
    (void)e;
    (void)txn;
    (void)v;
    if (k->mv_size < 4 + 2 + 8 || day[-1] != '/')
        return SW__NEXT_GROUP;
    for (int i = 0; i < 8; i++)
        if (day[i] < '0' || day[i] > '9')
            return SW__NEXT_GROUP;
    sw_civil_from_days(now / SW_MS_PER_DAY - 2, &y, &mo, &d);
    snprintf(done, sizeof done, "%04d%02u%02u", y, mo, d);
    return memcmp(day, done, 8) < 0 ? SW__DROP : SW__NEXT_GROUP;
}

static int sw__judge_silence(sw_engine *e, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                             int64_t now)
{
    cJSON *rec = cJSON_ParseWithLength(v->mv_data, v->mv_size);
    const cJSON *ended = cJSON_GetObjectItemCaseSensitive(rec, "ended");
    int verdict = cJSON_IsNumber(ended) && ended->valuedouble > 0 &&
                          (int64_t)ended->valuedouble + sw__scaled(e, e->policy->keep_ms) <= now
                      ? SW__DROP
                      : SW__KEEP;
    (void)txn;
    (void)k;
    cJSON_Delete(rec);
    return verdict;
}

/* The other owners' steps, in the incidents' transaction. */
static int sw__purge_others(sw_engine *e, MDB_txn *txn, int64_t now, int max, int *dropped)
{
    int rc;
    if ((rc = sw__walk(e, txn, SW_DB_DEDUP, "", &e->dedup_from, max, now, sw__judge_dedup,
                       dropped)) ||
        (rc = sw__walk(e, txn, SW_DB_RECORDS, "", &e->records_from, max, now, sw__judge_record,
                       dropped)) ||
        (rc = sw__walk(e, txn, SW_DB_META, "seq/", &e->seq_from, max, now, sw__judge_seq, dropped)))
        return rc;
    return sw__walk(e, txn, SW_DB_META, "sild/", &e->silences_from, max, now, sw__judge_silence,
                    dropped);
}

int sw_engine_purge(sw_engine *e, int64_t now, int max, int *purged)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc, seen = 0;
    char *ids[256], *plans[64];
    int nids = 0, nplans = 0;
    uint64_t next_id = e->outbox_next;

    *purged = 0;
    if ((rc = sw_store_begin(e->store, 1, &txn)))
        return rc;
    if (mdb_cursor_open(txn, e->store->dbi[SW_DB_INCIDENTS], &cur)) {
        mdb_txn_abort(txn);
        return SW_ESTORE;
    }
    /* Resume where the last step stopped; wrap around at the end. */
    k.mv_size = strlen(e->purge_from);
    k.mv_data = e->purge_from;
    rc = k.mv_size ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
                   : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (; !rc && seen < max && nids < 256; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), seen++) {
        sw_incident inc;
        if (sw_incident_decode(v.mv_data, v.mv_size, &inc))
            continue;
        if (sw__expired(e, &inc, now) && (ids[nids] = strdup(inc.id)))
            nids++;
        else if (nplans < 64 && sw__finished_plan(e, &inc, now) && (plans[nplans] = strdup(inc.id)))
            nplans++;
        sw_incident_free(&inc);
    }
    if (!rc && k.mv_size <= SW_ID_MAX)
        snprintf(e->purge_from, sizeof e->purge_from, "%.*s", (int)k.mv_size,
                 (const char *)k.mv_data);
    else
        e->purge_from[0] = 0;
    mdb_cursor_close(cur);

    int dropped = 0;
    rc = sw__purge_others(e, txn, now, max, &dropped);
    for (int i = 0; i < nids; i++) {
        MDB_val iv;
        sw_incident inc;
        if (!rc && !sw_store_get(e->store, txn, SW_DB_INCIDENTS, ids[i], strlen(ids[i]), &iv) &&
            !sw_incident_decode(iv.mv_data, iv.mv_size, &inc)) {
            rc = sw__purge_one(e, txn, &inc, &next_id);
            sw_incident_free(&inc);
            *purged += !rc;
        }
        free(ids[i]);
    }
    if (rc || (!*purged && !dropped)) {
        mdb_txn_abort(txn);
        *purged = 0;
    } else if ((rc = sw_store_commit(e->store, txn))) {
        *purged = 0;
    } else {
        /* The empty retained messages go out in order with what is owed
         * (sw_engine_pump). */
        if (next_id > e->outbox_next && !e->spill_from)
            e->spill_from = e->outbox_next;
        e->outbox_next = next_id;
        e->stats.purged += (uint64_t)*purged;
        if (*purged)
            sw_log(SW_LOG_INFO, "retention: purged %d incidents", *purged);
    }
    /* After the commit: a batch is a write transaction of its own. */
    if (!rc && nplans)
        rc = sw__close_plans(e, plans, nplans, now);
    for (int i = 0; i < nplans; i++)
        free(plans[i]);
    return rc;
}
