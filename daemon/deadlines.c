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
#include "expect.h"
#include "log.h"
#include "obligations.h"
#include "planned.h"
#include "silence.h"
#include "timers.h"

_Static_assert(SW_OBL_NAME_MAX == 48, "SW_DEADLINE_KEY_MAX counts on it");

#define SW__TICK_MAX 4096 /* deadlines acted on per transaction */

typedef struct sw__due {
    int64_t ms;
    char id[SW_ID_MAX + 1];
    char name[SW_OBL_NAME_MAX];
    char tag[SW_TIMER_TAG_MAX]; /* a timer's "@word:..." (timers.h), else "" */
    size_t taglen;              /* of `tag`, or of a bad key's bytes after the time */
    int bad;                    /* a key of neither shape: dropped */
} sw__due;

/* The key: be64 time, then ID/NAME or a timer's tag. */
static void sw__key_parse(const MDB_val *k, sw__due *out)
{
    const char *p = (const char *)k->mv_data + 8;
    size_t n = k->mv_size - 8, idlen;
    const char *slash;

    memset(out, 0, sizeof *out);
    out->ms = (int64_t)sw_be64_get(k->mv_data);
    if (n && *p == '@' && n < SW_TIMER_TAG_MAX && !memchr(p, 0, n)) {
        memcpy(out->tag, p, n);
        out->taglen = n;
        return;
    }
    if (!n || !(slash = memchr(p, '/', n)) || (idlen = (size_t)(slash - p)) > SW_ID_MAX ||
        n - idlen - 1 >= SW_OBL_NAME_MAX) {
        out->bad = 1;
        out->taglen = n < SW_TIMER_TAG_MAX ? n : 0;
        memcpy(out->tag, p, out->taglen);
        return;
    }
    memcpy(out->id, p, idlen);
    memcpy(out->name, slash + 1, n - idlen - 1);
}

/* Remove a key that no longer matches its incident, so it cannot fire
 * again and again. */
static int sw__drop(sw_batch *b, const sw__due *due)
{
    unsigned char key[8 + SW_TIMER_TAG_MAX];
    size_t klen;
    if (due->taglen) {
        sw_be64_put(key, (uint64_t)due->ms);
        memcpy(key + 8, due->tag, due->taglen);
        klen = 8 + due->taglen;
    } else {
        klen = sw_deadline_key(key, due->ms, due->id, due->name);
    }
    int rc = sw_store_del(b->e->store, b->txn, SW_DB_DEADLINES, key, klen);
    return rc == SW_ENOENT ? 0 : rc;
}

/* Planned work and silences arm their timers with sw_deadline_key(), so
 * their tags read "@WORD:ID/NAME": split them for their handlers. */
static int sw__tag_split(const char *tag, char *id, size_t idmax, const char **name)
{
    const char *rest = strchr(tag, ':'), *slash;
    if (!rest || !(slash = strrchr(++rest, '/')) || (size_t)(slash - rest) >= idmax)
        return SW_EINVAL;
    memcpy(id, rest, (size_t)(slash - rest));
    id[slash - rest] = 0;
    *name = slash + 1;
    return 0;
}

static int sw__plan_timer(sw_batch *b, const char *tag, int64_t due_ms, int64_t now)
{
    char id[SW_ID_MAX + 1];
    const char *name;
    if (sw__tag_split(tag, id, sizeof id, &name)) {
        sw_log(SW_LOG_WARNING, "deadlines: timer %.80s is malformed; dropped", tag);
        return 0;
    }
    return sw_plan_fire(b, id, name, due_ms, now);
}

static int sw__silence_timer(sw_batch *b, const char *tag, int64_t due_ms, int64_t now)
{
    char id[SW_ID_MAX + 1];
    const char *name;
    (void)due_ms;
    if (sw__tag_split(tag, id, sizeof id, &name)) {
        sw_log(SW_LOG_WARNING, "deadlines: timer %.80s is malformed; dropped", tag);
        return 0;
    }
    return sw_silence_fire(b, id, name, now);
}

/*
 * Timers that are not obligations (timers.h), by the word between '@' and
 * ':'. Each handler lives in its own file; add a line here for a new one.
 */
static const struct {
    const char *word;
    sw_timer_fn fire;
} sw__timers[] = {
    {"patrol", sw_round_fire},        /* patrol.c, rounds.c */
    {"inspect", sw_round_fire},       /* inspect.c, rounds.c */
    {"silent", sw_silent_fire},       /* silent.c */
    {"telemetry", sw_telemetry_fire}, /* telemetry.c */
    {"plan", sw__plan_timer},         /* planned.c */
    {"silence", sw__silence_timer},   /* silence.c */
};

static int sw__fire_timer(sw_batch *b, const sw__due *due, int64_t now)
{
    const char *colon = strchr(due->tag, ':');
    size_t wlen = colon ? (size_t)(colon - due->tag - 1) : 0;
    int rc = sw__drop(b, due);

    for (size_t i = 0; !rc && wlen && i < sizeof sw__timers / sizeof *sw__timers; i++)
        if (strlen(sw__timers[i].word) == wlen && !memcmp(sw__timers[i].word, due->tag + 1, wlen))
            return sw__timers[i].fire(b, due->tag, due->ms, now);
    if (!rc)
        sw_log(SW_LOG_WARNING, "deadlines: timer %.80s has no handler; dropped", due->tag);
    return rc;
}

/* One deadline: the obligation is missed (the first time) and escalated. */
static int sw__fire(sw_batch *b, const sw__due *due, int64_t now)
{
    sw_dirty *d;
    sw_obligation *ob;
    int rc, step;
    const char *role;

    if (due->bad) {
        sw_log(SW_LOG_WARNING,
               "deadlines: a key of %zu bytes is neither an obligation nor a "
               "timer; dropped",
               8 + due->taglen);
        return sw__drop(b, due);
    }
    if (due->tag[0])
        return sw__fire_timer(b, due, now);
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
        sw__key_parse(&k, &due[*n]);
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
        int n = 0, armed = 0, rc = sw_batch_begin(&b, e);

        /* The first tick arms the rounds that have no period under way yet
         * (a new policy, a new store). */
        if (!rc && !e->rounds_armed)
            rc = sw_round_schedule(&b, now, &armed);
        if (!rc)
            rc = sw__collect(&b, now, &due, &n);
        for (int i = 0; !rc && i < n; i++)
            rc = sw__fire(&b, &due[i], now);
        free(due);
        if (!rc && (n || armed))
            rc = sw_batch_commit(&b, e->applied_seq);
        if (!rc && (n || armed))
            sw_batch_publish(&b);
        sw_batch_end(&b);
        if (!rc) {
            e->rounds_armed = 1;
            return sw_engine_next_deadline(e, next);
        }
        if (rc != SW_EMAPFULL || attempt > 8 || sw_store_grow(e->store))
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
