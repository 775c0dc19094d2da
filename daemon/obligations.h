/*
 * Obligations: the time limits a class's policy sets, computed into due
 * times when an incident reaches the state they count from, and met by the
 * command op the policy names.
 */
#ifndef SW_OBLIGATIONS_H
#define SW_OBLIGATIONS_H

#include "config.h"
#include "incident.h"
#include "policy.h"

/* The instant `d` after `base_ms` for `site`: calendar durations add
 * directly, working days follow the site calendar. The interval is divided
 * by `scale` (--clock-scale). Sets *uncovered when the calendar did not
 * cover a day walked. */
int64_t sw_due(const sw_duration *d, int64_t base_ms, const sw_site_conf *site, double scale,
               int *uncovered);

/* Add the class's obligations that count from `from`, due from `base_ms`.
 * An obligation of the same name already on the incident is recomputed if
 * pending, kept if met. Returns how many were added or recomputed. */
int sw_obl_arm(sw_incident *inc, const sw_class *cls, enum sw_from from, int64_t base_ms,
               const sw_site_conf *site, double scale, int *uncovered);

/* Mark every pending (or missed) obligation met by `op` as met at `now_ms`
 * by `by`. Returns how many were met. */
int sw_obl_meet(sw_incident *inc, const char *op, int64_t now_ms, const char *by);

/* Cancel every pending obligation (the incident closed or changed class);
 * with `keep` non-NULL, obligations of that class are left alone. */
int sw_obl_cancel(sw_incident *inc, const sw_class *keep);

#endif
