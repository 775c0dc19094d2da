/*
 * Reading JSON files and reporting problems in them. Every message names
 * the file, the key and the problem, as operators need to fix it.
 */
#ifndef SW_JSONFILE_H
#define SW_JSONFILE_H

#include <cjson/cJSON.h>

/* Parse the file at `path` into *out (caller frees with cJSON_Delete).
 * Logs and returns SW_ECONFIG on failure. */
int sw_json_load(const char *path, cJSON **out);
/* Logs "PATH: key KEY: problem" and returns SW_ECONFIG. */
int sw_json_error(const char *path, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
