/*
 * sitewardctl: reads siteward's state directory, read-only, while the
 * daemon runs (LMDB readers never block its writer).
 *
 *   sitewardctl [--state DIR] [--config FILE] [--json] list [--site S] [--state-is ST]
 *                                                         [--level N] [--class C] [--open]
 *   sitewardctl ... show ID [--show-personal]
 *   sitewardctl ... timeline ID
 *   sitewardctl ... review ID [--format md|json]
 *   sitewardctl ... report --site S --from YYYY-MM-DD --to YYYY-MM-DD
 *   sitewardctl ... export
 *   sitewardctl ... silences [--site S]
 *
 * Times are shown at each site's UTC offset from --config (default: the
 * daemon's config, if readable; otherwise UTC). Resident contacts are shown
 * only with --show-personal.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "incident.h"
#include "report.h"
#include "silences.h"
#include "store.h"
#include "timeutil.h"

#define SW_EX_USAGE   64
#define SW_EX_DATAERR 65 /* something stored could not be read; it was shown as such */
#define SW_EX_NOINPUT 66

#ifndef SW_DEFAULT_STATE
#define SW_DEFAULT_STATE "/var/lib/siteward"
#endif
#ifndef SW_DEFAULT_CONFIG
#define SW_DEFAULT_CONFIG "/etc/siteward/siteward.json"
#endif

typedef struct ctl {
    sw_store st;
    sw_config cfg;
    int have_cfg;
    int json;
    int personal;
    const char *site, *state_is, *cls;
    int level; /* -1: any */
    int only_open;
    int only_closed;
    const char *from, *to; /* dates opened, inclusive, at each site's offset */
    int unreadable;        /* stored values that could not be read, each reported */
} ctl;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sitewardctl [--state DIR] [--config FILE] [--json] COMMAND\n"
            "  list [--site S] [--state-is STATE] [--level 1|2|0] [--class C] [--open|--closed]\n"
            "       [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
            "  show ID [--show-personal]\n"
            "  timeline ID\n"
            "  review ID [--format md|json]\n"
            "  report --site S --from YYYY-MM-DD --to YYYY-MM-DD\n"
            "  export\n"
            "  silences [--site S]\n");
}

static int tz_of(const ctl *c, const char *site)
{
    const sw_site_conf *s = c->have_cfg ? sw_config_site(&c->cfg, site) : NULL;
    return s ? s->tz_offset_s : 0;
}

static int day_ms(ctl *c, const char *site, const char *date, int64_t *ms);

static int matches(ctl *c, const sw_incident *inc)
{
    int64_t from, to;
    if (c->from && !day_ms(c, inc->site, c->from, &from) && inc->opened_ms < from)
        return 0;
    if (c->to && !day_ms(c, inc->site, c->to, &to) && inc->opened_ms >= to + SW_MS_PER_DAY)
        return 0;
    return (!c->site || !strcmp(c->site, inc->site)) &&
           (!c->state_is || !strcmp(c->state_is, sw_state_name(inc->state))) &&
           (c->level < 0 || c->level == inc->level) && (!c->cls || !strcmp(c->cls, inc->cls)) &&
           (!c->only_open || inc->state < SW_ST_CLOSED) &&
           (!c->only_closed || inc->state >= SW_ST_CLOSED);
}

static void print_json(cJSON *o)
{
    char *txt = cJSON_PrintUnformatted(o);
    if (txt)
        puts(txt);
    cJSON_free(txt);
}

