#define _GNU_SOURCE /* memmem */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "timeutil.h"

static int h_publish(void *ctx, const sw_publication *p, int force)
{
    harness *h = ctx;
    if (h->npubs >= H_MAX_PUB) {
        fprintf(stderr, "harness: too many publications\n");
        abort();
    }
    if (!force && h->room == 0)
        return SW_EAGAIN;
    if (!force && h->room > 0)
        h->room--;
    h->pubs[h->npubs].topic = strdup(p->topic);
    h->pubs[h->npubs].payload = strndup(p->payload, p->len);
    h->pubs[h->npubs].retained = p->retained;
    h->pubs[h->npubs].outbox_id = p->outbox_id;
    h->npubs++;
    if (p->outbox_id && !h->hold_acks)
        sw_engine_outbox_acked(&h->engine, &p->outbox_id, 1);
    return 0;
}

harness *h_new(const char *policy, double scale)
{
    harness *h = calloc(1, sizeof *h);
    char path[512];
    h->room = -1;
    FILE *f;
    sw_config_overrides ov = {0};

    snprintf(h->dir, sizeof h->dir, "/tmp/sw-pipeline-XXXXXX");
    if (!mkdtemp(h->dir))
        abort();
    snprintf(path, sizeof path, "%s/siteward.json", h->dir);
    f = fopen(path, "w");
    fprintf(f,
            "{\"prefix\": \"siteward\", \"instance\": \"t\", \"state_dir\": \"%s/state\",\n"
            " \"policy\": \"%s\", \"plugin_dir\": \"%s\",\n"
            " \"plugins\": [{\"name\": \"decode\"}, {\"name\": \"classify\"}, "
            "{\"name\": \"correlate\"}],\n"
            " \"sites\": {\"*\": {\"timezone\": \"+08:00\", \"calendar\": "
            "\"%s/config/calendars/cn-2026.json\"}}}\n",
            h->dir, policy ? policy : SW_SOURCE_DIR "/config/policy/default.json", SW_PLUGIN_DIR,
            SW_SOURCE_DIR);
    fclose(f);
    ov.clock_scale = scale;
    if (sw_config_load(&h->cfg, path, &ov) || sw_policy_load(&h->policy, h->cfg.policy_path) ||
        sw_plugins_load(&h->plugins, &h->cfg, &h->policy))
        abort();
    snprintf(path, sizeof path, "%s/state", h->dir);
    mkdir(path, 0700);
    if (sw_store_open(&h->store, path, 0, 1))
        abort();
    sw_publisher pub = {h_publish, h};
    if (sw_engine_init(&h->engine, &h->cfg, &h->policy, &h->store, h->plugins, pub) ||
        sw_engine_pump(&h->engine))
        abort();
    return h;
}

void h_free(harness *h)
{
    char cmd[300];
    h_clear(h);
    sw_engine_free(&h->engine);
    sw_store_close(&h->store);
    sw_plugins_unload(h->plugins);
    sw_policy_free(&h->policy);
    sw_config_free(&h->cfg);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->dir);
    if (system(cmd))
        fprintf(stderr, "harness: could not remove %s\n", h->dir);
    free(h);
}

void h_send(harness *h, int64_t ms, const char *topic, const char *payload)
{
    sw_inmsg *m =
        sw_inmsg_new(topic, strlen(topic), payload, strlen(payload), NULL, 0, NULL, 0, ms);
    m->seq = ++h->seq;
    if (sw_engine_apply(&h->engine, &m, 1))
        abort();
    free(m);
}

int64_t h_tick(harness *h, int64_t ms)
{
    int64_t next;
    if (sw_engine_tick(&h->engine, ms, &next))
        abort();
    return next;
}

void h_restart(harness *h)
{
    char path[512];
    /* A clean stop deletes what was acknowledged. */
    if (sw_engine_pump(&h->engine))
        abort();
    sw_engine_free(&h->engine);
    sw_store_close(&h->store);
    snprintf(path, sizeof path, "%s/state", h->dir);
    if (sw_store_open(&h->store, path, 0, 1))
        abort();
    sw_publisher pub = h->engine.pub;
    if (sw_engine_init(&h->engine, &h->cfg, &h->policy, &h->store, h->plugins, pub) ||
        sw_engine_pump(&h->engine))
        abort();
}

void h_clear(harness *h)
{
    for (int i = 0; i < h->npubs; i++) {
        free(h->pubs[i].topic);
        free(h->pubs[i].payload);
    }
    h->npubs = 0;
}

cJSON *h_last(harness *h, const char *topic)
{
    for (int i = h->npubs - 1; i >= 0; i--)
        if (!strcmp(h->pubs[i].topic, topic))
            return cJSON_Parse(h->pubs[i].payload);
    return NULL;
}

int h_timeline_count(harness *h, const char *id, const char *needle)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    char prefix[SW_ID_MAX + 2];
    size_t plen = (size_t)snprintf(prefix, sizeof prefix, "%s/", id);
    MDB_val k = {plen, prefix}, v;
    int n = 0;
    if (sw_store_begin(&h->store, 0, &txn) ||
        mdb_cursor_open(txn, h->store.dbi[SW_DB_TIMELINE], &cur))
        abort();
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         !r && k.mv_size > plen && !memcmp(k.mv_data, prefix, plen);
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        n += memmem(v.mv_data, v.mv_size, needle, strlen(needle)) != NULL;
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return n;
}

size_t h_entries(harness *h, enum sw_db db)
{
    MDB_txn *txn;
    if (sw_store_begin(&h->store, 0, &txn))
        abort();
    size_t n = sw_store_count(&h->store, txn, db);
    mdb_txn_abort(txn);
    return n;
}

int h_count(harness *h, const char *topic)
{
    int n = 0;
    for (int i = 0; i < h->npubs; i++)
        n += !strcmp(h->pubs[i].topic, topic);
    return n;
}

int h_count_prefix(harness *h, const char *prefix)
{
    int n = 0;
    for (int i = 0; i < h->npubs; i++)
        n += !strncmp(h->pubs[i].topic, prefix, strlen(prefix));
    return n;
}

int h_any_contains(harness *h, const char *needle)
{
    for (int i = 0; i < h->npubs; i++)
        if (strstr(h->pubs[i].payload, needle))
            return 1;
    return 0;
}

int64_t h_ms(const char *s)
{
    int64_t ms;
    if (sw_time_parse(s, &ms))
        abort();
    return ms;
}

const cJSON *h_obligation(const cJSON *incident, const char *name)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(incident, "obligations"))
    {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "name"));
        if (n && !strcmp(n, name))
            return it;
    }
    return NULL;
}

const char *h_str(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

double h_num(const cJSON *o, const char *key)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

int h_setup(void **state)
{
    *state = h_new(NULL, 1.0);
    return 0;
}

int h_teardown(void **state)
{
    h_free(*state);
    return 0;
}
