#include "silences.h"

#include <stdio.h>
#include <string.h>

#include "silence.h"

static void sw__what(const cJSON *match, char *buf, size_t len)
{
    const char *cls = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(match, "class"));
    const char *dev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(match, "device"));
    const cJSON *area = cJSON_GetObjectItemCaseSensitive(match, "area"), *it;
    size_t n;
    if (cls || dev) {
        snprintf(buf, len, "%s %s", cls ? "class" : "device", cls ? cls : dev);
        return;
    }
    n = (size_t)snprintf(buf, len, "area");
    cJSON_ArrayForEach(it, area)
    {
        if (n < len)
            n += (size_t)snprintf(buf + n, len - n, " %s %s", it->string,
                                  cJSON_GetStringValue(it) ? cJSON_GetStringValue(it) : "");
    }
}

int sw_ctl_silences(sw_store *st, const sw_config *cfg, const char *site, int json)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int n = 0;

    if (sw_store_begin(st, 0, &txn) || mdb_cursor_open(txn, st->dbi[SW_DB_META], &cur))
        return 1;
    if (!json)
        printf("%-24s %-12s %-28s %-26s %-26s %-10s %-6s %s\n", "ID", "STATE", "MUTES", "FROM",
               "UNTIL", "BY", "MUTED", "REASON");
    /* Active ones ("sil/"), then ended ones ("sild/"): daemon/silence.h. */
    for (int pass = 0; pass < 2; pass++) {
        const char *prefix = pass ? "sild/" : "sil/";
        size_t plen = strlen(prefix);
        k.mv_size = plen;
        k.mv_data = (void *)prefix;
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
             !rc && k.mv_size > plen && !memcmp(k.mv_data, prefix, plen);
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            cJSON *rec = cJSON_ParseWithLength(v.mv_data, v.mv_size);
            const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "site"));
            if (!rec || !s || (site && strcmp(site, s))) {
                cJSON_Delete(rec);
                continue;
            }
            const sw_site_conf *sc = cfg ? sw_config_site(cfg, s) : NULL;
            cJSON *pub = sw_silence_public(rec, sc ? sc->tz_offset_s : 0);
            if (json) {
                char *txt = cJSON_PrintUnformatted(pub);
                if (txt)
                    puts(txt);
                cJSON_free(txt);
            } else {
                char what[160];
                sw__what(cJSON_GetObjectItemCaseSensitive(pub, "match"), what, sizeof what);
                printf("%-24s %-12s %-28s %-26s %-26s %-10s %-6d %s\n",
                       cJSON_GetStringValue(cJSON_GetObjectItem(pub, "id")),
                       cJSON_GetStringValue(cJSON_GetObjectItem(pub, "state")), what,
                       cJSON_GetStringValue(cJSON_GetObjectItem(pub, "from")),
                       cJSON_GetStringValue(cJSON_GetObjectItem(pub, "until")),
                       cJSON_GetStringValue(cJSON_GetObjectItem(pub, "by")),
                       (int)cJSON_GetNumberValue(cJSON_GetObjectItem(pub, "muted")),
                       cJSON_GetStringValue(cJSON_GetObjectItem(pub, "reason")));
            }
            cJSON_Delete(pub);
            cJSON_Delete(rec);
            n++;
        }
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (!json)
        printf("%d silence%s\n", n, n == 1 ? "" : "s");
    return 0;
}
