#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SW__RL_SLOTS 32 /* call sites tracked at once; the oldest is reused */

typedef struct sw__rl {
    uint64_t key; /* sw__similar() of the line; 0: free slot */
    char sample[160];
    int64_t window_start;
    unsigned shown, suppressed;
} sw__rl;

static pthread_mutex_t sw__lock = PTHREAD_MUTEX_INITIALIZER;
static int sw__log_level = SW_LOG_INFO;
static int sw__journal = -1; /* -1: not decided yet */
static FILE *sw__out;
static int64_t (*sw__clock)(void);
static sw__rl sw__slots[SW__RL_SLOTS];

static int64_t sw__real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sw_log_set_level(int level)
{
    pthread_mutex_lock(&sw__lock);
    sw__log_level = level;
    pthread_mutex_unlock(&sw__lock);
}

int sw_log_get_level(void)
{
    pthread_mutex_lock(&sw__lock);
    int level = sw__log_level;
    pthread_mutex_unlock(&sw__lock);
    return level;
}

void sw_log_set_clock(int64_t (*now_ms)(void))
{
    sw__clock = now_ms;
}

void sw_log_set_output(FILE *f)
{
    sw__out = f;
}

void sw_log_reset(void)
{
    pthread_mutex_lock(&sw__lock);
    memset(sw__slots, 0, sizeof sw__slots);
    sw__journal = -1;
    pthread_mutex_unlock(&sw__lock);
}

/* systemd connects stderr to the journal and says so in JOURNAL_STREAM
 * ("DEV:INODE"); a child whose stderr was redirected inherits the variable,
 * so it counts only when it names our own stderr. */
static int sw__journal_check(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    char tail;

    if (!js || sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) != 2)
        return 0;
    FILE *f = sw__out ? sw__out : stderr;
    if (fstat(fileno(f), &st))
        return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* Write one line; the lock is held. */
static void sw__emit(int level, const char *text)
{
    static const char *names[] = {"emerg",   "alert",  "crit", "error",
                                  "warning", "notice", "info", "debug"};
    FILE *f = sw__out ? sw__out : stderr;

    if (sw__journal < 0)
        sw__journal = sw__journal_check();
    if (sw__journal) {
        fprintf(f, "<%d>%s\n", level & 7, text);
    } else {
        struct timespec ts;
        struct tm tm;
        char stamp[32];
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(f, "%s.%03ldZ %s: %s\n", stamp, ts.tv_nsec / 1000000, names[level & 7], text);
    }
    fflush(f);
}

static void sw__summary(const sw__rl *s)
{
    char line[300];
    snprintf(line, sizeof line, "suppressed %u similar messages: %s", s->suppressed, s->sample);
    sw__emit((int)(s->key & 7), line);
}

/* Lines are similar when they have the same level and the same text but
 * for their numbers (counts, sequence numbers, ports, times). */
static uint64_t sw__similar(int level, const char *text)
{
    uint64_t h = 1469598103934665603u;
    for (const char *p = text; *p; p++)
        if (*p < '0' || *p > '9')
            h = (h ^ (unsigned char)*p) * 1099511628211u;
    return (h & ~(uint64_t)15) | 8 | (uint64_t)(level & 7); /* never 0 */
}

/* Whether this line may be shown now; the lock is held. */
static int sw__admit(int level, const char *text, int64_t now)
{
    uint64_t key = sw__similar(level, text);
    sw__rl *s = NULL, *oldest = &sw__slots[0];
    for (int i = 0; i < SW__RL_SLOTS && !s; i++) {
        if (sw__slots[i].key == key)
            s = &sw__slots[i];
        else if (!sw__slots[i].key || sw__slots[i].window_start < oldest->window_start)
            oldest = &sw__slots[i];
    }
    if (!s) {
        s = oldest;
        if (s->key && s->suppressed)
            sw__summary(s);
        memset(s, 0, sizeof *s);
        s->key = key;
        s->window_start = now;
        size_t n = strnlen(text, sizeof s->sample - 1);
        memcpy(s->sample, text, n);
    }
    if (now - s->window_start >= SW_LOG_WINDOW_MS) {
        if (s->suppressed)
            sw__summary(s);
        s->window_start = now;
        s->shown = s->suppressed = 0;
    }
    if (s->shown < SW_LOG_BURST) {
        s->shown++;
        return 1;
    }
    s->suppressed++;
    return 0;
}

void sw_log_flush(void)
{
    pthread_mutex_lock(&sw__lock);
    int64_t now = sw__clock ? sw__clock() : sw__real_ms();
    for (int i = 0; i < SW__RL_SLOTS; i++) {
        sw__rl *s = &sw__slots[i];
        if (s->key && s->suppressed && now - s->window_start >= SW_LOG_WINDOW_MS) {
            sw__summary(s);
            s->window_start = now;
            s->shown = s->suppressed = 0;
        }
    }
    pthread_mutex_unlock(&sw__lock);
}

void sw_log_v(int level, const char *prefix, const char *fmt, va_list ap)
{
    char line[2048];
    int n = 0;

    pthread_mutex_lock(&sw__lock);
    if (level > sw__log_level) {
        pthread_mutex_unlock(&sw__lock);
        return;
    }
    if (prefix)
        n = snprintf(line, sizeof line, "%s: ", prefix);
    if (n >= 0 && n < (int)sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    /* One message, one line: a newline inside would start a forged one. */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (sw__admit(level, line, sw__clock ? sw__clock() : sw__real_ms()))
        sw__emit(level, line);
    pthread_mutex_unlock(&sw__lock);
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
    case SW_EAGAIN:
        return "no room now; try again later";
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
    case SW_EMAPFULL:
        return "store map full";
    case SW_ECONFIG:
        return "configuration error";
    default:
        return "unknown error";
    }
}
