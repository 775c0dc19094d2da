/*
 * The metrics' gauges of open incidents (per site and level) and pending
 * obligations, kept in step with the store: counted once at start, then
 * changed by the difference each committed batch made, so a scrape never
 * scans the store.
 */
#ifndef SW_GAUGES_H
#define SW_GAUGES_H

#include "batch.h"
#include "metrics.h"
#include "store.h"

/* Count from the store: every open incident once, and the incidents behind
 * the remaining deadlines (closed ones with a review or callback pending).
 * Run on the loop thread before the first batch. 0 or a negative code. */
int sw_gauges_scan(sw_metrics *m, sw_store *st);
/* Apply what the committed batch `b` changed. */
void sw_gauges_batch(sw_metrics *m, const sw_batch *b);

#endif
