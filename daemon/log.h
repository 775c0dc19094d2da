/*
 * Logging: one line per message on stderr. Under systemd (JOURNAL_STREAM
 * set) lines carry a "<N>" priority prefix and no timestamp, as journald
 * expects; otherwise a timestamp and a level word. Messages must never
 * contain personal data (resident contacts).
 */
#ifndef SW_LOG_H
#define SW_LOG_H

#include "siteward/types.h"

void sw_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sw_log_v(int level, const char *prefix, const char *fmt, __builtin_va_list ap);
/* Messages above this level are dropped. Default SW_LOG_INFO. */
void sw_log_set_level(int level);
const char *sw_strerror(int err);

#endif
