#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int sw__log_level = SW_LOG_INFO;

void sw_log_set_level(int level)
{
    sw__log_level = level;
}

void sw_log_v(int level, const char *prefix, const char *fmt, va_list ap)
{
    static const char *names[] = {"emerg",   "alert",  "crit", "error",
                                  "warning", "notice", "info", "debug"};
    char line[2048];
    int n = 0;

    if (level > sw__log_level)
        return;
    if (getenv("JOURNAL_STREAM")) {
        n = snprintf(line, sizeof line, "<%d>", level);
    } else {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
        n += snprintf(line + n, sizeof line - (size_t)n, ".%03ldZ %s: ", ts.tv_nsec / 1000000,
                      names[level & 7]);
    }
    if (prefix)
        n += snprintf(line + n, sizeof line - (size_t)n, "%s: ", prefix);
    if (n < (int)sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    fprintf(stderr, "%s\n", line);
}

void sw_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sw_log_v(level, NULL, fmt, ap);
    va_end(ap);
}

const char *sw_strerror(int err)
{
    switch (err) {
    case SW_OK:
        return "success";
    case SW_ENOMEM:
        return "out of memory";
    case SW_EINVAL:
        return "invalid argument";
    case SW_ENOENT:
        return "not found";
    case SW_EEXIST:
        return "already exists";
    case SW_EIO:
        return "input/output error";
    case SW_ENOSPC:
        return "no space left on device";
    case SW_EVERSION:
        return "plugin ABI version not supported";
    case SW_EREJECTED:
        return "message rejected";
    case SW_EDUP:
        return "duplicate message";
    case SW_ESTORE:
        return "storage failure";
    case SW_EMQTT:
        return "MQTT client failure";
    case SW_ECONFIG:
        return "configuration error";
    default:
        return "unknown error";
    }
}
