/*
 * Logging: one line per message on stderr. Under systemd (JOURNAL_STREAM
 * names the device and inode of our stderr) lines carry a "<N>" priority
 * prefix (sd-daemon(3)) and no timestamp, as journald adds its own;
 * otherwise a UTC timestamp and a level word. Messages must never contain
 * personal data (resident contacts).
 *
 * Repeats are rate-limited: lines are similar when level and text match
 * but for their digits; past SW_LOG_BURST similar lines within
 * SW_LOG_WINDOW_MS the rest are dropped, and once the window has passed one
 * line says how many were ("suppressed N similar messages: FIRST LINE").
 * The summary quotes a line already shown, so it says nothing new.
 *
 * Thread-safe: Paho's threads log too.
 */
#ifndef SW_LOG_H
#define SW_LOG_H

#include <stdint.h>
#include <stdio.h>

#include "siteward/types.h"

#define SW_LOG_WINDOW_MS 10000
#define SW_LOG_BURST     10

void sw_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sw_log_v(int level, const char *prefix, const char *fmt, __builtin_va_list ap);
/* Messages above this level are dropped. Default SW_LOG_INFO. */
void sw_log_set_level(int level);
int sw_log_get_level(void);
/* Emit the "suppressed" lines of windows that have passed; called from a
 * timer so a burst that simply stops is still accounted for. */
void sw_log_flush(void);
const char *sw_strerror(int err);

/* For tests: the clock (epoch ms; NULL restores the real one), where lines
 * go (NULL: stderr), and forgetting what was decided and counted so far
 * (the journal check is made again on the next line). */
void sw_log_set_clock(int64_t (*now_ms)(void));
void sw_log_set_output(FILE *f);
void sw_log_reset(void);

#endif
