/*
 * Obligations: the time limits a class's policy sets, computed into due
 * times when an incident reaches the state they count from, met by the
 * command op the policy names, and escalated along their chain when missed.
 */
#ifndef SW_OBLIGATIONS_H
#define SW_OBLIGATIONS_H

#include "config.h"
#include "incident.h"
#include "policy.h"

/* The instant `d` after `base_ms` for `site`: calendar durations add
 * directly, working days follow the site calendar; an instant inside the
 * quiet hours [quiet_from, quiet_to) (local minutes of day, -1 for none)
 * moves to their end. The interval is then divided by `scale`
 * (--clock-scale). Sets *uncovered when the calendar did not cover a day
 * walked. */
int64_t sw_due(const sw_duration *d, int64_t base_ms, const sw_site_conf *site, double scale,
               int quiet_from, int quiet_to, int *uncovered);

/* The instant `d` before `base_ms` (a "before" obligation): calendar time
 * subtracts directly, working days walk back over the site calendar to the
 * same local time of day; an instant inside the quiet hours moves back to
 * their start. The lead is divided by `scale`. */
int64_t sw_due_before(const sw_duration *d, int64_t base_ms, const sw_site_conf *site, double scale,
                      int quiet_from, int quiet_to, int *uncovered);

/* Add the class's obligations that count from `from`, due from `base_ms`.
 * An obligation of the same name already on the incident is recomputed
 * unless met. Returns how many were added or recomputed. */
int sw_obl_arm(sw_incident *inc, const sw_class *cls, enum sw_from from, int64_t base_ms,
               const sw_site_conf *site, double scale, int *uncovered);

/* Mark every pending (or missed) obligation met by `op` as met at `now_ms`
 * by `by`. Returns how many were met. */
int sw_obl_meet(sw_incident *inc, const char *op, int64_t now_ms, const char *by);

/* End every pending or missed obligation (the incident closed or changed
 * class): those already past due at `now_ms` are missed, the others
 * cancelled; none escalates any more. With `keep` non-NULL, those the class
 * `keep` also has are left alone. Returns how many. */
int sw_obl_cancel(sw_incident *inc, const sw_class *keep, int64_t now_ms);

/* 1 if the obligation still needs a timer: pending, or missed and still
 * escalating. */
int sw_obl_timed(const sw_obligation *ob);

/*
 * The escalation due now for missed obligation `ob` of `rule`: the step
 * (0-based) and its role. Advances ob->esc_step and ob->next_ms past `now`
 * (steps already due are sent one per call; repeats restart from `now`).
 * Returns 0, or SW_ENOENT when the rule has no chain (nobody to tell).
 */
int sw_obl_escalate(sw_obligation *ob, const sw_obl_rule *rule, const sw_site_conf *site,
                    double scale, int64_t now_ms, int *step, const char **role);

#endif
