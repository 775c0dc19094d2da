#include "metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "log.h"

#define SW__CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static enum MHD_Result sw__reply(struct MHD_Connection *c, unsigned status, char *body, size_t len,
                                 const char *type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static char *sw__text(const char *s, size_t *len)
{
    *len = strlen(s);
    return strdup(s);
}

static enum MHD_Result sw__handle(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req)
{
    sw_metrics_http *h = cls;
    size_t len;
    char *body;

    (void)version;
    (void)upload;
    if (*upload_size) {
        *upload_size = 0; /* a body is never wanted: drop it */
        return MHD_YES;
    }
    if (!*req) {
        *req = h; /* headers only so far; answer on the next call */
        return MHD_YES;
    }
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return (body = sw__text("only GET\n", &len))
                   ? sw__reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, body, len, "text/plain")
                   : MHD_NO;
    if (strcmp(url, "/metrics"))
        return (body = sw__text("not found: try /metrics\n", &len))
                   ? sw__reply(c, MHD_HTTP_NOT_FOUND, body, len, "text/plain")
                   : MHD_NO;
    if (!(body = h->render(h->ctx, &len)))
        return (body = sw__text("out of memory\n", &len))
                   ? sw__reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, body, len, "text/plain")
                   : MHD_NO;
    return sw__reply(c, MHD_HTTP_OK, body, len, SW__CONTENT_TYPE);
}

static void sw__mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    sw_log_v(SW_LOG_WARNING, "metrics", fmt, ap);
}

static void sw__timer_cb(uv_timer_t *t);

/* After MHD has run: wake again when it says it has something to time out
 * (or data already buffered: timeout 0). */
static void sw__schedule(sw_metrics_http *h)
{
    MHD_UNSIGNED_LONG_LONG ms;
    if (h->closing)
        return;
    if (MHD_get_timeout(h->mhd, &ms) == MHD_YES)
        uv_timer_start(&h->timer, sw__timer_cb, (uint64_t)ms, 0);
    else
        uv_timer_stop(&h->timer);
}

static void sw__timer_cb(uv_timer_t *t)
{
    sw_metrics_http *h = t->data;
    MHD_run(h->mhd);
    sw__schedule(h);
}

static void sw__poll_cb(uv_poll_t *p, int status, int events)
{
    sw_metrics_http *h = p->data;
    (void)status;
    (void)events;
    MHD_run(h->mhd);
    sw__schedule(h);
}

static int sw__addr(const char *listen, struct sockaddr_storage *ss, unsigned *flags)
{
    char host[64];
    const char *colon = strrchr(listen, ':');
    unsigned port;

    memset(ss, 0, sizeof *ss);
    if (!colon || sscanf(colon + 1, "%u", &port) != 1 || port > 65535)
        return SW_EINVAL;
    if (listen[0] == '[') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        snprintf(host, sizeof host, "%.*s", (int)(colon - listen) - 2, listen + 1);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *flags |= MHD_USE_IPv6;
        return inet_pton(AF_INET6, host, &s6->sin6_addr) == 1 ? 0 : SW_EINVAL;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : SW_EINVAL;
}

int sw_metrics_http_start(sw_metrics_http *h, uv_loop_t *loop, const char *listen,
                          const char *cfg_path, sw_metrics_render_cb render, void *ctx)
{
    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG; /* no internal polling thread */
    const union MHD_DaemonInfo *info;

    memset(h, 0, sizeof *h);
    h->render = render;
    h->ctx = ctx;
    if (sw__addr(listen, &ss, &flags)) {
        sw_log(SW_LOG_ERR, "%s: key 'metrics.listen': '%s' is not ADDRESS:PORT", cfg_path, listen);
        return SW_ECONFIG;
    }
    errno = 0;
    h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, sw__handle, h, MHD_OPTION_EXTERNAL_LOGGER,
                              sw__mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (!h->mhd) {
        sw_log(SW_LOG_ERR, "%s: key 'metrics.listen': cannot listen on %s%s%s", cfg_path, listen,
               errno ? ": " : "", errno ? strerror(errno) : "");
        return SW_ECONFIG;
    }
    info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || uv_poll_init(loop, &h->poll, info->epoll_fd)) {
        sw_log(SW_LOG_ERR, "metrics: cannot watch the HTTP server's epoll descriptor");
        MHD_stop_daemon(h->mhd);
        h->mhd = NULL;
        return SW_ECONFIG;
    }
    h->poll.data = h;
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    uv_poll_start(&h->poll, UV_READABLE, sw__poll_cb);
    sw__schedule(h);
    sw_log(SW_LOG_INFO, "metrics: serving http://%s/metrics", listen);
    return 0;
}

static void sw__closed(uv_handle_t *handle)
{
    (void)handle;
}

void sw_metrics_http_close(sw_metrics_http *h)
{
    if (!h->mhd || h->closing)
        return;
    h->closing = 1;
    /* Stop watching before MHD closes the descriptor. */
    uv_close((uv_handle_t *)&h->poll, sw__closed);
    uv_close((uv_handle_t *)&h->timer, sw__closed);
    MHD_stop_daemon(h->mhd);
    h->mhd = NULL;
}
