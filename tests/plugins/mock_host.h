/*
 * A mock plugin host: records registered callbacks, serves policy sections
 * from a JSON document the test gives, and fills config structs from a
 * table's defaults overridden by a JSON object.
 */
#ifndef SW_MOCK_HOST_H
#define SW_MOCK_HOST_H

#include "siteward/plugin.h"

typedef struct mock_host {
    sw_msg_cb cb[SW_HOOK_MAX];
    void *cb_ud[SW_HOOK_MAX];
    cJSON *policy; /* owned */
    cJSON *config; /* owned, or NULL */
    cJSON *daemon; /* owned: the daemon configuration's sections (config_section), or NULL */
    int policy_errors;
    void *userdata;
} mock_host;

/* Parse `policy_json` and `config_json` (may be NULL) and init the plugin.
 * Returns the plugin's init result. */
int mock_load(mock_host *h, const char *policy_json, const char *config_json);
/* The same, with `daemon_json` as the daemon configuration the plugin
 * reads through config_section(). */
int mock_load_daemon(mock_host *h, const char *policy_json, const char *config_json,
                     const char *daemon_json);
void mock_unload(mock_host *h);
/* A message as the host would pass it after parsing the topic. */
void mock_msg(sw_msg *m, enum sw_msg_kind kind, const char *site, const char *source,
              const char *device_or_user, const char *payload);
/* Run `hook` on `m`; returns its result. */
int mock_run(mock_host *h, enum sw_hook hook, sw_msg *m);
const sw_host_api *mock_api(void);

#endif
