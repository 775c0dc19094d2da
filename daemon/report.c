#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incident.h"
#include "timeutil.h"

#define SW__REPEAT_WINDOW_MS (30 * SW_MS_PER_DAY)

typedef struct sw__complaint {
    char unit[200]; /* building/unit */
    int64_t opened;
} sw__complaint;

typedef struct sw__report {
    cJSON *classes;
    sw__complaint *complaints;
    int ncomplaints, capcomplaints;
    double score_sum;
    int scores;
    int reviews, reviews_on_time;
    cJSON *unreadable; /* names of stored values that could not be read */
} sw__report;

/* Name a stored value the report could not read: it is left out of the
 * figures, and said so, never skipped silently. */
static void sw__unreadable(sw__report *r, const char *fmt, ...)
{
    char what[SW_ID_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    cJSON_AddItemToArray(r->unreadable, cJSON_CreateString(what));
}

static int sw__cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static cJSON *sw__obj(cJSON *parent, const char *key)
{
    cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, key);
    return o ? o : cJSON_AddObjectToObject(parent, key);
}

static void sw__inc(cJSON *o, const char *key, int by)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (v)
        cJSON_SetNumberValue(v, v->valuedouble + by);
    else
        cJSON_AddNumberToObject(o, key, by);
}

/* The first operator command after opening, and satisfaction scores, from
 * the incident's timeline. */
static void sw__timeline(sw_store *st, MDB_txn *txn, const sw_incident *inc, int64_t *first_cmd,
                         sw__report *r)
{
    char prefix[SW_ID_MAX + 2];
    size_t plen = (size_t)snprintf(prefix, sizeof prefix, "%s/", inc->id);
    MDB_val k = {plen, prefix}, v;
    MDB_cursor *cur;

    *first_cmd = 0;
    if (mdb_cursor_open(txn, st->dbi[SW_DB_TIMELINE], &cur))
        return;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         !rc && k.mv_size == plen + 4 && !memcmp(k.mv_data, prefix, plen);
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        cJSON *e = cJSON_ParseWithLength(v.mv_data, v.mv_size);
        const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "kind"));
        if (!cJSON_IsObject(e))
            sw__unreadable(r, "timeline entry %s/%u", inc->id,
                           (unsigned)sw_be32_get((const unsigned char *)k.mv_data + plen));
        if (kind && !strcmp(kind, "command")) {
            int64_t ts = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(e, "ts"));
            const char *op = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "op"));
            const cJSON *score = cJSON_GetObjectItemCaseSensitive(e, "score");
            if (!*first_cmd)
                *first_cmd = ts;
            if (op && !strcmp(op, "satisfaction") && cJSON_IsNumber(score)) {
                r->score_sum += score->valuedouble;
                r->scores++;
            }
        }
        cJSON_Delete(e);
    }
    mdb_cursor_close(cur);
}

static void sw__obligations(cJSON *cls, const sw_incident *inc, sw__report *r)
{
    cJSON *obls = sw__obj(cls, "obligations");
    for (int i = 0; i < inc->nobl; i++) {
        const sw_obligation *ob = &inc->obl[i];
        const char *what = ob->status == SW_OBL_MET      ? (ob->was_missed ? "late" : "on_time")
                           : ob->status == SW_OBL_MISSED ? "missed"
                                                         : NULL;
        if (!what) /* pending or cancelled: not yet judged */
            continue;
        sw__inc(sw__obj(obls, ob->name), what, 1);
        if (!strcmp(ob->name, "review")) {
            r->reviews++;
            r->reviews_on_time += !strcmp(what, "on_time");
        }
    }
}

static void sw__add_complaint(sw__report *r, const sw_incident *inc)
{
    const char *b =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(inc->location, "building"));
    const char *u = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(inc->location, "unit"));
    if (strncmp(inc->cls, "complaint", 9) || !u)
        return;
    if (r->ncomplaints == r->capcomplaints) {
        int cap = r->capcomplaints ? r->capcomplaints * 2 : 64;
        sw__complaint *n = realloc(r->complaints, (size_t)cap * sizeof *n);
        if (!n)
            return;
        r->complaints = n;
        r->capcomplaints = cap;
    }
    sw__complaint *c = &r->complaints[r->ncomplaints++];
    snprintf(c->unit, sizeof c->unit, "%s/%s", b ? b : "-", u);
    c->opened = inc->opened_ms;
}

static int sw__cmp_complaint(const void *a, const void *b)
{
    const sw__complaint *x = a, *y = b;
    int c = strcmp(x->unit, y->unit);
    return c ? c : (x->opened > y->opened) - (x->opened < y->opened);
}

/* Complaints at a unit that had another complaint within the previous 30
 * days. */