/* Every incident matching the filters, in id order. */
static int cmd_list(ctl *c, int export_all)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int n = 0;

    if (sw_store_begin(&c->st, 0, &txn) || mdb_cursor_open(txn, c->st.dbi[SW_DB_INCIDENTS], &cur))
        return 1;
    if (!c->json && !export_all)
        printf("%-28s %-8s %-20s %-5s %-12s %-29s %s\n", "ID", "SITE", "CLASS", "LEVEL", "STATE",
               "OPENED", "SUMMARY");
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        sw_incident inc;
        if (sw_incident_decode(v.mv_data, v.mv_size, &inc)) {
            fprintf(stderr, "sitewardctl: incident %.*s is unreadable (%zu bytes)\n",
                    (int)k.mv_size, (const char *)k.mv_data, v.mv_size);
            c->unreadable++;
            continue;
        }
        if (export_all || matches(c, &inc)) {
            cJSON *pub = sw_incident_public(&inc, tz_of(c, inc.site));
            if (c->json || export_all) {
                print_json(pub);
            } else {
                char level[8];
                snprintf(level, sizeof level, inc.level ? "%d" : "-", inc.level);
                printf("%-28s %-8s %-20s %-5s %-12s %-29s %s\n", inc.id, inc.site, inc.cls, level,
                       sw_state_name(inc.state),
                       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pub, "opened")),
                       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pub, "summary")));
            }
            cJSON_Delete(pub);
            n++;
        }
        sw_incident_free(&inc);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (!c->json && !export_all)
        printf("%d incident%s\n", n, n == 1 ? "" : "s");
    return c->unreadable ? SW_EX_DATAERR : 0;
}

/* Contacts stored with reports on incident `id` (personal data). */
static cJSON *contacts(ctl *c, MDB_txn *txn, const char *id)
{
    cJSON *arr = cJSON_CreateArray();
    MDB_cursor *cur;
    char prefix[SW_ID_MAX + 2];
    size_t plen = (size_t)snprintf(prefix, sizeof prefix, "%s/", id);
    MDB_val k = {plen, prefix}, v;

    if (mdb_cursor_open(txn, c->st.dbi[SW_DB_PERSONAL], &cur))
        return arr;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         !rc && k.mv_size > plen && !memcmp(k.mv_data, prefix, plen);
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        cJSON *e = cJSON_CreateObject();
        char from[SW_KEY_MAX];
        /* The key's rest is USER/REPORT_ID. */
        snprintf(from, sizeof from, "%.*s", (int)(k.mv_size - plen), (char *)k.mv_data + plen);
        cJSON_AddStringToObject(e, "from", from);
        cJSON_AddItemToObject(e, "contact", cJSON_ParseWithLength(v.mv_data, v.mv_size));
        cJSON_AddItemToArray(arr, e);
    }
    mdb_cursor_close(cur);
    return arr;
}

static int cmd_show(ctl *c, const char *id)
{
    MDB_txn *txn;
    MDB_val v;
    sw_incident inc;
    int rc = 1;

    if (sw_store_begin(&c->st, 0, &txn))
        return 1;
    if (sw_store_get(&c->st, txn, SW_DB_INCIDENTS, id, strlen(id), &v) ||
        sw_incident_decode(v.mv_data, v.mv_size, &inc)) {
        fprintf(stderr, "sitewardctl: no incident %s\n", id);
        mdb_txn_abort(txn);
        return SW_EX_NOINPUT;
    }
    cJSON *pub = sw_incident_public(&inc, tz_of(c, inc.site));
    if (c->personal)
        cJSON_AddItemToObject(pub, "contacts", contacts(c, txn, id));
    char *txt = c->json ? cJSON_PrintUnformatted(pub) : cJSON_Print(pub);
    if (txt) {
        puts(txt);
        rc = 0;
    }
    cJSON_free(txt);
    cJSON_Delete(pub);
    sw_incident_free(&inc);
    mdb_txn_abort(txn);
    return rc;
}

/* The incident `id` (decoded into *inc) and its timeline entries, times
 * formatted at the site's offset. 0, or an exit status after a message. */
