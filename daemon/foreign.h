/*
 * Foreign devices: topics outside the contract (Zigbee2MQTT and the like)
 * that the configuration's "foreign" array maps to canonical events. The
 * host needs only each entry's topic filter, site, source and where the
 * device id comes from; the decoder plugin (plugins/map) reads the rest of
 * the entry (rules, devices) from sw_msg.mapping.
 *
 * An entry of "foreign" is an object; "mapping": FILE (relative to the
 * config file) names a JSON object whose keys the entry completes or
 * overrides. Keys: topic (an MQTT filter, not under the prefix), site,
 * source (sensor, gate, patrol or system; default sensor), device
 * ("topic:N", the N-th level of the topic, 0-based and a '+' of the
 * filter, or "field:NAME" of the payload), rules, otherwise, devices.
 */
#ifndef SW_FOREIGN_H
#define SW_FOREIGN_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "siteward/types.h"

typedef struct sw_foreign {
    char filter[256];
    char site[SW_SITE_MAX + 1];
    char source[8];
    int device_level;     /* the topic level of the device id, or -1: from the payload */
    const cJSON *mapping; /* the completed entry; owned by the config's document */
} sw_foreign;

struct sw_config;
struct sw_topic;

/* Load and check cfg's "foreign" array `arr` (NULL: none) into
 * cfg->foreign / cfg->foreign_doc. Errors name the file, key and problem:
 * SW_ECONFIG. Call once the prefix is final. */
int sw_foreign_load(struct sw_config *cfg, const cJSON *arr);
void sw_foreign_free(struct sw_config *cfg);

/* Append each entry's topic filter (once each) to the array *subs of
 * *nsubs malloc'ed strings, growing it. Returns 0 or SW_ENOMEM (what was
 * appended stays, counted in *nsubs, for the caller to free). */
int sw_foreign_subscriptions(const struct sw_config *cfg, char ***subs, int *nsubs);

/* 1 if the MQTT topic filter `filter` matches `topic` (`len` bytes). */
int sw_topic_filter_match(const char *filter, const char *topic, size_t len);

/* The first entry whose filter matches `topic`: fills t (kind event, site,
 * source and, from a topic level, device) and *out. Returns 0, SW_ENOENT
 * when no entry matches, or SW_EINVAL with *code "bad_id" when the topic
 * level holding the device id is not an id of the contract. */
int sw_foreign_match(const struct sw_config *cfg, const char *topic, size_t len, struct sw_topic *t,
                     const sw_foreign **out, const char **code);

#endif
