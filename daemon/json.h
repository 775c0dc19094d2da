/*
 * Small JSON helpers over cJSON for the hot path.
 */
#ifndef SW_JSON_H
#define SW_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Add an integer member. cJSON prints numbers beyond int range with
 * "%1.15g" and checks them back with sscanf, which cost more than the rest
 * of an event's work; epoch milliseconds are written here as raw digits. */
cJSON *sw_json_add_int(cJSON *obj, const char *key, int64_t v);

/* The length of the longest prefix of `s` that is well-formed UTF-8
 * (len when all of it is). JSON is UTF-8 (RFC 8259), and cJSON passes any
 * bytes through, so what siteward publishes is checked with this. */
size_t sw_utf8_valid(const char *s, size_t len);

#endif