static int load(ctl *c, MDB_txn *txn, const char *id, sw_incident *inc, cJSON **entries)
{
    char prefix[SW_ID_MAX + 2];
    size_t plen = (size_t)snprintf(prefix, sizeof prefix, "%s/", id);
    MDB_val k = {plen, prefix}, v, iv;
    MDB_cursor *cur;

    if (sw_store_get(&c->st, txn, SW_DB_INCIDENTS, id, strlen(id), &iv) ||
        sw_incident_decode(iv.mv_data, iv.mv_size, inc)) {
        fprintf(stderr, "sitewardctl: no incident %s\n", id);
        return SW_EX_NOINPUT;
    }
    int tz = tz_of(c, inc->site);
    *entries = cJSON_CreateArray();
    if (mdb_cursor_open(txn, c->st.dbi[SW_DB_TIMELINE], &cur))
        return 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         !rc && k.mv_size == plen + 4 && !memcmp(k.mv_data, prefix, plen);
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        cJSON *e = cJSON_ParseWithLength(v.mv_data, v.mv_size);
        uint32_t seq = sw_be32_get((const unsigned char *)k.mv_data + plen);
        /* Never left out: the record of an incident must show its gaps
         * (a value cut short by an old siteward, a damaged page). */
        if (!e) {
            char why[96];
            snprintf(why, sizeof why, "timeline entry %u cannot be read (%zu bytes)", seq,
                     v.mv_size);
            fprintf(stderr, "sitewardctl: incident %s: %s\n", id, why);
            c->unreadable++;
            e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "kind", "unreadable");
            cJSON_AddNumberToObject(e, "seq", seq);
            cJSON_AddStringToObject(e, "error", why);
            cJSON_AddItemToArray(*entries, e);
            continue;
        }
        char when[40];
        sw_time_format((int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(e, "ts")), tz,
                       when, sizeof when);
        cJSON_ReplaceItemInObjectCaseSensitive(e, "ts", cJSON_CreateString(when));
        cJSON_AddItemToArray(*entries, e);
    }
    mdb_cursor_close(cur);
    return 0;
}

static const char *sget(const cJSON *o, const char *key)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    return v ? v : "";
}

/* A number member, also when written raw (sw_json_add_int); NAN if none. */
static double nget(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsNumber(v))
        return v->valuedouble;
    if (cJSON_IsRaw(v))
        return strtod(v->valuestring, NULL);
    return NAN;
}

static int cmd_timeline(ctl *c, const char *id)
{
    MDB_txn *txn;
    sw_incident inc;
    cJSON *entries, *e;
    int rc;

    if (sw_store_begin(&c->st, 0, &txn))
        return 1;
    if ((rc = load(c, txn, id, &inc, &entries))) {
        mdb_txn_abort(txn);
        return rc;
    }
    cJSON_ArrayForEach(e, entries)
    {
        if (c->json) {
            print_json(e);
            continue;
        }
        cJSON *rest = cJSON_Duplicate(e, 1);
        static const char *const shown[] = {"ts", "kind", "by", "seq", NULL};
        for (int i = 0; shown[i]; i++)
            cJSON_DeleteItemFromObjectCaseSensitive(rest, shown[i]);
        char *txt = cJSON_PrintUnformatted(rest);
        printf("%-29s %-10s %-20s %s\n", sget(e, "ts"), sget(e, "kind"), sget(e, "by"),
               txt ? txt : "");
        cJSON_free(txt);
        cJSON_Delete(rest);
    }
    cJSON_Delete(entries);
    sw_incident_free(&inc);
    mdb_txn_abort(txn);
    return c->unreadable ? SW_EX_DATAERR : 0;
}

/* The post-incident review: a draft before submission (the record the
 * review is written from), the same with the submitted fields after. */
