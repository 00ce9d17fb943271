/* transport/mllp: the MLLP listener (see mllp.h).
 *
 * Threads: one accepting thread (poll on the listener and a stop pipe), and one thread per open
 * connection, at most max_connections of them. A patient identity feed is a few long-lived
 * connections from an interface engine, each sending one message and waiting for its
 * acknowledgement before the next, so a thread per connection is the simple, bounded shape.
 * A connection thread reads with poll() deadlines: idle_timeout_s while no frame is begun,
 * receive_timeout_s for a whole frame once its start byte arrived (a sender trickling bytes
 * cannot hold a connection past it). Bytes outside a frame other than CR, LF and spaces close
 * the connection: it is not speaking MLLP. A frame past max_message is read to its end and
 * discarded, and the handler answers it (a rejection) from its first bytes.
 * Stopping: the accepting thread ends, each connection's socket is shut down for reading (a
 * message being handled still gets its answer), every thread is joined. */
#define _GNU_SOURCE
#include "transport/mllp.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "transport/server.h"
#include "util/alloc.h"

#define MLLP_SB 0x0b
#define MLLP_EB 0x1c
#define MLLP_CR 0x0d
#define MLLP_ANSWER_MAX ((size_t)64 << 10)

typedef struct mllp_conn {
    struct mllp_conn *next;
    cg_mllp *m;
    int fd;
    char peer[INET6_ADDRSTRLEN + 8];
    pthread_t thread;
    int done; /* under m->lock: the thread has finished (join it) */
} mllp_conn;

struct cg_mllp {
    cg_mllp_config cfg;
    int fd;
    int port;
    int stop_pipe[2];
    pthread_t acceptor;
    int started;
    pthread_mutex_t lock;
    mllp_conn *conns; /* open or finished, not yet joined */
    unsigned nconns;  /* not yet finished */
};

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- one connection -------------------------------------------------------------------------- */

