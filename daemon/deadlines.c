/*
 * Deadlines: the "deadlines" database, ordered by time, is the timer
 * structure itself. The loop keeps one libuv timer on its first key; when
 * it fires, every deadline due is acted on in one transaction. Nothing is
 * held in memory, so a million pending obligations cost only their LMDB
 * pages, and a restart re-arms them all by reading one key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "json.h"
#include "command.h"
#include "engine.h"
#include "obligations.h"
#include "planned.h"
#include "silence.h"

_Static_assert(SW_OBL_NAME_MAX == 48, "SW_DEADLINE_KEY_MAX counts on it");

#define SW__TICK_MAX 4096 /* deadlines acted on per transaction */

typedef struct sw__due {
    int64_t ms;
    char id[SW_ID_MAX + 1];
    char name[SW_OBL_NAME_MAX];
} sw__due;

/* The key: be64 time, then ID/NAME. */
static int sw__key_parse(const MDB_val *k, sw__due *out)
{
    const char *p = (const char *)k->mv_data + 8;
    size_t n = k->mv_size - 8, idlen;
    const char *slash;

    if (k->mv_size <= 8 || !(slash = memchr(p, '/', n)))
        return SW_EINVAL;
    idlen = (size_t)(slash - p);
    if (idlen > SW_ID_MAX || n - idlen - 1 >= SW_OBL_NAME_MAX)
        return SW_EINVAL;
    out->ms = (int64_t)sw_be64_get(k->mv_data);
    memcpy(out->id, p, idlen);
    out->id[idlen] = 0;
    memcpy(out->name, slash + 1, n - idlen - 1);
    out->name[n - idlen - 1] = 0;
    return 0;
}

/* Remove a key that no longer matches its incident, so it cannot fire
 * again and again. */
static int sw__drop(sw_batch *b, const sw__due *due)
{
    unsigned char key[SW_DEADLINE_KEY_MAX];
    size_t klen = sw_deadline_key(key, due->ms, due->id, due->name);
    int rc = sw_store_del(b->e->store, b->txn, SW_DB_DEADLINES, key, klen);
    return rc == SW_ENOENT ? 0 : rc;
}

/* A deadline of no incident obligation: "@WORD:REST/NAME", handed to the
 * module WORD names once its key is gone (it fires once). */
static int sw__fire_other(sw_batch *b, const sw__due *due, int64_t now)
{
    const char *colon = strchr(due->id, ':');
    int rc = sw__drop(b, due);
    if (rc || !colon)
        return rc;
    size_t wlen = (size_t)(colon - due->id - 1);
    if (wlen == 4 && !memcmp(due->id + 1, "plan", 4))
        return sw_plan_fire(b, colon + 1, due->name, due->ms, now);
    if (wlen == 7 && !memcmp(due->id + 1, "silence", 7))
        return sw_silence_fire(b, colon + 1, due->name, now);
    return 0;
}

/* One deadline: the obligation is missed (the first time) and escalated. */
static int sw__fire(sw_batch *b, const sw__due *due, int64_t now)
{
    sw_dirty *d;
    sw_obligation *ob;
    int rc, step;
    const char *role;

    if (due->id[0] == '@')
        return sw__fire_other(b, due, now);
    if ((rc = sw_batch_load(b, due->id, &d)) == SW_ENOENT)
        return sw__drop(b, due);
    if (rc)
        return rc;
    ob = sw_incident_obligation(&d->inc, due->name);
    if (!ob || !sw_obl_timed(ob) || ob->next_ms != due->ms)
        return sw__drop(b, due);
    d->changed = 1;

    const sw_class *cls = sw_policy_class(b->e->policy, d->inc.cls);
    const sw_obl_rule *rule = sw_class_rule(cls, due->name);
    const sw_site_conf *site = sw_config_site(b->e->cfg, d->inc.site);
    d->inc.updated_ms = now;
    if (ob->status == SW_OBL_PENDING) {
        ob->status = SW_OBL_MISSED;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "kind", "obligation");
        cJSON_AddStringToObject(e, "name", ob->name);
        cJSON_AddStringToObject(e, "status", "missed");
        sw_json_add_int(e, "late_by_s", ((now - ob->due_ms) / 1000));
        if ((rc = sw_batch_timeline(b, d, now, "siteward", e)))
            return rc;
    }
    if (!site || sw_obl_escalate(ob, rule, site, b->e->cfg->clock_scale, now, &step, &role))
        return 0;
    d->inc.esc_level = step + 1;
    snprintf(d->inc.esc_role, sizeof d->inc.esc_role, "%s", role);
    return sw_batch_escalation(b, d, ob, rule->label, step + 1, role, now);
}

/* Deadlines due by `now`, collected before acting (acting rewrites keys
 * under the cursor). */
static int sw__collect(sw_batch *b, int64_t now, sw__due **out, int *n)
{
    MDB_cursor *cur;
    MDB_val k, v;
    sw__due *due = NULL;
    int cap = 0, r;

    *n = 0;
    if (mdb_cursor_open(b->txn, b->e->store->dbi[SW_DB_DEADLINES], &cur))
        return SW_ESTORE;
    for (r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !r && *n < SW__TICK_MAX;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 8 || (int64_t)sw_be64_get(k.mv_data) > now)
            break;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            sw__due *grown = realloc(due, (size_t)cap * sizeof *due);
            if (!grown) {
                mdb_cursor_close(cur);
                free(due);
                return SW_ENOMEM;
            }
            due = grown;
        }
        if (!sw__key_parse(&k, &due[*n]))
            (*n)++;
    }
    mdb_cursor_close(cur);
    *out = due;
    return 0;
}

int sw_engine_tick(sw_engine *e, int64_t now, int64_t *next)
{
    for (int attempt = 0;; attempt++) {
        sw_batch b;
        sw__due *due = NULL;
        int n = 0, rc = sw_batch_begin(&b, e);

        if (!rc)
            rc = sw__collect(&b, now, &due, &n);
        for (int i = 0; !rc && i < n; i++)
            rc = sw__fire(&b, &due[i], now);
        free(due);
        if (!rc && n)
            rc = sw_batch_commit(&b, e->applied_seq);
        if (!rc && n)
            sw_batch_publish(&b);
        sw_batch_end(&b);
        if (!rc)
            return sw_engine_next_deadline(e, next);
        if (rc != SW_ENOSPC || attempt > 8 || sw_store_grow(e->store))
            return rc;
    }
}

int sw_engine_next_deadline(sw_engine *e, int64_t *next)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;

    *next = 0;
    if ((rc = sw_store_begin(e->store, 0, &txn)))
        return rc;
    if (!mdb_cursor_open(txn, e->store->dbi[SW_DB_DEADLINES], &cur)) {
        if (!mdb_cursor_get(cur, &k, &v, MDB_FIRST) && k.mv_size >= 8)
            *next = (int64_t)sw_be64_get(k.mv_data);
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    return 0;
}