static cJSON *review_doc(ctl *c, const sw_incident *inc, cJSON *entries)
{
    cJSON *doc = cJSON_CreateObject(), *e;
    cJSON *esc = cJSON_CreateArray(), *cmds = cJSON_CreateArray(), *submitted = NULL;
    cJSON *unreadable = cJSON_CreateArray();

    cJSON_ArrayForEach(e, entries)
    {
        const char *kind = sget(e, "kind");
        if (!strcmp(kind, "escalation"))
            cJSON_AddItemToArray(esc, cJSON_Duplicate(e, 1));
        else if (!strcmp(kind, "unreadable"))
            cJSON_AddItemToArray(unreadable, cJSON_CreateString(sget(e, "error")));
        else if (!strcmp(kind, "command")) {
            cJSON_AddItemToArray(cmds, cJSON_Duplicate(e, 1));
            if (!strcmp(sget(e, "op"), "review"))
                submitted = e;
        }
    }
    cJSON *pub = sw_incident_public(inc, tz_of(c, inc->site));
    cJSON_AddStringToObject(doc, "status", submitted ? "submitted" : "draft");
    cJSON_AddItemToObject(doc, "incident", pub);
    cJSON_AddItemToObject(doc, "obligations",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(pub, "obligations"), 1));
    cJSON_AddItemToObject(doc, "escalations", esc);
    cJSON_AddItemToObject(doc, "commands", cmds);
    if (cJSON_GetArraySize(unreadable))
        cJSON_AddItemToObject(doc, "unreadable", unreadable);
    else
        cJSON_Delete(unreadable);
    if (submitted) {
        cJSON *r = cJSON_AddObjectToObject(doc, "review");
        static const char *const keys[] = {"problem", "rectification", "optimization", NULL};
        for (int i = 0; keys[i]; i++)
            cJSON_AddStringToObject(r, keys[i], sget(submitted, keys[i]));
        cJSON_AddItemToObject(
            r, "participants",
            cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(submitted, "participants"), 1));
        cJSON_AddStringToObject(r, "submitted_at", sget(submitted, "ts"));
        cJSON_AddStringToObject(r, "by", sget(submitted, "by"));
    }
    cJSON_AddItemToObject(doc, "timeline", cJSON_Duplicate(entries, 1));
    return doc;
}

static void review_md(const cJSON *doc)
{
    const cJSON *inc = cJSON_GetObjectItemCaseSensitive(doc, "incident");
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(inc, "review"), *e;
    double level = nget(inc, "level");

    printf("# Post-incident review: %s (%s)\n\n", sget(inc, "id"), sget(doc, "status"));
    printf("- %s\n- class %s, level %s, state %s\n- opened %s, last update %s\n",
           sget(inc, "summary"), sget(inc, "class"),
           level == 1   ? "I"
           : level == 2 ? "II"
                        : "none",
           sget(inc, "state"), sget(inc, "opened"), sget(inc, "updated"));
    printf("- review due %s: %s\n\n",
           cJSON_IsString(cJSON_GetObjectItemCaseSensitive(rv, "due")) ? sget(rv, "due")
                                                                       : "when the incident closes",
           sget(rv, "status"));
    printf("## Obligations\n\n| obligation | due | status | met at | by | late "
           "|\n|---|---|---|---|---|---|\n");
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, "obligations"))
    {
        double late = nget(e, "late_by_s");
        char l[32] = "";
        if (!isnan(late))
            snprintf(l, sizeof l, "%.0f s", late);
        printf("| %s | %s | %s | %s | %s | %s |\n", sget(e, "name"), sget(e, "due"),
               sget(e, "status"), sget(e, "met_at"), sget(e, "by"), l);
    }
    printf(
        "\n## Escalations\n\n| time | obligation | step | to | overdue |\n|---|---|---|---|---|\n");
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, "escalations"))
    {
        double od = nget(e, "overdue_s");
        char overdue[32] = "-";
        if (!isnan(od))
            snprintf(overdue, sizeof overdue, "%.0f s", od);
        printf("| %s | %s | %.0f | %s | %s |\n", sget(e, "ts"),
               *sget(e, "obligation") ? sget(e, "obligation") : "(opened)", nget(e, "step"),
               sget(e, "role"), overdue);
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, "unreadable"))
        printf("**Incomplete record: %s.**\n\n", e->valuestring);
    printf("\n## Commands\n\n| time | op | by | note |\n|---|---|---|---|\n");
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, "commands")) printf(
        "| %s | %s | %s | %s |\n", sget(e, "ts"), sget(e, "op"), sget(e, "by"), sget(e, "note"));
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(doc, "review");
    printf("\n## Review\n\n");
    if (!r) {
        printf("Not yet submitted: this draft is the record to write it from.\n");
        return;
    }
    printf("- problem: %s\n- rectification: %s\n- optimization: %s\n- participants:",
           sget(r, "problem"), sget(r, "rectification"), sget(r, "optimization"));
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "participants"))
        printf(" %s", cJSON_GetStringValue(e) ? cJSON_GetStringValue(e) : "");
    printf("\n- submitted %s by %s\n", sget(r, "submitted_at"), sget(r, "by"));
}

