/*
 * Expected events: what the standards say must happen on a schedule, and
 * the incidents siteward opens when it does not (docs/policy.md, "Expected events").
 *
 *   rounds.c     patrol and inspection rounds: periods, check-ins, misses
 *   patrol.c     patrol slots from the schedule's windows
 *   inspect.c    daily, weekly and monthly periods; the "inspected" op
 *   silent.c     devices silent longer than their type's interval
 *   telemetry.c  thresholds with hysteresis and a minimum duration
 *   expect.c     what they share: the hooks the engine calls, incidents
 *                opened and resolved by rules, the "expect" database
 *
 * Everything runs on the loop thread inside a batch (batch.h): state,
 * timers (timers.h) and the incidents they open are written in the batch's
 * transaction, so a kill -9 loses none of a period's progress.
 */
#ifndef SW_EXPECT_H
#define SW_EXPECT_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "policy_expect.h"

/* Hooks of the engine. */

/* Every accepted event that is not a duplicate, before it is recorded or
 * joins an incident. Returns 0 or a negative code that aborts the batch. */
int sw_expect_event(sw_batch *b, const sw_msg *m);
/* 1 if `op` is a command op that names no incident ("inspected"). */
int sw_expect_op(const char *op);
/* Apply such an op: 0 when applied, 0 with *code and `why` set when it
 * cannot apply (bad_command), or a negative code. */
int sw_expect_command(sw_batch *b, const sw_msg *m, const char **code, char *why, size_t whylen);

/* For the rules. */

/* Open an incident of class `cls` at site `site`, opened at `opened_ms`,
 * its source `by` ("patrol/round", "sensor/d17"); `location` is copied (may
 * be NULL); `detail` (what the rule found) is taken over. */
int sw_expect_open(sw_batch *b, const char *site, const char *cls, int64_t opened_ms,
                   const char *by, const cJSON *location, cJSON *detail, sw_dirty **out);
/* Resolve incident `id` on behalf of `by` unless it is already resolved or
 * later, or gone. */
int sw_expect_resolve(sw_batch *b, const char *id, int64_t now, const char *by);
/* The "expect" database. */
int sw_expect_get(sw_batch *b, const char *key, size_t klen, MDB_val *val);
int sw_expect_put(sw_batch *b, const char *key, size_t klen, const void *val, size_t vlen);
int sw_expect_del(sw_batch *b, const char *key, size_t klen);
/* The time an event happened: the device's own when plausible (not ahead
 * of arrival, at most 10 minutes behind), else arrival. */
int64_t sw_expect_event_time(const sw_msg *m);
/* Scheduled rounds run on the scaled clock: with --clock-scale F, the
 * instant `real` is F * real on the schedule's clock, so a 2-hour slot
 * lasts 2/F hours. Identity when F is 1. */
int64_t sw_expect_sched(const sw_batch *b, int64_t real);
/* The first real instant at or after schedule instant `sched`. */
int64_t sw_expect_real(const sw_batch *b, int64_t sched);
/* A policy interval on the scaled clock (divided by --clock-scale). */
int64_t sw_expect_scaled(const sw_batch *b, int64_t ms);
/* RFC 3339 of real instant `ms` at the site's offset, added to `o`. */
void sw_expect_add_time(const sw_batch *b, cJSON *o, const char *key, const char *site, int64_t ms);

/* Per rule: events, timers (timers.h handlers), start-up. */
int sw_round_event(sw_batch *b, const sw_msg *m);
int sw_round_fire(sw_batch *b, const char *tag, int64_t due_ms, int64_t now);
/* Arm every round that has no state yet; *armed: how many. */
int sw_round_schedule(sw_batch *b, int64_t now, int *armed);
/* Mark `item` checked in at real instant `t_real` (applied at `now_real`)
 * in round `r`; *counted: it fell in the period under way or the next. A
 * period whose timer is overdue is judged first. */
int sw_round_checkin(sw_batch *b, const sw_round *r, const char *item, int64_t t_real,
                     int64_t now_real, int *counted);
/* The period of round `r` containing local schedule time `local`, or for
 * patrol schedules with gaps the next one after it: [*from, *to). */
void sw_patrol_slot(const sw_round *r, int64_t local, int64_t *from, int64_t *to);
void sw_inspect_period(const sw_round *r, int64_t local, int64_t *from, int64_t *to);
int sw_inspect_event(sw_batch *b, const sw_msg *m);
int sw_inspect_command(sw_batch *b, const sw_msg *m, const char **code, char *why, size_t whylen);

int sw_silent_event(sw_batch *b, const sw_msg *m);
int sw_silent_fire(sw_batch *b, const char *tag, int64_t due_ms, int64_t now);

int sw_telemetry_event(sw_batch *b, const sw_msg *m);
int sw_telemetry_fire(sw_batch *b, const char *tag, int64_t due_ms, int64_t now);

#endif
