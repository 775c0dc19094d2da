/*
 * A reloaded policy reaching incidents already open. By default a policy
 * change applies to incidents opened from then on; a class whose policy
 * says "apply_to_open": true also gives its open incidents the new limits.
 * The rule is deliberately narrow: only pending obligations that count
 * from the first alarm ("from": "opened") are recomputed, from that first
 * alarm, because it is the one start time every incident keeps. Met,
 * missed and cancelled obligations, and those counted from a later state,
 * keep their due times; obligations the new policy adds or drops are not
 * armed or removed. A due time that now lies in the past fires at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "engine.h"
#include "json.h"
#include "log.h"
#include "obligations.h"

#define SW__STEP 256 /* incidents per transaction */

/* New due times for `d`; 1 if any changed. */
static int sw__recompute(sw_batch *b, sw_dirty *d, const sw_class *cls, int *rc)
{
    sw_incident *inc = &d->inc;
    const sw_site_conf *site = sw_config_site(b->e->cfg, inc->site);
    int changed = 0, uncovered = 0;

    *rc = 0;
    if (!site)
        return 0;
    for (int i = 0; i < inc->nobl && !*rc; i++) {
        sw_obligation *ob = &inc->obl[i];
        const sw_obl_rule *r = sw_class_rule(cls, ob->name);
        if (ob->status != SW_OBL_PENDING || !r || r->from != SW_FROM_OPENED)
            continue;
        int64_t due = sw_due(&r->within, inc->opened_ms, site, b->e->cfg->clock_scale,
                             r->quiet_from, r->quiet_to, &uncovered);
        if (due == ob->due_ms)
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "kind", "policy");
        cJSON_AddStringToObject(e, "policy", b->e->policy->name);
        cJSON_AddStringToObject(e, "obligation", ob->name);
        sw_json_add_int(e, "due_was", ob->due_ms);
        sw_json_add_int(e, "due", due);
        ob->due_ms = ob->next_ms = due;
        changed = 1;
        *rc = sw_batch_timeline(b, d, inc->updated_ms, "siteward", e);
    }
    if (uncovered)
        sw_batch_calendar_uncovered(b, site);
    return changed;
}

/* One step: the open incidents after `from` (SITE/ID keys), at most
 * SW__STEP of them. Sets *done at the end of the database. */
static int sw__step(sw_engine *e, char *from, size_t fromlen, int *done, int *changed)
{
    sw_batch b;
    MDB_cursor *cur;
    MDB_val k = {strlen(from), from}, v;
    char ids[SW__STEP][SW_ID_MAX + 1];
    char last[SW_SITE_MAX + SW_ID_MAX + 2] = "";
    int n = 0, rc, any = 0;

    *done = 1;
    if ((rc = sw_batch_begin(&b, e)))
        return rc;
    if (mdb_cursor_open(b.txn, e->store->dbi[SW_DB_OPEN], &cur)) {
        sw_batch_end(&b);
        return SW_ESTORE;
    }
    int r = k.mv_size ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
                      : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    /* SET_RANGE lands on `from` itself, done in the step before. */
    if (!r && k.mv_size == strlen(from) && !memcmp(k.mv_data, from, k.mv_size))
        r = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    for (; !r && n < SW__STEP; r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const char *slash = memchr(k.mv_data, '/', k.mv_size);
        size_t len = slash ? k.mv_size - (size_t)(slash + 1 - (const char *)k.mv_data) : 0;
        if (k.mv_size < sizeof last)
            snprintf(last, sizeof last, "%.*s", (int)k.mv_size, (const char *)k.mv_data);
        if (!len || len > SW_ID_MAX)
            continue;
        memcpy(ids[n], slash + 1, len);
        ids[n++][len] = 0;
    }
    *done = r != 0;
    mdb_cursor_close(cur);
    rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        sw_dirty *d;
        if ((rc = sw_batch_load(&b, ids[i], &d)) == SW_ENOENT) {
            rc = 0;
            continue;
        }
        const sw_class *cls = rc ? NULL : sw_policy_class(e->policy, d->inc.cls);
        if (cls && cls->apply_to_open && sw__recompute(&b, d, cls, &rc) && !rc) {
            d->changed = 1;
            any = 1;
            (*changed)++;
        }
    }
    if (!rc && any)
        rc = sw_batch_commit(&b, e->applied_seq);
    if (!rc && any)
        sw_batch_publish(&b);
    sw_batch_end(&b);
    /* Only a step that committed moves on; a full map repeats it. */
    if (!rc)
        snprintf(from, fromlen, "%s", last);
    return rc;
}

int sw_engine_reapply(sw_engine *e, int *changed)
{
    char from[SW_SITE_MAX + SW_ID_MAX + 2] = "";
    int done = 0, rc = 0, any = 0;

    *changed = 0;
    for (int i = 0; i < e->policy->nclasses; i++)
        any |= e->policy->classes[i].apply_to_open;
    while (any && !done) {
        int before = *changed;
        rc = sw__step(e, from, sizeof from, &done, changed);
        if (rc == SW_EMAPFULL && !sw_store_grow(e->store)) {
            *changed = before;
            done = 0;
            continue;
        }
        if (rc) {
            sw_log(SW_LOG_ERR, "reload: open incidents could not all be given the new limits: %s",
                   sw_strerror(rc));
            return rc;
        }
    }
    return 0;
}
