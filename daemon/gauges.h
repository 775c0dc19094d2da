/*
 * The metrics' gauges of open incidents (per site and level) and pending
 * obligations, kept in the store so that a start reads a few keys instead
 * of every open incident:
 *
 *   meta  "g/v1"                 -> "" once the counts below are kept
 *         "g/open/SITE/L"        -> be64 open incidents of SITE at level L (0, 1, 2)
 *         "g/pending"            -> be64 pending obligations
 *
 * Each batch adds what it changed in its own transaction (sw_gauges_commit,
 * before the commit), and the same figures reach the in-memory metrics
 * after it (sw_gauges_publish), with the obligations that ended met on time
 * or missed. A store from before these keys is counted once, at start.
 */
#ifndef SW_GAUGES_H
#define SW_GAUGES_H

#include "batch.h"
#include "metrics.h"
#include "store.h"

/* Set the gauges of `m` from the store, counting every open incident (and
 * the closed ones behind deadlines) first if the store does not keep them
 * yet. Loop thread, before the first batch. 0 or a negative code. */
int sw_gauges_load(sw_metrics *m, sw_store *st);
/* Record in `b`'s transaction what it changed. SW_EMAPFULL like any write. */
int sw_gauges_commit(sw_batch *b);
/* After the commit: apply the batch's changes and outcomes to `m`. */
void sw_gauges_publish(sw_metrics *m, const sw_batch *b);
/* Free what sw_gauges_commit() kept in the batch (NULL allowed). */
void sw_gauges_free(struct sw_gauge_delta *d);

#endif
