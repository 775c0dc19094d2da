/*
 * sitewardctl silences: the silences operators set (daemon/silence.h),
 * active and ended, with who set them, why, until when and how many events
 * they muted. Reads the store in a read-only transaction of its own.
 */
#ifndef SW_CTL_SILENCES_H
#define SW_CTL_SILENCES_H

#include "config.h"
#include "store.h"

/* Print the silences of `site` (NULL: every site) as a table, or one JSON
 * document per line with `json`; `cfg` (or NULL: UTC) gives each site's
 * offset. Returns 0, or 1 when the store cannot be read. */
int sw_ctl_silences(sw_store *st, const sw_config *cfg, const char *site, int json);

#endif
