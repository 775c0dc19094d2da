/*
 * Quality figures over a site's incidents (sitewardctl report): what the
 * service standards track, per class and overall.
 */
#ifndef SW_REPORT_H
#define SW_REPORT_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "store.h"

/*
 * The figures for incidents of `site` opened in [from_ms, to_ms), read in
 * `txn`. Per class: count, on-time rate per obligation (met on time / met
 * or missed), response time (first operator command after opening) p50 and
 * p90 in seconds. Overall: repeat complaints (a complaint at a unit that
 * had another within the previous 30 days), average satisfaction score,
 * reviews submitted on time. "unreadable" names each stored incident or
 * timeline entry that could not be read (left out of the figures). Caller
 * deletes the result; NULL on ENOMEM.
 */
cJSON *sw_report_build(sw_store *st, MDB_txn *txn, const char *site, int64_t from_ms,
                       int64_t to_ms);

#endif
