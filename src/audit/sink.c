/* sink: the audit spool and the thread that sends it (see sink.h).
 *
 * The spool (SPOOL_DIR/audit.spool) is one append-only file of records "LEN SP SYSLOG-MSG LF",
 * LEN being the octet count of SYSLOG-MSG (the RFC 5425 framing, plus a line feed so that the
 * file reads as text). SPOOL_DIR/audit.spool.pos holds "OFFSET SEQUENCE": the spool offset of
 * the first record not known to be delivered and the last sequenceId given. Records are only
 * appended (by cg_audit_sink_put, under the lock); the sending thread reads them from its own
 * position, and when everything has been delivered it empties the file (under the lock) and
 * writes the position file again. */
#define _POSIX_C_SOURCE 200809L
#include "audit/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/fs.h"

#define SPOOL_NAME "audit.spool"
#define POS_NAME "audit.spool.pos"
#define MAX_RECORD ((size_t)16 << 20) /* one syslog message; audit records are far smaller */
#define SEND_CHUNK ((size_t)256 << 10) /* spool bytes read for one round of sending */
#define COMPACT_BYTES ((uint64_t)1 << 20) /* empty a delivered spool at once from this size */
#define COMPACT_IDLE_MS 2000              /* ... or when nothing was put for this long */
#define PERSIST_MS 200                    /* the position file is written at most this often */
#define SYNC_MIN_MS 20                    /* the spool is fsynced at most this often */
#define CONNECT_TIMEOUT_MS 5000
#define IO_TIMEOUT_S 10
#define RETRY_FIRST_MS 100
#define CHECKPOINTS 128
#define STOP_DRAIN_MS 2000
#define PRI "<85>" /* facility 10 (security/authorization), severity 5 (notice): ITI-20 */

typedef struct checkpoint {
    uint64_t offset;  /* spool offset written up to */
    uint64_t records; /* records written up to it, counted since start */
    int64_t at_ms;    /* when */
} checkpoint;

