/* libFuzzer target: one received message through the whole host: topic
 * parsing (daemon/topic.c), the decode, classify and correlate plugins,
 * commands on incidents (daemon/command.c), the batch and the LMDB store.
 * The input is "TOPIC\nPAYLOAD"; the store lives in a temporary directory
 * and keeps what earlier inputs did, so commands find incidents to act on.
 * Whatever the input, the batch commits (bad input is dead-lettered). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"

static sw_config cfg;
static sw_policy policy;
static sw_plugins *plugins;
static sw_store store;
static sw_engine engine;
static uint64_t seq;
static char dir[64];

/* Takes every publication, and acknowledges its outbox entry at once so the
 * outbox does not grow over a long run. */
static int discard(void *ctx, const sw_publication *p, int force)
{
    (void)ctx, (void)force;
    if (p->outbox_id)
        sw_engine_outbox_acked(&engine, &p->outbox_id, 1);
    return 0;
}

static void cleanup(void)
{
    char cmd[128];
    sw_store_close(&store);
    sw_plugins_unload(plugins);
    sw_policy_free(&policy);
    sw_config_free(&cfg);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd))
        fprintf(stderr, "fuzz: could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[256], state[128];
    sw_config_overrides ov = {0};
    FILE *f;

    (void)argc;
    (void)argv;
    snprintf(dir, sizeof dir, "/tmp/sw-fuzz-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof path, "%s/siteward.json", dir);
    snprintf(state, sizeof state, "%s/state", dir);
    if (!(f = fopen(path, "w")))
        abort();
    fprintf(f,
            "{\"prefix\": \"siteward\", \"instance\": \"fuzz\", \"state_dir\": \"%s\",\n"
            " \"policy\": \"%s/config/policy/default.json\", \"plugin_dir\": \"%s\",\n"
            " \"log_level\": \"warning\",\n"
            " \"plugins\": [{\"name\": \"decode\"}, {\"name\": \"classify\"}, "
            "{\"name\": \"correlate\"}],\n"
            " \"sites\": {\"A\": {\"timezone\": \"+08:00\", \"calendar\": "
            "\"%s/config/calendars/cn-2026.json\"}, \"*\": {\"timezone\": \"+00:00\",\n "
            "\"calendar\": \"%s/config/calendars/cn-2026.json\"}}}\n",
            state, SW_SOURCE_DIR, SW_PLUGIN_DIR, SW_SOURCE_DIR, SW_SOURCE_DIR);
    fclose(f);
    ov.clock_scale = 1;
    if (sw_config_load(&cfg, path, &ov) || sw_policy_load(&policy, cfg.policy_path) ||
        sw_plugins_load(&plugins, &cfg, &policy))
        abort();
    mkdir(state, 0700);
    if (sw_store_open(&store, state, 0, 1))
        abort();
    sw_publisher pub = {discard, NULL};
    if (sw_engine_init(&engine, &cfg, &policy, &store, plugins, pub))
        abort();
    sw_log_set_level(SW_LOG_ERR); /* dead letters are logged at debug */
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t tlen = nl ? (size_t)(nl - data) : size;
    const uint8_t *payload = nl ? nl + 1 : data + size;
    size_t plen = size - tlen - (nl ? 1 : 0);
    /* A fixed clock, so a run replays exactly. */
    sw_inmsg *m = sw_inmsg_new((const char *)data, tlen, payload, plen, NULL, 0, NULL, 0,
                               1795000000000 + (int64_t)seq * 1000);

    if (!m)
        return 0;
    m->seq = ++seq;
    if (sw_engine_apply(&engine, &m, 1))
        abort(); /* only a storage failure may fail a batch */
    free(m);
    return 0;
}
