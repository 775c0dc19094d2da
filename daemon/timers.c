#include "timers.h"

#include <string.h>

static int sw__timer(sw_batch *b, int64_t due_ms, const char *tag, int put)
{
    unsigned char key[8 + SW_TIMER_TAG_MAX];
    size_t n = strlen(tag);
    if (tag[0] != '@' || n >= SW_TIMER_TAG_MAX)
        return SW_EINVAL;
    sw_be64_put(key, (uint64_t)due_ms);
    memcpy(key + 8, tag, n);
    if (put)
        return sw_store_put(b->e->store, b->txn, SW_DB_DEADLINES, key, 8 + n, "", 0);
    int rc = sw_store_del(b->e->store, b->txn, SW_DB_DEADLINES, key, 8 + n);
    return rc == SW_ENOENT ? 0 : rc;
}

int sw_timer_arm(sw_batch *b, int64_t due_ms, const char *tag)
{
    return sw__timer(b, due_ms, tag, 1);
}

int sw_timer_cancel(sw_batch *b, int64_t due_ms, const char *tag)
{
    return sw__timer(b, due_ms, tag, 0);
}
