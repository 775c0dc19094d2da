/*
 * In-process pipeline harness: the real engine, plugins and LMDB store in a
 * temporary directory, with publications captured instead of sent and every
 * message's arrival time chosen by the test (the injected clock).
 */
#ifndef SW_TEST_HARNESS_H
#define SW_TEST_HARNESS_H

#include <cjson/cJSON.h>

#include "engine.h"

#define H_MAX_PUB 4096

typedef struct h_pub {
    char *topic;
    char *payload;
    int retained;
    uint64_t outbox_id;
} h_pub;

typedef struct harness {
    char dir[256];
    sw_config cfg;
    sw_policy policy;
    sw_plugins *plugins;
    sw_store store;
    sw_engine engine;
    h_pub pubs[H_MAX_PUB];
    int npubs;
    uint64_t seq;
    /* Publications the publisher takes before it says SW_EAGAIN (as a full
     * MQTT queue does); -1: no limit. Forced ones are always taken. */
    int room;
    /* 1: outbox entries stay unacknowledged (a broker that never answered);
     * 0: each is acknowledged as it is published, as a healthy broker does. */
    int hold_acks;
} harness;

/* Set up with the shipped default policy; `policy` overrides its path
 * (NULL for the default); `scale` is --clock-scale. */
harness *h_new(const char *policy, double scale);
void h_free(harness *h);
/* Apply one message received at `ms` (epoch milliseconds). */
void h_send(harness *h, int64_t ms, const char *topic, const char *payload);
/* Act on the deadlines due at `ms`; returns the next deadline (0: none). */
int64_t h_tick(harness *h, int64_t ms);
/* Close and reopen the store and engine, and hand over what is owed
 * (sw_engine_pump), as a restart does. */
void h_restart(harness *h);
/* Forget the publications captured so far (long simulations). */
void h_clear(harness *h);
/* The last publication on `topic` (parsed; caller deletes), or NULL. */
cJSON *h_last(harness *h, const char *topic);
/* Timeline entries of incident `id` whose stored JSON contains `needle`. */
int h_timeline_count(harness *h, const char *id, const char *needle);
/* Entries of database `db`. */
size_t h_entries(harness *h, enum sw_db db);
/* How many publications were made on `topic`. */
int h_count(harness *h, const char *topic);
/* Publications whose topic starts with `prefix`. */
int h_count_prefix(harness *h, const char *prefix);
/* 1 if any publication's payload contains `needle`. */
int h_any_contains(harness *h, const char *needle);
/* Epoch ms of an RFC 3339 string. */
int64_t h_ms(const char *rfc3339);
/* A string or number member of `o` (NULL / NaN when absent). */
const char *h_str(const cJSON *o, const char *key);
double h_num(const cJSON *o, const char *key);
/* cmocka fixtures: a harness on the default policy as *state. */
int h_setup(void **state);
int h_teardown(void **state);
/* The obligation `name` of an incident JSON, or NULL. */
const cJSON *h_obligation(const cJSON *incident, const char *name);

#endif
