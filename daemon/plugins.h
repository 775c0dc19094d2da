/*
 * The plugin host: loads the pipeline plugins named in the config, in
 * order, negotiates their ABI version, validates their config and runs
 * their hooks. See include/siteward/plugin.h for the plugin side.
 */
#ifndef SW_PLUGINS_H
#define SW_PLUGINS_H

#include "config.h"
#include "policy.h"
#include "siteward/plugin.h"

typedef struct sw_plugins sw_plugins;

/* Load every plugin of cfg->plugins. `policy` must outlive the host. On any
 * failure logs a message naming the plugin (and key) and returns
 * SW_ECONFIG; nothing stays loaded. */
int sw_plugins_load(sw_plugins **out, const sw_config *cfg, const sw_policy *policy);
/* Calls every plugin's cleanup, then dlclose()s it. NULL is allowed. */
void sw_plugins_unload(sw_plugins *pl);

/* Run the callbacks of `hook` in load order; stops at the first that
 * returns non-zero and returns that value. */
int sw_plugins_run(sw_plugins *pl, enum sw_hook hook, sw_msg *msg);
/* 1 if some plugin registered for `hook`. */
int sw_plugins_has(const sw_plugins *pl, enum sw_hook hook);
/* Tell the SW_HOOK_INCIDENT callbacks that `incident` changed. */
void sw_plugins_incident(sw_plugins *pl, const cJSON *incident);

/* The host API table of this daemon (also used by unit tests of plugins). */
const sw_host_api *sw_host_api_get(void);
/* Set a message's dead-letter code and reason; returns SW_EREJECTED. */
int sw_msg_reject(sw_msg *msg, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
