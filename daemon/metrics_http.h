/*
 * The /metrics endpoint: libmicrohttpd driven by the libuv loop (no thread
 * of its own). MHD runs in epoll mode without an internal polling thread;
 * its epoll descriptor is watched by a uv_poll_t, and a uv_timer_t follows
 * MHD_get_timeout(), so every request is answered on the loop thread and
 * may read the engine's figures without locks.
 */
#ifndef SW_METRICS_HTTP_H
#define SW_METRICS_HTTP_H

#include <stddef.h>

#include <uv.h>

/* Render the body of GET /metrics; the caller frees it. NULL: 500. */
typedef char *(*sw_metrics_render_cb)(void *ctx, size_t *len);

typedef struct sw_metrics_http {
    struct MHD_Daemon *mhd;
    uv_poll_t poll;
    uv_timer_t timer;
    sw_metrics_render_cb render;
    void *ctx;
    int closing;
} sw_metrics_http;

/* Listen on `listen` ("ADDR:PORT" or "[ADDR6]:PORT", as validated by the
 * config). On failure logs why, naming `cfg_path` and the key, and returns
 * SW_ECONFIG; nothing is left open. The struct must stay put until
 * sw_metrics_http_close() has been called and the loop has run. */
int sw_metrics_http_start(sw_metrics_http *h, uv_loop_t *loop, const char *listen,
                          const char *cfg_path, sw_metrics_render_cb render, void *ctx);
/* Close the handles and stop MHD (open connections are dropped). */
void sw_metrics_http_close(sw_metrics_http *h);

#endif