/* Days since the epoch of "YYYY-MM-DD" at the site's offset, as ms. */
static int day_ms(ctl *c, const char *site, const char *date, int64_t *ms)
{
    int64_t days;
    if (!date || sw_date_parse(date, &days))
        return SW_EINVAL;
    *ms = days * SW_MS_PER_DAY - (int64_t)tz_of(c, site) * 1000;
    return 0;
}

static int cmd_report(ctl *c, const char *from, const char *to)
{
    int64_t from_ms, to_ms;
    MDB_txn *txn;

    if (!c->site || day_ms(c, c->site, from, &from_ms) || day_ms(c, c->site, to, &to_ms)) {
        fprintf(stderr, "sitewardctl: report needs --site S --from YYYY-MM-DD --to YYYY-MM-DD\n");
        return SW_EX_USAGE;
    }
    to_ms += SW_MS_PER_DAY; /* --to is inclusive */
    if (sw_store_begin(&c->st, 0, &txn))
        return 1;
    cJSON *r = sw_report_build(&c->st, txn, c->site, from_ms, to_ms);
    mdb_txn_abort(txn);
    if (!r)
        return 1;
    cJSON_AddStringToObject(r, "site", c->site);
    cJSON_AddStringToObject(r, "from", from);
    cJSON_AddStringToObject(r, "to", to);
    const cJSON *bad;
    cJSON_ArrayForEach(bad, cJSON_GetObjectItemCaseSensitive(r, "unreadable"))
    {
        fprintf(stderr, "sitewardctl: %s is unreadable; left out of the report\n",
                cJSON_GetStringValue(bad));
        c->unreadable++;
    }
    if (c->json) {
        print_json(r);
        cJSON_Delete(r);
        return c->unreadable ? SW_EX_DATAERR : 0;
    }
    const cJSON *cls, *o;
    printf("site %s, incidents opened %s to %s\n\n", c->site, from, to);
    printf("%-20s %6s %-18s %8s %8s %8s\n", "CLASS", "COUNT", "OBLIGATION", "ON TIME", "RESP p50",
           "RESP p90");
    cJSON_ArrayForEach(cls, cJSON_GetObjectItemCaseSensitive(r, "classes"))
    {
        const cJSON *rt = cJSON_GetObjectItemCaseSensitive(cls, "response_s");
        char p50[16] = "-", p90[16] = "-";
        if (cJSON_GetObjectItemCaseSensitive(rt, "p50")) {
            snprintf(p50, sizeof p50, "%.0fs", nget(rt, "p50"));
            snprintf(p90, sizeof p90, "%.0fs", nget(rt, "p90"));
        }
        printf("%-20s %6.0f %-18s %8s %8s %8s\n", cls->string, nget(cls, "count"), "", "", p50,
               p90);
        cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(cls, "obligations"))
            printf("%-20s %6s %-18s %7.0f%% %8s %8s\n", "", "", o->string,
                   100 * nget(o, "on_time_rate"), "", "");
    }
    const cJSON *sat = cJSON_GetObjectItemCaseSensitive(r, "satisfaction");
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(r, "reviews");
    printf("\nrepeat complaints (same unit within 30 days): %.0f\n", nget(r, "repeat_complaints"));
    if (nget(sat, "n") > 0)
        printf("satisfaction: %.2f average over %.0f callbacks\n", nget(sat, "average"),
               nget(sat, "n"));
    else
        printf("satisfaction: no callbacks\n");
    printf("reviews: %.0f of %.0f on time\n", nget(rv, "on_time"), nget(rv, "due"));
    cJSON_Delete(r);
    return c->unreadable ? SW_EX_DATAERR : 0;
}

