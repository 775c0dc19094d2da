/*
 * Timers that are not incident obligations. They live in the "deadlines"
 * database beside the obligations, so there is still one timer structure
 * and one libuv timer: key be64(due_ms) then a tag "@WORD:REST", where WORD
 * names the handler (deadlines.c dispatches on it: patrol, inspect, silent,
 * telemetry, ...) and REST is the handler's own. Such a timer fires once:
 * it is removed in the transaction its handler runs in, and the handler
 * arms whatever comes next. Arming and cancelling belong to the batch's
 * transaction, so a timer and the state it guards are durable together.
 */
#ifndef SW_TIMERS_H
#define SW_TIMERS_H

#include <stdint.h>

#include "batch.h"

/* Longest tag: "@telemetry:" SITE/RULE/SOURCE/DEVICE, well under LMDB's
 * 511-byte key. */
#define SW_TIMER_TAG_MAX 320

/* A handler: `tag` is the whole tag ("@word:..."), `due_ms` the time it was
 * armed for; `now` may be later (siteward was down). Returns 0 or a
 * negative code that aborts the tick's transaction. */
typedef int (*sw_timer_fn)(sw_batch *b, const char *tag, int64_t due_ms, int64_t now);

/* Arm (put) or cancel (delete; a missing key is not an error) the timer
 * `tag` due at `due_ms`. SW_EINVAL for a tag not starting with '@' or
 * longer than SW_TIMER_TAG_MAX - 1. */
int sw_timer_arm(sw_batch *b, int64_t due_ms, const char *tag);
int sw_timer_cancel(sw_batch *b, int64_t due_ms, const char *tag);

#endif
