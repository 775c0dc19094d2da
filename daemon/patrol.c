/*
 * Patrol slots: the schedule's windows cut each local day into slots
 * ("every 2h from 06:00 to 22:00, every 1h from 22:00 to 06:00"). A window
 * that wraps past midnight belongs to the day it starts on; its last slot
 * is cut at the window's end, so the 20:00 slot of a 2-hour day window
 * ends at 22:00 where the hourly night slots begin.
 */
#include "expect.h"

static int64_t sw__floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

static int64_t sw__len(const sw_window *w)
{
    int len = (w->to_min - w->from_min + 1440) % 1440;
    return (int64_t)(len ? len : 1440) * 60000;
}

void sw_patrol_slot(const sw_round *r, int64_t local, int64_t *from, int64_t *to)
{
    int64_t day = sw__floor_div(local, SW_MS_PER_DAY) * SW_MS_PER_DAY;
    int64_t best_from = 0, best_to = 0;
    int found = 0;

    /* Windows are disjoint: the one holding `local` started today or, when
     * it wraps, yesterday. Otherwise (a gap) the first slot after it. */
    for (int d = -1; d <= 1; d++)
        for (int i = 0; i < r->nwindows; i++) {
            const sw_window *w = &r->windows[i];
            int64_t ws = day + d * SW_MS_PER_DAY + (int64_t)w->from_min * 60000;
            int64_t we = ws + sw__len(w);
            if (local >= ws && local < we) {
                int64_t s = ws + (local - ws) / w->every_ms * w->every_ms;
                *from = s;
                *to = s + w->every_ms < we ? s + w->every_ms : we;
                return;
            }
            if (ws > local && (!found || ws < best_from)) {
                found = 1;
                best_from = ws;
                best_to = ws + w->every_ms < we ? ws + w->every_ms : we;
            }
        }
    *from = best_from;
    *to = best_to;
}