static int cmd_review(ctl *c, const char *id)
{
    MDB_txn *txn;
    sw_incident inc;
    cJSON *entries;
    int rc;

    if (sw_store_begin(&c->st, 0, &txn))
        return 1;
    if ((rc = load(c, txn, id, &inc, &entries))) {
        mdb_txn_abort(txn);
        return rc;
    }
    cJSON *doc = review_doc(c, &inc, entries);
    if (c->json) {
        print_json(doc);
    } else {
        review_md(doc);
    }
    cJSON_Delete(doc);
    cJSON_Delete(entries);
    sw_incident_free(&inc);
    mdb_txn_abort(txn);
    return c->unreadable ? SW_EX_DATAERR : 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"state", required_argument, NULL, 's'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"site", required_argument, NULL, 'S'},
                                         {"state-is", required_argument, NULL, 'T'},
                                         {"level", required_argument, NULL, 'L'},
                                         {"class", required_argument, NULL, 'C'},
                                         {"open", no_argument, NULL, 'o'},
                                         {"show-personal", no_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"format", required_argument, NULL, 'F'},
                                         {"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"closed", no_argument, NULL, 'x'},
                                         {NULL, 0, NULL, 0}};
    ctl c = {.level = -1};
    const char *state = SW_DEFAULT_STATE, *config = NULL, *from = NULL, *to = NULL;
    int opt, rc;

    /* GNU getopt permutes: options may come before or after the command. */
    while ((opt = getopt_long(argc, argv, "s:c:j", opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            state = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'j':
            c.json = 1;
            break;
        case 'S':
            c.site = optarg;
            break;
        case 'T':
            c.state_is = optarg;
            break;
        case 'L':
            c.level = atoi(optarg);
            break;
        case 'C':
            c.cls = optarg;
            break;
        case 'o':
            c.only_open = 1;
            break;
        case 'p':
            c.personal = 1;
            break;
        case 'F':
            if (strcmp(optarg, "md") && strcmp(optarg, "json")) {
                usage(stderr);
                return SW_EX_USAGE;
            }
            c.json = !strcmp(optarg, "json");
            break;
        case 'f':
            from = c.from = optarg;
            break;
        case 't':
            to = c.to = optarg;
            break;
        case 'x':
            c.only_closed = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return SW_EX_USAGE;
        }
    }
    if (optind >= argc || argc - optind > 2) {
        usage(stderr);
        return SW_EX_USAGE;
    }
    const char *cmd = argv[optind];
    const char *arg = argc - optind == 2 ? argv[optind + 1] : NULL;
    int needs_id = !strcmp(cmd, "show") || !strcmp(cmd, "timeline") || !strcmp(cmd, "review");
    if (needs_id != (arg != NULL) || (!needs_id && strcmp(cmd, "list") && strcmp(cmd, "export") &&
                                      strcmp(cmd, "report") && strcmp(cmd, "silences"))) {
        usage(stderr);
        return SW_EX_USAGE;
    }
    if (config || access(SW_DEFAULT_CONFIG, R_OK) == 0)
        c.have_cfg = !sw_config_load(&c.cfg, config ? config : SW_DEFAULT_CONFIG, NULL);
    if (sw_store_open(&c.st, state, 1, 0)) {
        fprintf(stderr, "sitewardctl: cannot open the state in %s\n", state);
        if (c.have_cfg)
            sw_config_free(&c.cfg);
        return SW_EX_NOINPUT;
    }
    if (!strcmp(cmd, "list"))
        rc = cmd_list(&c, 0);
    else if (!strcmp(cmd, "export"))
        rc = cmd_list(&c, 1);
    else if (!strcmp(cmd, "show"))
        rc = cmd_show(&c, arg);
    else if (!strcmp(cmd, "review"))
        rc = cmd_review(&c, arg);
    else if (!strcmp(cmd, "report"))
        rc = cmd_report(&c, from, to);
    else if (!strcmp(cmd, "silences"))
        rc = sw_ctl_silences(&c.st, c.have_cfg ? &c.cfg : NULL, c.site, c.json);
    else
        rc = cmd_timeline(&c, arg);
    sw_store_close(&c.st);
    if (c.have_cfg)
        sw_config_free(&c.cfg);
    return rc;
}
