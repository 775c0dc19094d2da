/*
 * systemd notification (sd_notify protocol): READY=1, WATCHDOG=1,
 * STOPPING=1, STATUS=... The datagram is written directly to
 * $NOTIFY_SOCKET; the protocol is stable and this avoids linking libsystemd
 * for four messages. Without $NOTIFY_SOCKET every call does nothing.
 */
#ifndef SW_NOTIFY_H
#define SW_NOTIFY_H

#include <stdint.h>

int sw_notify(const char *state);
/* The watchdog interval systemd asks for ($WATCHDOG_USEC), in ms, or 0. */
uint64_t sw_notify_watchdog_ms(void);

#endif
