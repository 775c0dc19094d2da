/*
 * siteward plugin SDK: the ABI between the siteward daemon and its pipeline
 * plugins (decode, classify, correlate and any a site adds).
 *
 * Negotiation, as in mosquitto: after dlopen() the host calls
 * sw_plugin_version() with the ABI versions it supports; the plugin returns
 * the one it was built for, or -1. The host refuses a plugin whose answer is
 * not among its offers, then calls sw_plugin_init() with a host API table of
 * that version. The plugin registers one callback per hook it cares about;
 * nothing else is called by name.
 *
 * Threading: every callback runs on the daemon's event-loop thread, one
 * message at a time. Plugins need no locks for their own state.
 *
 * Lifetimes: an sw_msg and every pointer inside it is valid only for the
 * duration of the callback it is passed to, except fields a callback fills
 * (output buffers), which the host copies. Plugin userdata lives from
 * sw_plugin_init() until the host calls sw_plugin_cleanup().
 */
#ifndef SITEWARD_PLUGIN_H
#define SITEWARD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "siteward/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ABI versions. A new version is added whenever sw_host_api, sw_msg or the
 * hook list changes incompatibly; fields are only ever appended. */
#define SW_PLUGIN_ABI_V1      1
#define SW_PLUGIN_ABI_CURRENT SW_PLUGIN_ABI_V1

/* The pipeline hooks, called in this order for every message. */
enum sw_hook {
    SW_HOOK_DECODE = 1,    /* raw payload -> canonical fields of sw_msg */
    SW_HOOK_CLASSIFY = 2,  /* canonical event or report -> class */
    SW_HOOK_CORRELATE = 3, /* -> dedup key and correlation key */
    SW_HOOK_COMMAND = 4,   /* an operator command, before the host applies it */
    SW_HOOK_INCIDENT = 5,  /* an incident changed; read-only, after commit */
    SW_HOOK_MAX
};

/* Returned by a hook: 0 to continue, or a negative SW_E* code after setting
 * the message's error code and reason with sw_host_api.msg_reject(). */
typedef int (*sw_msg_cb)(void *userdata, sw_msg *msg);

/* Incident hook: `incident` is the published JSON (no personal data), valid
 * only during the call. Its integers (level, events, escalation.level ...)
 * are cJSON raw items, exact 64-bit text in valuestring (cJSON_IsRaw), not
 * cJSON numbers; null where the contract says null. */
typedef void (*sw_incident_cb)(void *userdata, const cJSON *incident);

/* Plugin configuration is declared as a table; the host validates the
 * plugin's "config" object against it, fills defaults, rejects unknown keys
 * and names the plugin and key in every error. */
enum sw_conf_type {
    SW_CONF_END = 0,
    SW_CONF_BOOL,     /* int */
    SW_CONF_INT,      /* int64_t */
    SW_CONF_STRING,   /* char[SW_CONF_STR_MAX] */
    SW_CONF_DURATION, /* int64_t milliseconds, written "30s", "5m", "2h", "1d" */
};
#define SW_CONF_STR_MAX 128

typedef struct sw_conf_entry {
    const char *key;
    enum sw_conf_type type;
    const char *def; /* default, as text in the same syntax as the config */
    size_t offset;   /* offsetof() into the plugin's own config struct */
    const char *help;
} sw_conf_entry;

typedef struct sw_plugin_ctx sw_plugin_ctx; /* opaque, one per loaded plugin */

/* What the host offers a plugin. Valid from sw_plugin_init() until
 * sw_plugin_cleanup() returns. */
typedef struct sw_host_api {
    int abi_version;
    uint32_t size; /* sizeof(sw_host_api) of the host: check before using later fields */

    /* Register `cb` for `hook` (SW_HOOK_INCIDENT takes an sw_incident_cb cast
     * to sw_msg_cb). Callbacks of one hook run in plugin load order. */
    int (*callback_register)(sw_plugin_ctx *ctx, enum sw_hook hook, sw_msg_cb cb, void *userdata);

    /* Validate the plugin's "config" object against `table` and fill `out`.
     * Returns 0 or SW_EINVAL after logging "plugin NAME: config key K: why". */
    int (*config_parse)(sw_plugin_ctx *ctx, const sw_conf_entry *table, void *out);

    /* The section `name` of the loaded policy, or NULL. Valid until cleanup. */
    const cJSON *(*policy_section)(sw_plugin_ctx *ctx, const char *name);

    /* Parse a policy duration ("90s", "5m", "2h", "3d"); returns 0 and sets
     * *ms, or SW_EINVAL. Working-day durations are not accepted here. */
    int (*duration_parse)(const char *text, int64_t *ms);

    /* Parse an RFC 3339 timestamp with offset; 0 and *ms, or SW_EINVAL. */
    int (*time_parse)(const char *text, int64_t *ms);

    /* 1 if `s` is a device, user, report, request or incident id of the
     * contract (1-128 of A-Z a-z 0-9 _ - . :). */
    int (*id_valid)(const char *s);

    /* Report a policy problem found by the plugin: logs "FILE: key K: why"
     * with the policy file name; returns SW_EINVAL for convenience. */
    int (*policy_error)(sw_plugin_ctx *ctx, const char *key, const char *why);

    /* Reject the message: the host publishes it to the dead-letter topic with
     * `code` (a stable snake_case word) and `reason` (for people; must not
     * contain personal data). Returns SW_EREJECTED. */
    int (*msg_reject)(sw_msg *msg, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* Log one line at `level` (SW_LOG_*), prefixed with the plugin name. */
    void (*log)(sw_plugin_ctx *ctx, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* The top-level key `name` of the daemon's configuration as loaded
     * (e.g. "foreign", the mappings of foreign devices, each completed by
     * the host), or NULL. Valid until cleanup. Taken from the reserved
     * slots: NULL on a host older than it. */
    const cJSON *(*config_section)(sw_plugin_ctx *ctx, const char *name);
    /* The configuration file's path, for messages. Same provenance. */
    const char *(*config_path)(sw_plugin_ctx *ctx);

    void *reserved[6];
} sw_host_api;

/* Symbols every plugin exports (visible even when built with
 * -fvisibility=hidden). sw_plugin_version() returns the chosen version or -1;
 * sw_plugin_init() returns 0 or a negative SW_E* code, and on failure has
 * freed whatever it allocated; sw_plugin_cleanup() frees `userdata`. */
#define SW_PLUGIN_EXPORT __attribute__((visibility("default")))
SW_PLUGIN_EXPORT int sw_plugin_version(int count, const int *versions);
SW_PLUGIN_EXPORT int sw_plugin_init(sw_plugin_ctx *ctx, const sw_host_api *api, void **userdata);
SW_PLUGIN_EXPORT void sw_plugin_cleanup(void *userdata);

/* Defines sw_plugin_version() for a plugin built for ABI version `v`: it
 * answers `v` whatever the host offers, so that a host without `v` can say
 * which version the plugin was built for when it refuses it. */
#define SW_PLUGIN_VERSION(v)                                                                       \
    SW_PLUGIN_EXPORT int sw_plugin_version(int count, const int *versions)                         \
    {                                                                                              \
        (void)count;                                                                               \
        (void)versions;                                                                            \
        return (v);                                                                                \
    }

#ifdef __cplusplus
}
#endif
#endif