struct cg_audit_sink {
    cg_audit_sink_config cfg;
    char *spool_path, *pos_path;
    char hostname[256];
    long pid;
    int spool_fd;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* the sending thread waits on it */
    pthread_cond_t done; /* cg_audit_sink_flush waits on it */
    pthread_t thread;
    int started;
    /* under lock */
    uint64_t end;      /* spool bytes */
    uint64_t acked;    /* delivered up to this offset */
    uint32_t seq;      /* last sequenceId given */
    int stop;
    int idle; /* the sending thread waits with nothing to sync: a put must wake it */
    int64_t last_put_ms;
    cg_audit_sink_stats stats;
    /* the sending thread's own */
    uint64_t synced;   /* spool bytes fsynced */
    int64_t synced_ms; /* when */
    uint64_t sent;     /* spool bytes handed to the sink */
    uint64_t sent_records, acked_records;
    uint64_t persisted; /* offset the position file says */
    uint32_t persisted_seq;
    int64_t persisted_ms;
    int fd;            /* file, UDP socket or TCP socket; -1 when closed */
    ino_t file_ino;
    SSL_CTX *ctx;
    SSL *ssl;
    checkpoint cps[CHECKPOINTS];
    size_t ncps;
    unsigned backoff_ms;
    int64_t retry_at_ms;
    char *rd;   /* spool bytes read */
    size_t rd_cap;
    cg_buf out; /* bytes for the sink */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_error(cg_audit_sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(cg_audit_sink *s, const char *fmt, ...)
{
    char msg[sizeof s->stats.last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&s->lock);
    int changed = strcmp(s->stats.last_error, msg) != 0;
    memcpy(s->stats.last_error, msg, sizeof msg);
    pthread_mutex_unlock(&s->lock);
    if (changed) /* said once, not at every retry */
        fprintf(stderr, "cdagate: audit: %s\n", msg);
}

/* ---- the spool ----------------------------------------------------------------------------- */

/* "LEN SP" at p (n bytes available): the record's total length (with LEN, SP and LF) in *total,
 * the message's offset in *msg_off. 0 ok, -1 malformed, 1 needs more bytes. */
static int record_head(const char *p, size_t n, size_t *total, size_t *msg_off)
{
    size_t i = 0, len = 0;
    while (i < n && i < 9 && p[i] >= '0' && p[i] <= '9')
        len = len * 10 + (size_t)(p[i++] - '0');
    if (i == n && i < 9)
        return 1;
    if (i == 0 || p[i] != ' ' || len == 0 || len > MAX_RECORD || p[0] == '0')
        return -1;
    *msg_off = i + 1;
    *total = i + 1 + len + 1;
    return 0;
}

/* The sequenceId in a message's header, 0 when none. */
static uint32_t record_seq(const char *msg, size_t n)
{
    static const char key[] = "[meta sequenceId=\"";
    size_t lim = n < 600 ? n : 600;
    for (size_t i = 0; i + sizeof key - 1 < lim; i++) {
        if (memcmp(msg + i, key, sizeof key - 1) == 0) {
            uint32_t v = 0;
            for (size_t j = i + sizeof key - 1; j < lim && msg[j] >= '0' && msg[j] <= '9'; j++)
                v = v * 10 + (uint32_t)(msg[j] - '0');
            return v;
        }
    }
    return 0;
}

/* Reads the position file: offset and sequence (0 0 when absent). */
static void read_pos(const char *path, uint64_t *offset, uint32_t *seq)
{
    *offset = 0;
    *seq = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    unsigned long long o = 0;
    unsigned long q = 0;
    if (fscanf(f, "%llu %lu", &o, &q) == 2) {
        *offset = o;
        *seq = (uint32_t)q;
    }
    fclose(f);
}

static int write_pos(cg_audit_sink *s, uint64_t offset, uint32_t seq)
{
    char line[64];
    int n = snprintf(line, sizeof line, "%llu %lu\n", (unsigned long long)offset,
                     (unsigned long)seq);
    cg_err err;
    cg_err_init(&err);
    int rc = cg_fs_write_atomic(s->pos_path, line, (size_t)n, &err);
    if (rc != CG_OK) /* may be called under the lock: no set_error */
        fprintf(stderr, "cdagate: audit: %s\n", err.msg);
    return rc;
}

/* Walks the spool left by an earlier process: every record whole (a record cut by a crash in the
 * middle of its write is cut off), the position on a record boundary, the last sequenceId. */
static int spool_check(cg_audit_sink *s, cg_err *err)
{
    struct stat st;
    if (fstat(s->spool_fd, &st) != 0)
        return cg_err_set(err, CG_EIO, "fstat(%s): %s", s->spool_path, strerror(errno));
    uint64_t size = (uint64_t)st.st_size, off = 0, pos;
    uint32_t seq;
    read_pos(s->pos_path, &pos, &seq);
    uint64_t acked = 0;
    char head[640];
    while (off < size) {
        ssize_t n = pread(s->spool_fd, head, sizeof head, (off_t)off);
        size_t total = 0, moff = 0;
        if (n <= 0 || record_head(head, (size_t)n, &total, &moff) != 0 || off + total > size)
            break;
        char lf = 0;
        if (pread(s->spool_fd, &lf, 1, (off_t)(off + total - 1)) != 1 || lf != '\n')
            break;
        uint32_t q = record_seq(head + moff, (size_t)n - moff);
        if (q > seq)
            seq = q;
        off += total;
        if (off <= pos)
            acked = off;
    }
    if (off < size) {
        fprintf(stderr,
                "cdagate: audit: %s: %llu bytes after offset %llu are not a whole record "
                "(a write cut by a crash): cut off\n",
                s->spool_path, (unsigned long long)(size - off), (unsigned long long)off);
        if (ftruncate(s->spool_fd, (off_t)off) != 0)
            return cg_err_set(err, CG_EIO, "ftruncate(%s): %s", s->spool_path, strerror(errno));
    }
    s->end = off;
    s->acked = acked;
    s->seq = seq;
    s->sent = acked;
    s->synced = 0;
    s->persisted = pos;
    s->persisted_seq = seq;
    if (acked != pos)
        write_pos(s, acked, seq);
    s->persisted = acked;
    return CG_OK;
}

int cg_audit_sink_put(cg_audit_sink *s, const char *xml, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[40];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    char head[512];
    cg_buf rec;
    cg_buf_init(&rec, MAX_RECORD + 64);
    int rc = CG_OK;
    pthread_mutex_lock(&s->lock);
    uint32_t seq = s->seq >= 2147483647u ? 1 : s->seq + 1; /* RFC 5424 7.3.1 */
    int hn = snprintf(head, sizeof head,
                      PRI "1 %s.%03ldZ %s %s %ld IHE+RFC-3881 [meta sequenceId=\"%lu\"] "
                          "\xEF\xBB\xBF",
                      stamp, ts.tv_nsec / 1000000L, s->hostname, s->cfg.app_name, s->pid,
                      (unsigned long)seq);
    size_t msg_len = (size_t)hn + len;
    if (msg_len > MAX_RECORD) {
        rc = CG_ETOOBIG;
        s->stats.dropped++;
        goto done;
    }
    cg_buf_printf(&rec, "%zu ", msg_len);
    cg_buf_append(&rec, head, (size_t)hn);
    cg_buf_append(&rec, xml, len);
    cg_buf_putc(&rec, '\n');
    if (s->end - s->acked + rec.len > s->cfg.spool_max) {
        if (s->stats.dropped++ == 0)
            fprintf(stderr, "cdagate: audit: the spool holds %llu undelivered bytes "
                            "(audit.spool_max_bytes): records are dropped\n",
                    (unsigned long long)(s->end - s->acked));
        rc = CG_ETOOBIG;
        goto done;
    }
    size_t done_bytes = 0;
    while (done_bytes < rec.len) {
        ssize_t w = write(s->spool_fd, rec.data + done_bytes, rec.len - done_bytes);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            /* no half record stays behind */
            if (ftruncate(s->spool_fd, (off_t)s->end) != 0) {
                /* the next start cuts it off */
            }
            s->stats.dropped++;
            fprintf(stderr, "cdagate: audit: write(%s): %s: record dropped\n", s->spool_path,
                    strerror(errno));
            rc = CG_EIO;
            goto done;
        }
        done_bytes += (size_t)w;
    }
    s->end += rec.len;
    s->seq = seq;
    s->stats.last_sequence = seq;
    s->last_put_ms = now_ms();
    /* only a sender waiting with nothing to do needs waking: otherwise it is running, or
     * waiting for the spool's next fsync (SYNC_MIN_MS), which takes this record too */
    if (s->idle) {
        s->idle = 0;
        pthread_cond_signal(&s->wake);
    }
done:
    pthread_mutex_unlock(&s->lock);
    cg_buf_dispose(&rec);
    return rc;
}

/* ---- the sinks ----------------------------------------------------------------------------- */

static void sink_close(cg_audit_sink *s)
{
    if (s->ssl) {
        SSL_set_quiet_shutdown(s->ssl, 1);
        SSL_free(s->ssl);
        s->ssl = NULL;
    }
    if (s->fd >= 0 && s->cfg.kind != CG_AUDIT_SINK_OFF)
        close(s->fd);
    s->fd = -1;
    pthread_mutex_lock(&s->lock);
    s->stats.connected = 0;
    pthread_mutex_unlock(&s->lock);
}

static const char *ssl_error(void)
{
    static __thread char buf[256];
    unsigned long e = ERR_get_error();
    if (!e)
        return "connection closed";
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}

static int tcp_connect(cg_audit_sink *s, int type)
{
    char port[16];
    snprintf(port, sizeof port, "%d", s->cfg.port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = type;
    int gai = getaddrinfo(s->cfg.host, port, &hints, &res);
    if (gai != 0) {
        set_error(s, "getaddrinfo(%s): %s", s->cfg.host, gai_strerror(gai));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        if (type == SOCK_DGRAM) {
            if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
                set_error(s, "connect(udp %s:%d): %s", s->cfg.host, s->cfg.port, strerror(errno));
                close(fd);
                fd = -1;
            }
            continue;
        }
        int fl = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        int rc = connect(fd, a->ai_addr, a->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            struct pollfd p = {fd, POLLOUT, 0};
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (poll(&p, 1, CONNECT_TIMEOUT_MS) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
                rc = 0;
            else
                errno = soerr ? soerr : ETIMEDOUT;
        }
        if (rc != 0) {
            set_error(s, "connect(%s:%d): %s", s->cfg.host, s->cfg.port, strerror(errno));
            close(fd);
            fd = -1;
            continue;
        }
        fcntl(fd, F_SETFL, fl);
        struct timeval tv = {IO_TIMEOUT_S, 0};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    freeaddrinfo(res);
    return fd;
}

static int is_ip(const char *host)
{
    return strchr(host, ':') || strspn(host, "0123456789.") == strlen(host);
}

static int sink_connect(cg_audit_sink *s)
{
    switch (s->cfg.kind) {
    case CG_AUDIT_SINK_FILE: {
        s->fd = open(s->cfg.file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (s->fd < 0) {
            set_error(s, "open(%s): %s", s->cfg.file, strerror(errno));
            return -1;
        }
        struct stat st;
        s->file_ino = fstat(s->fd, &st) == 0 ? st.st_ino : 0;
        break;
    }
    case CG_AUDIT_SINK_UDP:
        if ((s->fd = tcp_connect(s, SOCK_DGRAM)) < 0)
            return -1;
        break;
    case CG_AUDIT_SINK_TLS:
        if ((s->fd = tcp_connect(s, SOCK_STREAM)) < 0)
            return -1;
        s->ssl = SSL_new(s->ctx);
        if (!s->ssl) {
            sink_close(s);
            return -1;
        }
        X509_VERIFY_PARAM *vp = SSL_get0_param(s->ssl);
        if (is_ip(s->cfg.host)) {
            X509_VERIFY_PARAM_set1_ip_asc(vp, s->cfg.host);
        } else {
            SSL_set_tlsext_host_name(s->ssl, s->cfg.host);
            X509_VERIFY_PARAM_set1_host(vp, s->cfg.host, 0);
        }
        SSL_set_fd(s->ssl, s->fd);
        if (SSL_connect(s->ssl) != 1) {
            long vr = SSL_get_verify_result(s->ssl);
            if (vr != X509_V_OK)
                set_error(s, "TLS handshake with %s:%d: certificate: %s", s->cfg.host,
                          s->cfg.port, X509_verify_cert_error_string(vr));
            else
                set_error(s, "TLS handshake with %s:%d: %s", s->cfg.host, s->cfg.port,
                          ssl_error());
            sink_close(s);
            return -1;
        }
        break;
    case CG_AUDIT_SINK_OFF:
        return -1;
    }
    pthread_mutex_lock(&s->lock);
    s->stats.connected = 1;
    s->stats.last_error[0] = '\0';
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* TLS: the audit repository sends nothing back (RFC 5425), so anything readable is the end of
 * the connection (or a TLS 1.3 session ticket, read and ignored). 1 when it is still open. */
static int tls_alive(cg_audit_sink *s)
{
    for (int round = 0; round < 8; round++) {
        struct pollfd p = {s->fd, POLLIN, 0};
        int r = poll(&p, 1, 0);
        if (r == 0)
            return 1;
        if (r < 0 || (p.revents & (POLLERR | POLLNVAL)))
            return 0;
        int fl = fcntl(s->fd, F_GETFL);
        fcntl(s->fd, F_SETFL, fl | O_NONBLOCK);
        char scratch[512];
        int n = SSL_read(s->ssl, scratch, sizeof scratch);
        int e = n > 0 ? SSL_ERROR_NONE : SSL_get_error(s->ssl, n);
        fcntl(s->fd, F_SETFL, fl);
        if (n > 0)
            continue;
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return 1;
        ERR_clear_error();
        return 0;
    }
    return 1;
}

static int write_all(cg_audit_sink *s, const char *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        if (s->ssl) {
            int n = SSL_write(s->ssl, data + off, (int)(len - off > 1 << 20 ? 1 << 20 : len - off));
            if (n <= 0) {
                set_error(s, "sending to %s:%d: %s", s->cfg.host, s->cfg.port, ssl_error());
                return -1;
            }
            off += (size_t)n;
        } else {
            ssize_t n = write(s->fd, data + off, len - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                set_error(s, "write(%s): %s", s->cfg.file ? s->cfg.file : "audit sink",
                          strerror(errno));
                return -1;
            }
            off += (size_t)n;
        }
    }
    return 0;
}

/* The file sink follows a log rotation that moved the file away: a new file at the path. */
static void file_reopen_if_moved(cg_audit_sink *s)
{
    struct stat st;
    if (s->fd >= 0 && (stat(s->cfg.file, &st) != 0 || st.st_ino != s->file_ino))
        sink_close(s);
}

/* Sends the records between s->sent and end (at most SEND_CHUNK of them, and at least one).
 * Returns the records sent, or -1 when the sink failed (s->sent is not moved then). */
static long send_some(cg_audit_sink *s, uint64_t end)
{
    size_t want = end - s->sent > SEND_CHUNK ? SEND_CHUNK : (size_t)(end - s->sent);
    cg_buf_reset(&s->out);
    /* the first record may be longer than a chunk */
    char head[16];
    ssize_t hn = pread(s->spool_fd, head, sizeof head, (off_t)s->sent);
    size_t total = 0, moff = 0;
    if (hn > 0 && record_head(head, (size_t)hn, &total, &moff) == 0 && total > want &&
        s->sent + total <= end)
        want = total;
    s->rd = cg_xgrow(s->rd, &s->rd_cap, want + 1, 1);
    ssize_t got = pread(s->spool_fd, s->rd, want, (off_t)s->sent);
    if (got <= 0) {
        set_error(s, "pread(%s): %s", s->spool_path, got < 0 ? strerror(errno) : "end of file");
        return -1;
    }
    size_t at = 0;
    long records = 0;
    while (at < (size_t)got) {
        if (record_head(s->rd + at, (size_t)got - at, &total, &moff) != 0 ||
            at + total > (size_t)got)
            break;
        const char *msg = s->rd + at + moff;
        size_t mlen = total - moff - 1;
        switch (s->cfg.kind) {
        case CG_AUDIT_SINK_TLS:
            cg_buf_append(&s->out, s->rd + at, total - 1); /* LEN SP MSG */
            break;
        case CG_AUDIT_SINK_FILE:
            cg_buf_append(&s->out, msg, mlen + 1); /* MSG LF */
            break;
        case CG_AUDIT_SINK_UDP: {
            size_t n = mlen > s->cfg.udp_max ? s->cfg.udp_max : mlen;
            if (send(s->fd, msg, n, 0) < 0) {
                set_error(s, "send(udp %s:%d): %s", s->cfg.host, s->cfg.port, strerror(errno));
                if (records == 0)
                    return -1;
                goto sent; /* the ones before went */
            }
            break;
        }
        case CG_AUDIT_SINK_OFF:
            break;
        }
        at += total;
        records++;
    }
    if (records == 0) {
        /* not a record where one must start: the spool was damaged under us */
        set_error(s, "%s: no whole record at offset %llu: the rest is skipped", s->spool_path,
                  (unsigned long long)s->sent);
        s->sent = end;
        return 0;
    }
    if (s->out.len && write_all(s, s->out.data, s->out.len) != 0)
        return -1;
    if (s->cfg.kind == CG_AUDIT_SINK_FILE && fdatasync(s->fd) != 0) {
        set_error(s, "fdatasync(%s): %s", s->cfg.file, strerror(errno));
        return -1;
    }
sent:
    s->sent += at;
    s->sent_records += (uint64_t)records;
    return records;
}

/* How far delivery is known: the file and UDP sinks deliver what they were handed; over TLS,
 * bytes count once they sat delivery_ms on a connection that is still open. */
static void confirm(cg_audit_sink *s, int64_t now, uint64_t *acked, uint64_t *records)
{
    if (s->cfg.kind != CG_AUDIT_SINK_TLS) {
        *acked = s->sent;
        *records = s->sent_records;
        return;
    }
    *acked = s->acked;
    *records = s->acked_records;
    if (s->ncps == 0)
        return;
    if (!s->ssl || !tls_alive(s)) {
        set_error(s, "the connection to %s:%d was closed: resending from the last record known "
                     "delivered",
                  s->cfg.host, s->cfg.port);
        sink_close(s);
        s->sent = s->acked;
        s->sent_records = s->acked_records;
        s->ncps = 0;
        return;
    }
    size_t k = 0;
    while (k < s->ncps && s->cps[k].at_ms + (int64_t)s->cfg.delivery_ms <= now)
        k++;
    if (k == 0)
        return;
    *acked = s->cps[k - 1].offset;
    *records = s->cps[k - 1].records;
    memmove(s->cps, s->cps + k, (s->ncps - k) * sizeof s->cps[0]);
    s->ncps -= k;
}

static void checkpoint_add(cg_audit_sink *s, int64_t now)
{
    if (s->ncps == CHECKPOINTS)
        s->ncps--; /* the newest one grows */
    s->cps[s->ncps++] = (checkpoint){s->sent, s->sent_records, now};
}

static void *sender_main(void *arg)
{
    cg_audit_sink *s = arg;
    int64_t stop_at = 0;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        uint64_t end = s->end;
        int stop = s->stop;
        pthread_mutex_unlock(&s->lock);
        int64_t now = now_ms();
        if (stop && !stop_at)
            stop_at = now + STOP_DRAIN_MS;
        /* one fsync of the spool for every record put in SYNC_MIN_MS: a busy server's records
         * share it (as submissions share a group commit); only fsynced records are sent */
        if (end > s->synced && (stop || now - s->synced_ms >= SYNC_MIN_MS)) {
            if (fdatasync(s->spool_fd) != 0)
                set_error(s, "fdatasync(%s): %s", s->spool_path, strerror(errno));
            s->synced = end;
            s->synced_ms = now;
        }
        end = s->synced;
        if (s->sent < end && now >= s->retry_at_ms) {
            if (s->cfg.kind == CG_AUDIT_SINK_FILE)
                file_reopen_if_moved(s);
            if (s->fd < 0 && sink_connect(s) != 0) {
                s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : RETRY_FIRST_MS;
                if (s->backoff_ms > s->cfg.retry_max_ms)
                    s->backoff_ms = s->cfg.retry_max_ms;
                s->retry_at_ms = now + s->backoff_ms;
            } else if (s->fd >= 0) {
                if (send_some(s, end) < 0) {
                    sink_close(s);
                    if (s->cfg.kind == CG_AUDIT_SINK_TLS) {
                        s->sent = s->acked;
                        s->sent_records = s->acked_records;
                        s->ncps = 0;
                    }
                    s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : RETRY_FIRST_MS;
                    if (s->backoff_ms > s->cfg.retry_max_ms)
                        s->backoff_ms = s->cfg.retry_max_ms;
                    s->retry_at_ms = now + s->backoff_ms;
                } else {
                    s->backoff_ms = 0;
                    if (s->cfg.kind == CG_AUDIT_SINK_TLS)
                        checkpoint_add(s, now);
                }
            }
        }
        uint64_t acked, records;
        confirm(s, now_ms(), &acked, &records);
        pthread_mutex_lock(&s->lock);
        if (acked > s->acked) {
            s->stats.delivered += records - s->acked_records;
            s->acked = acked;
            s->acked_records = records;
            pthread_cond_broadcast(&s->done);
        }
        now = now_ms();
        if (s->acked == s->end && s->end > 0 && s->sent == s->end &&
            (s->end >= COMPACT_BYTES || now - s->last_put_ms >= COMPACT_IDLE_MS || s->stop)) {
            /* everything delivered: the spool starts again empty */
            if (ftruncate(s->spool_fd, 0) == 0) {
                s->end = s->acked = s->sent = s->synced = 0;
                s->persisted = (uint64_t)-1; /* written below */
            }
        }
        if ((s->acked != s->persisted || s->seq != s->persisted_seq) &&
            (now - s->persisted_ms >= PERSIST_MS || s->acked == s->end || s->stop)) {
            uint64_t off = s->acked;
            uint32_t seq = s->seq;
            /* the spool was fsynced up to here before it was sent: the position never points
             * past bytes that a power loss could take back */
            if (write_pos(s, off, seq) == CG_OK) {
                s->persisted = off;
                s->persisted_seq = seq;
            }
            s->persisted_ms = now;
        }
        if (s->stop && (s->acked == s->end || now >= stop_at))
            break;
        int64_t sync_at = s->synced_ms + SYNC_MIN_MS;
        if ((s->end > s->synced && (s->stop || now >= sync_at)) ||
            (s->synced > s->sent && now >= s->retry_at_ms))
            continue; /* more to sync or send at once */
        int64_t wait_ms = 1000;
        if (s->ncps)
            wait_ms = s->cfg.delivery_ms < 100 ? s->cfg.delivery_ms + 1 : 100;
        if (s->end > s->synced && sync_at - now < wait_ms)
            wait_ms = sync_at > now ? sync_at - now : 1;
        if (s->end > s->sent && s->retry_at_ms - now < wait_ms)
            wait_ms = s->retry_at_ms > now ? s->retry_at_ms - now : 1;
        if (s->stop && wait_ms > 50)
            wait_ms = 50;
        struct timespec until = cg_clock_after(CLOCK_REALTIME, wait_ms);
        if (!s->stop) {
            s->idle = s->end == s->synced;
            pthread_cond_timedwait(&s->wake, &s->lock, &until);
            s->idle = 0;
        }
    }
    pthread_mutex_unlock(&s->lock);
    sink_close(s);
    return NULL;
}

/* ---- life ---------------------------------------------------------------------------------- */

static int tls_setup(cg_audit_sink *s, cg_err *err)
{
    s->ctx = SSL_CTX_new(TLS_client_method());
    if (!s->ctx)
        return cg_err_set(err, CG_EIO, "SSL_CTX_new: %s", ssl_error());
    SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, NULL);
    if (s->cfg.tls_ca) {
        if (SSL_CTX_load_verify_locations(s->ctx, s->cfg.tls_ca, NULL) != 1)
            return cg_err_set(err, CG_EINVAL, "audit.ca %s: %s", s->cfg.tls_ca, ssl_error());
    } else if (SSL_CTX_set_default_verify_paths(s->ctx) != 1) {
        return cg_err_set(err, CG_EINVAL, "the system's CA certificates: %s", ssl_error());
    }
    if (s->cfg.tls_cert) {
        const char *key = s->cfg.tls_key ? s->cfg.tls_key : s->cfg.tls_cert;
        if (SSL_CTX_use_certificate_chain_file(s->ctx, s->cfg.tls_cert) != 1)
            return cg_err_set(err, CG_EINVAL, "audit.certificate %s: %s", s->cfg.tls_cert,
                              ssl_error());
        if (SSL_CTX_use_PrivateKey_file(s->ctx, key, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(s->ctx) != 1)
            return cg_err_set(err, CG_EINVAL, "audit.key %s: %s", key, ssl_error());
    }
    return CG_OK;
}

static char *dup_or_null(const char *s)
{
    return s ? cg_xstrdup(s) : NULL;
}

int cg_audit_sink_open(cg_audit_sink **out, const cg_audit_sink_config *cfg, cg_err *err)
{
    *out = NULL;
    cg_audit_sink *s = cg_xcalloc(1, sizeof(*s));
    int rc = CG_OK;
    s->cfg = *cfg;
    s->cfg.spool_dir = cg_xstrdup(cfg->spool_dir);
    s->cfg.file = dup_or_null(cfg->file);
    s->cfg.host = dup_or_null(cfg->host);
    s->cfg.tls_ca = dup_or_null(cfg->tls_ca);
    s->cfg.tls_cert = dup_or_null(cfg->tls_cert);
    s->cfg.tls_key = dup_or_null(cfg->tls_key);
    s->cfg.app_name = cg_xstrdup(cfg->app_name ? cfg->app_name : "cdagate");
    s->cfg.hostname = NULL;
    if (!s->cfg.spool_max)
        s->cfg.spool_max = (size_t)1 << 30;
    if (!s->cfg.udp_max)
        s->cfg.udp_max = 65507;
    if (!s->cfg.retry_max_ms)
        s->cfg.retry_max_ms = 10000;
    s->fd = -1;
    s->spool_fd = -1;
    s->pid = (long)getpid();
    cg_buf_init(&s->out, MAX_RECORD + SEND_CHUNK);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    pthread_cond_init(&s->done, NULL);
    /* HOSTNAME: printable US-ASCII, no spaces, at most 255 (RFC 5424 6.2.4) */
    if (cfg->hostname)
        snprintf(s->hostname, sizeof s->hostname, "%s", cfg->hostname);
    else if (gethostname(s->hostname, sizeof s->hostname - 1) != 0)
        s->hostname[0] = '\0';
    for (char *p = s->hostname; *p; p++)
        if (*p <= 32 || *p >= 127)
            *p = '_';
    if (!s->hostname[0])
        snprintf(s->hostname, sizeof s->hostname, "-");
    *out = s; /* so that cg_audit_sink_free cleans up after a failure below */
    if (cfg->kind == CG_AUDIT_SINK_TLS && (rc = tls_setup(s, err)) != CG_OK)
        goto fail;
    if ((rc = cg_fs_mkdirs(s->cfg.spool_dir, err)) != CG_OK)
        goto fail;
    s->spool_path = cg_fs_join(s->cfg.spool_dir, SPOOL_NAME);
    s->pos_path = cg_fs_join(s->cfg.spool_dir, POS_NAME);
    s->spool_fd = open(s->spool_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (s->spool_fd < 0) {
        rc = cg_err_set(err, CG_EIO, "open(%s): %s", s->spool_path, strerror(errno));
        goto fail;
    }
    if ((rc = spool_check(s, err)) != CG_OK)
        goto fail;
    s->stats.last_sequence = s->seq;
    s->last_put_ms = now_ms();
    if (pthread_create(&s->thread, NULL, sender_main, s) != 0) {
        rc = cg_err_set(err, CG_EIO, "pthread_create(audit sender) failed");
        goto fail;
    }
    s->started = 1;
    return CG_OK;
fail:
    cg_audit_sink_free(s);
    *out = NULL;
    return rc;
}

void cg_audit_sink_get_stats(cg_audit_sink *s, cg_audit_sink_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    out->queued_bytes = s->end - s->acked;
    pthread_mutex_unlock(&s->lock);
}

int cg_audit_sink_flush(cg_audit_sink *s, int timeout_ms)
{
    struct timespec until = cg_clock_after(CLOCK_REALTIME, timeout_ms);
    pthread_mutex_lock(&s->lock);
    pthread_cond_signal(&s->wake);
    int rc = 0;
    while (s->acked != s->end && rc == 0)
        rc = pthread_cond_timedwait(&s->done, &s->lock, &until);
    int ok = s->acked == s->end;
    pthread_mutex_unlock(&s->lock);
    return ok ? CG_OK : CG_EIO;
}

void cg_audit_sink_free(cg_audit_sink *s)
{
    if (!s)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->lock);
        s->stop = 1;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
    }
    sink_close(s);
    if (s->spool_fd >= 0)
        close(s->spool_fd);
    if (s->ctx)
        SSL_CTX_free(s->ctx);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->done);
    free(s->rd);
    cg_buf_dispose(&s->out);
    free(s->spool_path);
    free(s->pos_path);
    free((char *)s->cfg.spool_dir);
    free((char *)s->cfg.file);
    free((char *)s->cfg.host);
    free((char *)s->cfg.tls_ca);
    free((char *)s->cfg.tls_cert);
    free((char *)s->cfg.tls_key);
    free((char *)s->cfg.app_name);
    free(s);
}
