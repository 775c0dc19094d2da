/*
 * sitewardctl: reads siteward's state directory, read-only, while the
 * daemon runs (LMDB readers never block its writer).
 *
 *   sitewardctl [--state DIR] [--config FILE] [--json] list [--site S] [--state-is ST]
 *                                                         [--level N] [--class C] [--open]
 *   sitewardctl ... show ID [--show-personal]
 *   sitewardctl ... timeline ID
 *   sitewardctl ... export
 *
 * Times are shown at each site's UTC offset from --config (default: the
 * daemon's config, if readable; otherwise UTC). Resident contacts are shown
 * only with --show-personal.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "incident.h"
#include "store.h"
#include "timeutil.h"

#define SW_EX_USAGE   64
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
} ctl;

static void usage(FILE *f)
{
    fprintf(f, "usage: sitewardctl [--state DIR] [--config FILE] [--json] COMMAND\n"
               "  list [--site S] [--state-is STATE] [--level 1|2|0] [--class C] [--open]\n"
               "  show ID [--show-personal]\n"
               "  timeline ID\n"
               "  export\n");
}

static int tz_of(const ctl *c, const char *site)
{
    const sw_site_conf *s = c->have_cfg ? sw_config_site(&c->cfg, site) : NULL;
    return s ? s->tz_offset_s : 0;
}

static int matches(const ctl *c, const sw_incident *inc)
{
    return (!c->site || !strcmp(c->site, inc->site)) &&
           (!c->state_is || !strcmp(c->state_is, sw_state_name(inc->state))) &&
           (c->level < 0 || c->level == inc->level) && (!c->cls || !strcmp(c->cls, inc->cls)) &&
           (!c->only_open || inc->state < SW_ST_CLOSED);
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
        if (sw_incident_decode(v.mv_data, v.mv_size, &inc))
            continue;
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
    return 0;
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

static int cmd_timeline(ctl *c, const char *id)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    char prefix[SW_ID_MAX + 2];
    size_t plen = (size_t)snprintf(prefix, sizeof prefix, "%s/", id);
    MDB_val k = {plen, prefix}, v, iv;
    int tz = 0;

    if (sw_store_begin(&c->st, 0, &txn))
        return 1;
    if (sw_store_get(&c->st, txn, SW_DB_INCIDENTS, id, strlen(id), &iv)) {
        fprintf(stderr, "sitewardctl: no incident %s\n", id);
        mdb_txn_abort(txn);
        return SW_EX_NOINPUT;
    }
    sw_incident inc;
    if (!sw_incident_decode(iv.mv_data, iv.mv_size, &inc)) {
        tz = tz_of(c, inc.site);
        sw_incident_free(&inc);
    }
    mdb_cursor_open(txn, c->st.dbi[SW_DB_TIMELINE], &cur);
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         !rc && k.mv_size == plen + 4 && !memcmp(k.mv_data, prefix, plen);
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        cJSON *e = cJSON_ParseWithLength(v.mv_data, v.mv_size);
        if (!e)
            continue;
        char when[40];
        sw_time_format((int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(e, "ts")), tz,
                       when, sizeof when);
        cJSON_ReplaceItemInObjectCaseSensitive(e, "ts", cJSON_CreateString(when));
        if (c->json) {
            print_json(e);
        } else {
            const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "kind"));
            const char *by = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "by"));
            cJSON *rest = cJSON_Duplicate(e, 1);
            static const char *const shown[] = {"ts", "kind", "by", "seq", NULL};
            for (int i = 0; shown[i]; i++)
                cJSON_DeleteItemFromObjectCaseSensitive(rest, shown[i]);
            char *txt = cJSON_PrintUnformatted(rest);
            printf("%-29s %-10s %-20s %s\n", when, kind ? kind : "?", by ? by : "", txt ? txt : "");
            cJSON_free(txt);
            cJSON_Delete(rest);
        }
        cJSON_Delete(e);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return 0;
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
                                         {NULL, 0, NULL, 0}};
    ctl c = {.level = -1};
    const char *state = SW_DEFAULT_STATE, *config = NULL;
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
    int needs_id = !strcmp(cmd, "show") || !strcmp(cmd, "timeline");
    if (needs_id != (arg != NULL) || (!needs_id && strcmp(cmd, "list") && strcmp(cmd, "export"))) {
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
    else
        rc = cmd_timeline(&c, arg);
    sw_store_close(&c.st);
    if (c.have_cfg)
        sw_config_free(&c.cfg);
    return rc;
}
