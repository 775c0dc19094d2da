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

#endif
