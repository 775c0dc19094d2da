/*
 * Planned work (DOMAIN.md "Notices to residents"): a water or power cut,
 * pest control or a community event announced with a `planned_work` report
 * (kind, start, end, location). Each becomes an incident-like record of the
 * kind's class, so its notice obligations ("before" the start: customer
 * service told, residents notified) are armed, met by command and escalated
 * by the ordinary machinery, and its timeline and review are the usual ones.
 *
 * Inside its window, an alarm of a type the kind explains (a power loss in
 * that building during a power cut) is recorded on the work's timeline and
 * opens no incident. At the window's end (the '@plan:ID' deadline) every
 * such alarm still active, with no "normal" since, is applied again as if
 * it had just arrived, and opens its incident then.
 *
 * Store (meta database):
 *   plan/SITE/ID                  -> {"kind","start","end","location"} while the window is ahead or
 * open plana/ID/SOURCE/DEVICE/TYPE   -> {"topic","payload"} of an explained alarm still active
 * Deadlines: be64(end) "@plan:ID/end".
 */
#ifndef SW_PLANNED_H
#define SW_PLANNED_H

#include "batch.h"

/* 1 if `m` is a planned-work report (category "planned_work"). */
int sw_plan_is_report(const sw_msg *m);

/* Apply a planned-work report: validate it against the policy (bad_field,
 * not_allowed: a weekday the kind may not take place on), open its record
 * and arm its notices. A notice already past due (too short a notice) is
 * accepted and marked missed at once; it escalates on the next tick.
 * Returns 0 with *out set, SW_EREJECTED with the reason in `m`, or a
 * negative store error. */
int sw_plan_report(sw_batch *b, sw_msg *m, sw_dirty **out);

/* If a planned work explains event `m` (type, place and time), record it
 * on that work's timeline, remember or forget it as an active alarm, and
 * set *explained. Returns 0 or a negative store error. */
int sw_plan_explain(sw_batch *b, sw_msg *m, int *explained);

/* 1 if every location part `where` names (building, floor, unit, area;
 * NULL or {} names none) is also `loc`'s, with the same value. */
int sw_plan_place_matches(const cJSON *where, const sw_location *loc);

/* The '@plan:' deadline `name` of planned work `id` due at `due_ms`. */
int sw_plan_fire(sw_batch *b, const char *id, const char *name, int64_t due_ms, int64_t now);

#endif