/* Writes all of data before the deadline: 0, or -1 (the connection is to be closed). */
static int
send_all(int fd, const char *data, size_t len, int64_t deadline)
{
    while (len > 0) {
        int64_t left = deadline - now_ms();
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return -1;
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int
answer(mllp_conn *c, cg_buf *msg, int truncated, cg_buf *ans)
{
    const cg_mllp_config *cfg = &c->m->cfg;
    cg_buf_reset(ans);
    cfg->handler(cfg->ctx, c->peer, msg->data ? msg->data : "", msg->len, truncated, ans);
    if (ans->len == 0)
        return 0;
    cg_buf frame;
    cg_buf_init(&frame, ans->len + 3);
    cg_buf_putc(&frame, MLLP_SB);
    cg_buf_append(&frame, ans->data, ans->len);
    cg_buf_putc(&frame, MLLP_EB);
    cg_buf_putc(&frame, MLLP_CR);
    int rc =
        send_all(c->fd, frame.data, frame.len, now_ms() + (int64_t)cfg->receive_timeout_s * 1000);
    cg_buf_dispose(&frame);
    return rc;
}

static void *
conn_main(void *arg)
{
    mllp_conn *c = arg;
    const cg_mllp_config *cfg = &c->m->cfg;
    cg_buf msg, ans;
    cg_buf_init(&msg, cfg->max_message);
    cg_buf_init(&ans, MLLP_ANSWER_MAX);
    enum { OUTSIDE, INSIDE, AFTER_EB } state = OUTSIDE;
    int truncated = 0;
    int64_t deadline = now_ms() + (int64_t)cfg->idle_timeout_s * 1000;
    char chunk[4096];
    for (;;) {
        int64_t left = deadline - now_ms();
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (left <= 0)
            break; /* idle too long, or a frame too slow */
        int pr = poll(&p, 1, (int)(left > INT32_MAX ? INT32_MAX : left));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            break;
        ssize_t n = recv(c->fd, chunk, sizeof chunk, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            break; /* closed by the peer, or shut down by cg_mllp_free */
        int close_now = 0;
        for (ssize_t i = 0; i < n && !close_now; i++) {
            unsigned char b = (unsigned char)chunk[i];
            if (state == AFTER_EB) {
                state = OUTSIDE;
                if (b == MLLP_CR)
                    continue; /* the frame's last byte; a peer that omits it is forgiven */
            }
            if (state == OUTSIDE) {
                if (b == MLLP_SB) {
                    state = INSIDE;
                    truncated = 0;
                    cg_buf_reset(&msg);
                    deadline = now_ms() + (int64_t)cfg->receive_timeout_s * 1000;
                } else if (b != '\r' && b != '\n' && b != ' ' && b != '\t') {
                    close_now = 1; /* not MLLP */
                }
                continue;
            }
            /* INSIDE: up to the end byte, as much as fits */
            const char *start = chunk + i;
            const char *eb = memchr(start, MLLP_EB, (size_t)(n - i));
            size_t take = eb ? (size_t)(eb - start) : (size_t)(n - i);
            if (!truncated && cg_buf_append(&msg, start, take) != 0) {
                truncated = 1; /* keep what fits; the rest is discarded up to the end byte */
                size_t room = msg.max > msg.len ? msg.max - msg.len : 0;
                cg_buf_append(&msg, start, room);
            }
            i += (ssize_t)take; /* at the end byte, or past the chunk */
            if (eb) {
                state = AFTER_EB;
                if (answer(c, &msg, truncated, &ans) != 0)
                    close_now = 1;
                deadline = now_ms() + (int64_t)cfg->idle_timeout_s * 1000;
            }
        }
        if (close_now)
            break;
    }
    cg_buf_dispose(&msg);
    cg_buf_dispose(&ans);
    cg_mllp *m = c->m;
    pthread_mutex_lock(&m->lock);
    int fd = c->fd;
    c->fd = -1; /* cg_mllp_free shuts down only sockets still open */
    c->done = 1;
    m->nconns--;
    pthread_mutex_unlock(&m->lock);
    close(fd);
    return NULL;
}

/* ---- accepting ------------------------------------------------------------------------------- */

/* Joins the connections that finished (all of them when `all`, after they were told to stop). */
static void
reap(cg_mllp *m, int all)
{
    for (;;) {
        mllp_conn *found = NULL;
        pthread_mutex_lock(&m->lock);
        for (mllp_conn **pp = &m->conns; *pp; pp = &(*pp)->next) {
            if ((*pp)->done || all) {
                found = *pp;
                *pp = found->next;
                break;
            }
        }
        pthread_mutex_unlock(&m->lock);
        if (found == NULL)
            return;
        pthread_join(found->thread, NULL);
        free(found);
    }
}

static void
accept_one(cg_mllp *m)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(m->fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    pthread_mutex_lock(&m->lock);
    int full = m->nconns >= m->cfg.max_connections;
    pthread_mutex_unlock(&m->lock);
    if (full) {
        close(fd); /* the sender's engine retries later */
        return;
    }
    mllp_conn *c = cg_xcalloc(1, sizeof(*c));
    c->m = m;
    c->fd = fd;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
    } else if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
    }
    snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
    pthread_mutex_lock(&m->lock);
    m->nconns++;
    c->next = m->conns;
    m->conns = c;
    if (pthread_create(&c->thread, NULL, conn_main, c) != 0) {
        m->conns = c->next;
        m->nconns--;
        pthread_mutex_unlock(&m->lock);
        close(fd);
        free(c);
        return;
    }
    pthread_mutex_unlock(&m->lock);
}

static void *
accept_main(void *arg)
{
    cg_mllp *m = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = m->fd, .events = POLLIN},
                              {.fd = m->stop_pipe[0], .events = POLLIN}};
        int pr = poll(p, 2, 1000);
        if (pr < 0 && errno != EINTR)
            break;
        if (pr > 0 && p[1].revents)
            break;
        if (pr > 0 && (p[0].revents & POLLIN))
            accept_one(m);
        reap(m, 0);
    }
    return NULL;
}

