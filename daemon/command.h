/*
 * Operator commands (CONTRACT.md "Command"): state transitions, the
 * obligations each op meets, and the timeline entries they leave.
 */
#ifndef SW_COMMAND_H
#define SW_COMMAND_H

#include <stddef.h>

#include "batch.h"

/*
 * Apply the command `m` to incident `d`. Returns 0 when applied, 0 with
 * *code set (a stable error word, and `why` for people) when the command
 * cannot apply: illegal_transition, bad_command, unknown_class; or a
 * negative code for a storage failure that must abort the batch.
 */
int sw_command_apply(sw_batch *b, sw_dirty *d, const sw_msg *m, const char **code, char *why,
                     size_t whylen);

/* Move `d` to state `to` at `now` on behalf of `by`: arms the obligations
 * that count from the new state and records the change in the timeline. */
int sw_command_transition(sw_batch *b, sw_dirty *d, enum sw_state to, int64_t now, const char *by);

#endif