static int sw__repeats(sw__report *r)
{
    int n = 0;
    if (r->ncomplaints > 1)
        qsort(r->complaints, (size_t)r->ncomplaints, sizeof *r->complaints, sw__cmp_complaint);
    for (int i = 1; i < r->ncomplaints; i++)
        n += !strcmp(r->complaints[i].unit, r->complaints[i - 1].unit) &&
             r->complaints[i].opened - r->complaints[i - 1].opened <= SW__REPEAT_WINDOW_MS;
    return n;
}

/* Rates and percentiles once every incident has been counted. */
static void sw__finish_class(cJSON *cls, int64_t *resp, int nresp)
{
    cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(cls, "obligations"))
    {
        double on = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "on_time"));
        double late = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "late"));
        double missed = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "missed"));
        on = on == on ? on : 0; /* NaN when absent */
        late = late == late ? late : 0;
        missed = missed == missed ? missed : 0;
        cJSON_AddNumberToObject(o, "on_time_rate", on / (on + late + missed));
    }
    cJSON *rt = cJSON_AddObjectToObject(cls, "response_s");
    cJSON_AddNumberToObject(rt, "n", nresp);
    if (nresp) {
        /* Nearest rank: the smallest value with at least p of them at or below. */
        qsort(resp, (size_t)nresp, sizeof *resp, sw__cmp64);
        cJSON_AddNumberToObject(rt, "p50", (double)resp[(nresp * 50 + 99) / 100 - 1] / 1000.0);
        cJSON_AddNumberToObject(rt, "p90", (double)resp[(nresp * 90 + 99) / 100 - 1] / 1000.0);
    }
}

cJSON *sw_report_build(sw_store *st, MDB_txn *txn, const char *site, int64_t from_ms, int64_t to_ms)
{
    sw__report r = {0};
    cJSON *out = cJSON_CreateObject();
    MDB_cursor *cur;
    MDB_val k, v;
    int64_t **resp = NULL; /* per class, parallel to r.classes' children */
    int *nresp = NULL, nclasses = 0;

    if (!out || mdb_cursor_open(txn, st->dbi[SW_DB_INCIDENTS], &cur)) {
        cJSON_Delete(out);
        return NULL;
    }
    r.classes = cJSON_AddObjectToObject(out, "classes");
    r.unreadable = cJSON_AddArrayToObject(out, "unreadable");
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        sw_incident inc;
        int64_t first;
        if (sw_incident_decode(v.mv_data, v.mv_size, &inc)) {
            sw__unreadable(&r, "incident %.*s", (int)k.mv_size, (const char *)k.mv_data);
            continue;
        }
        if (strcmp(inc.site, site) || inc.opened_ms < from_ms || inc.opened_ms >= to_ms) {
            sw_incident_free(&inc);
            continue;
        }
        cJSON *cls = cJSON_GetObjectItemCaseSensitive(r.classes, inc.cls);
        int ci = 0;
        if (!cls) {
            cls = cJSON_AddObjectToObject(r.classes, inc.cls);
            cJSON_AddNumberToObject(cls, "count", 0);
            resp = realloc(resp, (size_t)(nclasses + 1) * sizeof *resp);
            nresp = realloc(nresp, (size_t)(nclasses + 1) * sizeof *nresp);
            resp[nclasses] = NULL;
            nresp[nclasses] = 0;
            ci = nclasses++;
        } else {
            for (const cJSON *c = r.classes->child; c != cls; c = c->next)
                ci++;
        }
        sw__inc(cls, "count", 1);
        sw__obligations(cls, &inc, &r);
        sw__timeline(st, txn, &inc, &first, &r);
        if (first) {
            int64_t *grown = realloc(resp[ci], (size_t)(nresp[ci] + 1) * sizeof **resp);
            if (grown) {
                resp[ci] = grown;
                resp[ci][nresp[ci]++] = first - inc.opened_ms;
            }
        }
        sw__add_complaint(&r, &inc);
        sw_incident_free(&inc);
    }
    mdb_cursor_close(cur);

    int ci = 0;
    for (cJSON *c = r.classes->child; c; c = c->next, ci++) {
        sw__finish_class(c, resp[ci], nresp[ci]);
        free(resp[ci]);
    }
    free(resp);
    free(nresp);
    cJSON_AddNumberToObject(out, "repeat_complaints", sw__repeats(&r));
    cJSON *sat = cJSON_AddObjectToObject(out, "satisfaction");
    cJSON_AddNumberToObject(sat, "n", r.scores);
    if (r.scores)
        cJSON_AddNumberToObject(sat, "average", r.score_sum / r.scores);
    cJSON *rv = cJSON_AddObjectToObject(out, "reviews");
    cJSON_AddNumberToObject(rv, "due", r.reviews);
    cJSON_AddNumberToObject(rv, "on_time", r.reviews_on_time);
    free(r.complaints);
    return out;
}