/* ---- open, start, free ----------------------------------------------------------------------- */

int
cg_mllp_open(cg_mllp **out, const cg_mllp_config *cfg, cg_err *err)
{
    assert(out && cfg && cfg->handler);
    *out = NULL;
    char host[256], port[8];
    int portnum = 0;
    if (!cfg->listen || cg_listen_parse(cfg->listen, host, sizeof host, &portnum) != CG_OK)
        return cg_err_set(err, CG_EINVAL,
                          "MLLP listen address \"%s\" is not HOST:PORT or [IPv6]:PORT",
                          cfg->listen ? cfg->listen : "");
    snprintf(port, sizeof port, "%d", portnum);
    if (!cfg->allow_plain && !cg_listen_is_loopback(host))
        return cg_err_set(err, CG_EINVAL,
                          "plain MLLP on %s is refused: listen on loopback (behind a TLS tunnel) "
                          "or set pif.allow_plain = true",
                          host[0] ? host : "every address");
    cg_mllp *m = cg_xcalloc(1, sizeof(*m));
    m->cfg = *cfg;
    if (m->cfg.max_message == 0)
        m->cfg.max_message = (size_t)1 << 20;
    if (m->cfg.max_connections == 0)
        m->cfg.max_connections = 16;
    if (m->cfg.receive_timeout_s <= 0)
        m->cfg.receive_timeout_s = 30;
    if (m->cfg.idle_timeout_s <= 0)
        m->cfg.idle_timeout_s = 300;
    m->fd = -1;
    m->stop_pipe[0] = m->stop_pipe[1] = -1;
    pthread_mutex_init(&m->lock, NULL);
    int rc = CG_OK;
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int g = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
    if (g != 0) {
        rc = cg_err_set(err, CG_EINVAL, "getaddrinfo(%s): %s", cfg->listen, gai_strerror(g));
        goto done;
    }
    m->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    int one = 1;
    if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(m->fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(m->fd, 16) != 0) {
        rc = cg_err_set(err, CG_EIO, "bind(%s): %s", cfg->listen, strerror(errno));
        goto done;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(m->fd, (struct sockaddr *)&ss, &sl) == 0)
        m->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    if (pipe2(m->stop_pipe, O_CLOEXEC) != 0) {
        rc = cg_err_set(err, CG_EIO, "pipe2: %s", strerror(errno));
        goto done;
    }
done:
    if (ai)
        freeaddrinfo(ai);
    if (rc != CG_OK) {
        cg_mllp_free(m);
        return rc;
    }
    *out = m;
    return CG_OK;
}

int
cg_mllp_port(const cg_mllp *m)
{
    return m->port;
}

int
cg_mllp_start(cg_mllp *m, cg_err *err)
{
    assert(m && !m->started);
    int e = pthread_create(&m->acceptor, NULL, accept_main, m);
    if (e != 0)
        return cg_err_set(err, CG_EIO, "pthread_create(MLLP listener): %s", strerror(e));
    m->started = 1;
    return CG_OK;
}

void
cg_mllp_free(cg_mllp *m)
{
    if (m == NULL)
        return;
    if (m->started) {
        char c = 's';
        ssize_t n = write(m->stop_pipe[1], &c, 1);
        (void)n;
        pthread_join(m->acceptor, NULL);
    }
    pthread_mutex_lock(&m->lock);
    for (mllp_conn *c = m->conns; c; c = c->next)
        if (!c->done && c->fd >= 0)
            shutdown(c->fd, SHUT_RD);
    pthread_mutex_unlock(&m->lock);
    reap(m, 1);
    if (m->fd >= 0)
        close(m->fd);
    if (m->stop_pipe[0] >= 0)
        close(m->stop_pipe[0]);
    if (m->stop_pipe[1] >= 0)
        close(m->stop_pipe[1]);
    pthread_mutex_destroy(&m->lock);
    free(m);
}
