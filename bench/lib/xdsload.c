/* xdsload: a closed-loop load generator for the XDS.b repository endpoint of cdagate (bench/xds).
 * Owns: N threads, each one keep-alive HTTP/1.1 connection sending ITI-41 (MTOM), ITI-43 or a
 * refused ITI-43 back to back; checking every answer; latency percentiles and throughput.
 * Does not own: starting the server, registering the patient, the figures' table (bench/xds).
 * Not part of the product build: compiled by bench/xds with `cc -O2 -pthread ... -lcrypto`.
 *
 * Usage: xdsload --url http://127.0.0.1:PORT/xds/repository --mode iti41|iti43|iti18|empty
 *                --connections N --duration S [--warmup S] [--doc FILE] [--patient CX]
 *                [--repo OID] [--ids FILE] [--ids-out FILE] [--uid-prefix OID]
 *                [--template FILE] [--verify]
 *   iti41  ProvideAndRegisterDocumentSet-b as MTOM: --doc as a binary part, a fresh DocumentEntry
 *          and SubmissionSet uniqueId per request (PREFIX.2.T.N, PREFIX.1.T.N); --ids-out writes
 *          the DocumentEntry uniqueIds the server stored (status Success), one a line
 *   iti43  RetrieveDocumentSet (plain SOAP 1.2) for --repo, uniqueIds round-robin from --ids;
 *          --verify: the SHA-1 of the returned MTOM part must equal the SHA-1 of --doc
 *   iti18  Registry Stored Query FindDocuments (LeafClass, Approved) for --patient, plain SOAP 1.2
 *          (--url: the registry endpoint); --min-objects N: an answer must hold N objects or more
 *   empty  RetrieveDocumentSet for a repository that is not the server's: answered with
 *          XDSUnknownRepositoryId without touching the store (the transport's own cost)
 * Prints one line of key=value results on stdout: requests, errors, rps, p50/p90/p99/max latency
 * (ms), bytes received per second, and fairness: conn_min/conn_max (fewest/most answers one
 * connection got) and connects (TCP connections opened). An answer counts when it arrives after
 * the warm-up, whenever its request was sent, so a connection the server leaves waiting shows.
 * The first failure's answer goes to stderr.
 * Exit status: 0 when every request succeeded, 1 when some failed, 2 on usage or set-up errors. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef XDSLOAD_FIXTURES /* bench/xds passes the source tree's tests/fixtures/xds */
#define XDSLOAD_FIXTURES "tests/fixtures/xds"
#endif

#define ITI41_ACTION "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
#define ITI43_ACTION "urn:ihe:iti:2007:RetrieveDocumentSet"
#define ITI18_ACTION "urn:ihe:iti:2007:RegistryStoredQuery"
#define STATUS_SUCCESS "status=\"urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success\""
#define UNKNOWN_REPO "XDSUnknownRepositoryId"
#define BOUNDARY "MIMEBoundary_xdsload_7f3a9c"
#define DOC_CID "doc1@bench"
#define NOT_OUR_REPO "1.2.3.4.5.6.7.8.9.999999"
#define MAX_HEADER (64 * 1024)        /* the answer's header block */
#define MAX_BODY (256 * 1024 * 1024)  /* one answer */
#define EXCERPT 600

enum mode { MODE_ITI41, MODE_ITI43, MODE_ITI18, MODE_EMPTY };
enum slot { SLOT_NONE, SLOT_PATIENT, SLOT_DOCUID, SLOT_SSUID, SLOT_CONTENT, SLOT_REPO };

/* ---- small helpers ------------------------------------------------------------------------- */

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("xdsload: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* a growable byte buffer */
struct buf {
    char *p;
    size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

static void buf_add(struct buf *b, const void *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        die("vsnprintf failed");
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static char *read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("fopen(%s): %s", path, strerror(errno));
    struct buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_add(&b, chunk, n);
    if (ferror(f))
        die("fread(%s): %s", path, strerror(errno));
    fclose(f);
    buf_reserve(&b, 0);
    *out_len = b.len;
    return b.p;
}

/* XML-escapes s into a new string (a CX patient id carries '&') */
static char *xml_escape(const char *s)
{
    struct buf b = {0};
    for (; *s; s++) {
        switch (*s) {
        case '&': buf_str(&b, "&amp;"); break;
        case '<': buf_str(&b, "&lt;"); break;
        case '>': buf_str(&b, "&gt;"); break;
        case '"': buf_str(&b, "&quot;"); break;
        default: buf_add(&b, s, 1);
        }
    }
    buf_reserve(&b, 0);
    return b.p;
}

static const char *memmem_s(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    if (m == 0 || n < m)
        return NULL;
    for (const char *p = hay; p + m <= hay + n; p++) {
        p = memchr(p, needle[0], (size_t)(hay + n - p));
        if (!p || p + m > hay + n)
            return NULL;
        if (memcmp(p, needle, m) == 0)
            return p;
    }
    return NULL;
}

static const char *memcasemem(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; m && i + m <= n; i++)
        if (strncasecmp(hay + i, needle, m) == 0)
            return hay + i;
    return NULL;
}

/* ---- the request template ------------------------------------------------------------------ */

/* a body template cut at its placeholders: lit[i], then slot[i] (SLOT_NONE after the last) */
struct tmpl {
    int n;
    char **lit;
    size_t *lit_len;
    enum slot *slot;
};

static void tmpl_compile(struct tmpl *out, const char *text, size_t len)
{
    static const struct { const char *name; enum slot slot; } names[] = {
        {"@PATIENT@", SLOT_PATIENT}, {"@DOCUID@", SLOT_DOCUID}, {"@SSUID@", SLOT_SSUID},
        {"@CONTENT@", SLOT_CONTENT}, {"@REPO@", SLOT_REPO},
    };
    /* drop the XML declaration: the body goes inside soap:Body */
    if (len > 5 && memcmp(text, "<?xml", 5) == 0) {
        const char *e = memmem_s(text, len, "?>");
        if (e) {
            len -= (size_t)(e + 2 - text);
            text = e + 2;
            while (len && (*text == '\n' || *text == '\r')) {
                text++;
                len--;
            }
        }
    }
    memset(out, 0, sizeof *out);
    const char *p = text, *end = text + len;
    for (;;) {
        const char *best = NULL;
        enum slot slot = SLOT_NONE;
        size_t skip = 0;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            const char *h = memmem_s(p, (size_t)(end - p), names[i].name);
            if (h && (!best || h < best)) {
                best = h;
                slot = names[i].slot;
                skip = strlen(names[i].name);
            }
        }
        const char *litend = best ? best : end;
        out->lit = xrealloc(out->lit, sizeof *out->lit * (size_t)(out->n + 1));
        out->lit_len = xrealloc(out->lit_len, sizeof *out->lit_len * (size_t)(out->n + 1));
        out->slot = xrealloc(out->slot, sizeof *out->slot * (size_t)(out->n + 1));
        out->lit_len[out->n] = (size_t)(litend - p);
        out->lit[out->n] = xmalloc(out->lit_len[out->n] + 1);
        memcpy(out->lit[out->n], p, out->lit_len[out->n]);
        out->slot[out->n] = slot;
        out->n++;
        if (!best)
            break;
        p = best + skip;
    }
}

/* ---- configuration ------------------------------------------------------------------------- */

static struct {
    enum mode mode;
    const char *url, *host, *port, *path;
    int connections;
    double duration, warmup;
    const char *doc_path, *patient, *repo, *ids_path, *ids_out, *uid_prefix, *template_path;
    int verify;
    long min_objects; /* iti18: DocumentEntries an answer must hold at least */
    char *doc;
    size_t doc_len;
    unsigned char doc_sha1[SHA_DIGEST_LENGTH];
    char *patient_xml;
    struct tmpl tmpl;
    char **ids;
    size_t n_ids;
    struct addrinfo *addr;
    double t_start, t_measure, t_end;
} cfg;

static atomic_size_t next_id;     /* iti43: round-robin index into cfg.ids */
static atomic_int stop_now;       /* a set-up failure in one thread stops the others */
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static char *first_failure;       /* the first failed answer, described */

/* ---- one connection ------------------------------------------------------------------------ */

struct conn {
    int fd;
    struct buf in; /* bytes read and not yet consumed */
    size_t in_off;
};

struct worker {
    int index;
    pthread_t thread;
    struct conn c;
    struct buf req;  /* headers and root part of the request being sent */
    struct buf tail; /* iti41: the closing boundary */
    struct buf scratch, scratch2; /* the envelope and the root part, reused */
    struct buf uid;
    uint64_t rng;
    unsigned long seq;
    /* results, counted over the measured window */
    double *lat;
    size_t n_lat, cap_lat;
    unsigned long errors, errors_total, requests_total, warm, connects;
    uint64_t rx_bytes;
    double last_done;
    struct buf ids_out;
    /* the answer being read */
    int status;
    struct buf body;
    char ctype[512];
};

static int conn_open(struct conn *c)
{
    c->fd = socket(cfg.addr->ai_family, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {.tv_sec = 60};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(c->fd, cfg.addr->ai_addr, cfg.addr->ai_addrlen) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    c->in.len = 0;
    c->in_off = 0;
    return 0;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->in.len = 0;
    c->in_off = 0;
}

/* reads more bytes into c->in; returns bytes read, 0 at EOF, -1 on error */
static ssize_t conn_fill(struct worker *w)
{
    struct conn *c = &w->c;
    if (c->in_off > 0) { /* no line pointer is held across a fill: move the rest to the front */
        memmove(c->in.p, c->in.p + c->in_off, c->in.len - c->in_off);
        c->in.len -= c->in_off;
        c->in_off = 0;
    }
    buf_reserve(&c->in, 65536);
    ssize_t n;
    do
        n = read(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len - 1);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        c->in.len += (size_t)n;
        w->rx_bytes += (uint64_t)n;
    }
    return n;
}

/* a line ending in CRLF from the input, without it; NULL when more bytes are needed */
static char *conn_line(struct conn *c, size_t *out_len)
{
    char *s = c->in.p + c->in_off;
    size_t avail = c->in.len - c->in_off;
    const char *e = memmem_s(s, avail, "\r\n");
    if (!e)
        return NULL;
    *out_len = (size_t)(e - s);
    c->in_off += *out_len + 2;
    return s;
}

static int send_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t k = writev(fd, iov, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (n > 0 && (size_t)k >= iov->iov_len) {
            k -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + k;
            iov->iov_len -= (size_t)k;
        }
    }
    return 0;
}

/* reads one HTTP response into w->status, w->ctype, w->body.
 * Returns 0, or -1 with a reason in *why (the connection is then unusable). keep: set to 0 when
 * the server asked to close. */
static int read_response(struct worker *w, int *keep, const char **why)
{
    struct conn *c = &w->c;
    size_t hdr_bytes = 0, len;
    char *line;
    long long clen = -1;
    int chunked = 0;
    *keep = 1;
    w->status = 0;
    w->ctype[0] = '\0';
    w->body.len = 0;
    /* status line and headers */
    int first = 1;
    for (;;) {
        while (!(line = conn_line(c, &len))) {
            if (c->in.len - c->in_off > MAX_HEADER) {
                *why = "answer header block too long";
                return -1;
            }
            ssize_t n = conn_fill(w);
            if (n <= 0) {
                *why = n == 0 ? "connection closed by the server before the answer"
                              : "read failed (timeout or reset) before the answer";
                return -1;
            }
        }
        hdr_bytes += len + 2;
        if (hdr_bytes > MAX_HEADER) {
            *why = "answer header block too long";
            return -1;
        }
        if (first) {
            if (len < 12 || strncmp(line, "HTTP/1.", 7) != 0) {
                *why = "not an HTTP/1.x status line";
                return -1;
            }
            w->status = 0;
            for (size_t i = 9; i < len && i < 12 && line[i] >= '0' && line[i] <= '9'; i++)
                w->status = w->status * 10 + (line[i] - '0');
            if (line[7] == '0')
                *keep = 0;
            first = 0;
            continue;
        }
        if (len == 0)
            break;
        char *colon = memchr(line, ':', len);
        if (!colon)
            continue;
        size_t nlen = (size_t)(colon - line);
        char *v = colon + 1;
        size_t vlen = len - nlen - 1;
        while (vlen && (*v == ' ' || *v == '\t')) {
            v++;
            vlen--;
        }
        if (nlen == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
            clen = 0;
            for (size_t i = 0; i < vlen && v[i] >= '0' && v[i] <= '9'; i++)
                clen = clen * 10 + (v[i] - '0');
        } else if (nlen == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
            if (memcasemem(v, vlen, "chunked"))
                chunked = 1;
        } else if (nlen == 10 && strncasecmp(line, "Connection", 10) == 0) {
            if (memcasemem(v, vlen, "close"))
                *keep = 0;
        } else if (nlen == 12 && strncasecmp(line, "Content-Type", 12) == 0) {
            size_t k = vlen < sizeof w->ctype - 1 ? vlen : sizeof w->ctype - 1;
            memcpy(w->ctype, v, k);
            w->ctype[k] = '\0';
        }
    }
    /* the body */
    if (chunked) {
        for (;;) {
            while (!(line = conn_line(c, &len))) {
                if (conn_fill(w) <= 0) {
                    *why = "connection lost inside a chunked answer";
                    return -1;
                }
            }
            unsigned long long size = 0;
            size_t i = 0;
            for (; i < len; i++) {
                int d = line[i];
                if (d >= '0' && d <= '9')
                    d -= '0';
                else if (d >= 'a' && d <= 'f')
                    d -= 'a' - 10;
                else if (d >= 'A' && d <= 'F')
                    d -= 'A' - 10;
                else
                    break;
                size = size * 16 + (unsigned long long)d;
            }
            if (i == 0 || size > MAX_BODY || w->body.len + size > MAX_BODY) {
                *why = "bad chunk size line";
                return -1;
            }
            if (size == 0) { /* trailers, then an empty line */
                for (;;) {
                    while (!(line = conn_line(c, &len))) {
                        if (conn_fill(w) <= 0) {
                            *why = "connection lost in the chunked trailer";
                            return -1;
                        }
                    }
                    if (len == 0)
                        return 0;
                }
            }
            while (c->in.len - c->in_off < size + 2) {
                if (conn_fill(w) <= 0) {
                    *why = "connection lost inside a chunk";
                    return -1;
                }
            }
            buf_add(&w->body, c->in.p + c->in_off, (size_t)size);
            if (memcmp(c->in.p + c->in_off + size, "\r\n", 2) != 0) {
                *why = "chunk not followed by CRLF";
                return -1;
            }
            c->in_off += (size_t)size + 2;
        }
    }
    if (clen < 0) { /* no length: the body runs to the end of the connection */
        *keep = 0;
        for (;;) {
            buf_add(&w->body, c->in.p + c->in_off, c->in.len - c->in_off);
            c->in_off = c->in.len;
            if (w->body.len > MAX_BODY) {
                *why = "answer too long";
                return -1;
            }
            ssize_t n = conn_fill(w);
            if (n == 0)
                return 0;
            if (n < 0) {
                *why = "read failed in an answer without length";
                return -1;
            }
        }
    }
    if (clen > MAX_BODY) {
        *why = "answer too long";
        return -1;
    }
    while (c->in.len - c->in_off < (size_t)clen) {
        if (conn_fill(w) <= 0) {
            *why = "connection lost before Content-Length bytes";
            return -1;
        }
    }
    buf_add(&w->body, c->in.p + c->in_off, (size_t)clen);
    c->in_off += (size_t)clen;
    return 0;
}

/* ---- building requests ---------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void add_envelope_head(struct worker *w, struct buf *b, const char *action)
{
    uint64_t a = rng_next(&w->rng), r = rng_next(&w->rng);
    buf_printf(b,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\" "
               "xmlns:wsa=\"http://www.w3.org/2005/08/addressing\"><soap:Header>"
               "<wsa:Action soap:mustUnderstand=\"1\">%s</wsa:Action>"
               "<wsa:MessageID>urn:uuid:%08x-%04x-4%03x-%04x-%012llx</wsa:MessageID>"
               "<wsa:To>%s</wsa:To></soap:Header><soap:Body>",
               action, (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
               (unsigned)(0x8000 | ((r >> 48) & 0x3fff)), (unsigned long long)(r & 0xffffffffffffULL),
               cfg.url);
}

static const char *ENVELOPE_TAIL = "</soap:Body></soap:Envelope>";

/* the body from the template; docuid is the DocumentEntry uniqueId (or the retrieved one) */
static void add_body(struct buf *b, const char *docuid, const char *ssuid, const char *repo)
{
    for (int i = 0; i < cfg.tmpl.n; i++) {
        buf_add(b, cfg.tmpl.lit[i], cfg.tmpl.lit_len[i]);
        switch (cfg.tmpl.slot[i]) {
        case SLOT_PATIENT: buf_str(b, cfg.patient_xml); break;
        case SLOT_DOCUID: buf_str(b, docuid); break;
        case SLOT_SSUID: buf_str(b, ssuid); break;
        case SLOT_CONTENT: buf_str(b, "<xop:Include href=\"cid:" DOC_CID "\"/>"); break;
        case SLOT_REPO: buf_str(b, repo); break;
        case SLOT_NONE: break;
        }
    }
}

/* builds the request into w->req (and w->tail); sets iov; returns the iov count.
 * w->uid gets the DocumentEntry uniqueId sent or asked for. */
static int build_request(struct worker *w, struct iovec *iov)
{
    struct buf *b = &w->req;
    b->len = 0;
    w->uid.len = 0;
    w->seq++;
    if (cfg.mode == MODE_ITI41) {
        char ssuid[128];
        buf_printf(&w->uid, "%s.2.%d.%lu", cfg.uid_prefix, w->index, w->seq);
        snprintf(ssuid, sizeof ssuid, "%s.1.%d.%lu", cfg.uid_prefix, w->index, w->seq);
        struct buf *root = &w->scratch, *part = &w->scratch2;
        root->len = part->len = 0;
        add_envelope_head(w, root, ITI41_ACTION);
        add_body(root, w->uid.p, ssuid, "");
        buf_str(root, ENVELOPE_TAIL);
        buf_printf(part,
                   "--" BOUNDARY "\r\n"
                   "Content-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"\r\n"
                   "Content-Transfer-Encoding: binary\r\nContent-ID: <root>\r\n\r\n");
        buf_add(part, root->p, root->len);
        buf_str(part, "\r\n--" BOUNDARY "\r\nContent-Type: application/octet-stream\r\n"
                       "Content-Transfer-Encoding: binary\r\nContent-ID: <" DOC_CID ">\r\n\r\n");
        w->tail.len = 0;
        buf_str(&w->tail, "\r\n--" BOUNDARY "--\r\n");
        size_t clen = part->len + cfg.doc_len + w->tail.len;
        buf_printf(b,
                   "POST %s HTTP/1.1\r\nHost: %s:%s\r\n"
                   "Content-Type: multipart/related; type=\"application/xop+xml\"; boundary=\"" BOUNDARY
                   "\"; start=\"<root>\"; start-info=\"application/soap+xml\"; action=\"" ITI41_ACTION
                   "\"\r\nContent-Length: %zu\r\n\r\n",
                   cfg.path, cfg.host, cfg.port, clen);
        buf_add(b, part->p, part->len);
        iov[0] = (struct iovec){b->p, b->len};
        iov[1] = (struct iovec){cfg.doc, cfg.doc_len};
        iov[2] = (struct iovec){w->tail.p, w->tail.len};
        return 3;
    }
    const char *repo = cfg.repo, *action = cfg.mode == MODE_ITI18 ? ITI18_ACTION : ITI43_ACTION;
    if (cfg.mode == MODE_ITI18) {
        /* the template has the patient only */
    } else if (cfg.mode == MODE_ITI43) {
        size_t k = atomic_fetch_add(&next_id, 1) % cfg.n_ids;
        buf_str(&w->uid, cfg.ids[k]);
    } else {
        repo = NOT_OUR_REPO;
        buf_printf(&w->uid, "%s.%d.%lu", cfg.uid_prefix, w->index, w->seq);
    }
    struct buf *env = &w->scratch;
    env->len = 0;
    add_envelope_head(w, env, action);
    add_body(env, w->uid.len ? w->uid.p : "", "", repo ? repo : "");
    buf_str(env, ENVELOPE_TAIL);
    buf_printf(b,
               "POST %s HTTP/1.1\r\nHost: %s:%s\r\n"
               "Content-Type: application/soap+xml; charset=UTF-8; action=\"%s\"\r\n"
               "Content-Length: %zu\r\n\r\n",
               cfg.path, cfg.host, cfg.port, action, env->len);
    buf_add(b, env->p, env->len);
    iov[0] = (struct iovec){b->p, b->len};
    return 1;
}

/* ---- checking answers ----------------------------------------------------------------------- */

/* iti43 --verify: the part named by the xop:Include must hash like --doc; NULL when it does */
static const char *verify_document(struct worker *w)
{
    const char *bp = memcasemem(w->ctype, strlen(w->ctype), "boundary=");
    if (!bp)
        return "answer is not multipart (no boundary)";
    bp += 9;
    char boundary[256];
    size_t k = 0;
    if (*bp == '"')
        bp++;
    while (*bp && *bp != '"' && *bp != ';' && k < sizeof boundary - 3)
        boundary[k++] = *bp++;
    boundary[k] = '\0';
    char delim[260];
    snprintf(delim, sizeof delim, "--%s", boundary);
    const char *body = w->body.p, *end = w->body.p + w->body.len;
    /* the cid named in the root part */
    const char *inc = memmem_s(body, w->body.len, "href=\"cid:");
    if (!inc)
        return "no xop:Include in the answer";
    inc += 10;
    char cid[256];
    k = 0;
    while (inc < end && *inc != '"' && k < sizeof cid - 1) {
        if (*inc == '%' && inc + 2 < end) { /* a cid URL is %-escaped */
            char hex[3] = {inc[1], inc[2], 0};
            cid[k++] = (char)strtol(hex, NULL, 16);
            inc += 3;
        } else {
            cid[k++] = *inc++;
        }
    }
    cid[k] = '\0';
    /* walk the parts */
    const char *p = memmem_s(body, w->body.len, delim);
    while (p) {
        const char *hstart = p + strlen(delim);
        if (hstart + 2 <= end && hstart[0] == '-' && hstart[1] == '-')
            break;
        const char *hend = memmem_s(hstart, (size_t)(end - hstart), "\r\n\r\n");
        if (!hend)
            return "a MIME part without a header end";
        const char *data = hend + 4;
        const char *next = memmem_s(data, (size_t)(end - data), delim);
        if (!next)
            return "a MIME part without a closing boundary";
        const char *cidh = memcasemem(hstart, (size_t)(hend - hstart), "Content-ID:");
        if (cidh && memmem_s(cidh, (size_t)(hend - cidh), cid)) {
            size_t n = (size_t)(next - data);
            if (n >= 2 && data[n - 2] == '\r' && data[n - 1] == '\n')
                n -= 2;
            unsigned char md[SHA_DIGEST_LENGTH];
            SHA1((const unsigned char *)data, n, md);
            if (n != cfg.doc_len || memcmp(md, cfg.doc_sha1, sizeof md) != 0)
                return "the returned document differs from --doc (SHA-1)";
            return NULL;
        }
        p = next;
    }
    return "no MIME part with the Content-ID of the xop:Include";
}

/* NULL when the answer is the expected one, else what is wrong */
static const char *check_answer(struct worker *w)
{
    if (w->status != 200)
        return "HTTP status is not 200";
    if (cfg.mode == MODE_EMPTY)
        return memmem_s(w->body.p, w->body.len, UNKNOWN_REPO) ? NULL : "no " UNKNOWN_REPO " in the answer";
    if (!memmem_s(w->body.p, w->body.len, STATUS_SUCCESS))
        return "status is not Success";
    if (cfg.mode == MODE_ITI43 && cfg.verify)
        return verify_document(w);
    if (cfg.mode == MODE_ITI18 && cfg.min_objects > 0) {
        long n = 0;
        for (const char *p = w->body.p, *end = w->body.p + w->body.len;
             (p = memmem_s(p, (size_t)(end - p), "<rim:ExtrinsicObject ")) != NULL; p++)
            n++;
        if (n < cfg.min_objects)
            return "fewer DocumentEntries in the answer than --min-objects";
    }
    return NULL;
}

static void note_failure(struct worker *w, const char *why, const char *body, size_t len)
{
    pthread_mutex_lock(&fail_lock);
    if (!first_failure) {
        struct buf b = {0};
        buf_printf(&b, "first failure (connection %d, HTTP %d, uniqueId %s): %s", w->index, w->status,
                   w->uid.p ? w->uid.p : "-", why);
        if (len) {
            buf_str(&b, "\n--- answer (excerpt) ---\n");
            size_t n = len < EXCERPT ? len : EXCERPT;
            for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)body[i];
                if (ch == '\r')
                    continue;
                char c = (ch == '\n' || ch == '\t' || (ch >= 32 && ch < 127)) ? (char)ch : '.';
                buf_add(&b, &c, 1);
            }
            if (len > n) {
                /* the error list is usually near the end of a SOAP answer */
                const char *el = memmem_s(body, len, "RegistryError ");
                if (!el)
                    el = memmem_s(body, len, "Fault");
                if (el && (size_t)(el - body) > n) {
                    buf_str(&b, "\n...\n");
                    size_t m = (size_t)(body + len - el) < EXCERPT ? (size_t)(body + len - el) : EXCERPT;
                    buf_add(&b, el, m);
                }
            }
        }
        first_failure = b.p;
    }
    pthread_mutex_unlock(&fail_lock);
}

/* ---- the worker ----------------------------------------------------------------------------- */

static void record_latency(struct worker *w, double ms)
{
    if (w->n_lat == w->cap_lat) {
        w->cap_lat = w->cap_lat ? w->cap_lat * 2 : 4096;
        w->lat = xrealloc(w->lat, sizeof *w->lat * w->cap_lat);
    }
    w->lat[w->n_lat++] = ms;
}

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    struct iovec iov[3];
    w->c.fd = -1;
    while (!atomic_load(&stop_now)) {
        double t0 = now_s();
        if (t0 >= cfg.t_end)
            break;
        if (w->c.fd < 0 && (w->connects++, conn_open(&w->c) < 0)) {
            w->requests_total++;
            w->errors_total++;
            if (t0 >= cfg.t_measure)
                w->errors++;
            w->last_done = t0;
            note_failure(w, strerror(errno), "", 0);
            if (w->errors_total > 100) /* no server: do not spin */
                break;
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        int n = build_request(w, iov);
        uint64_t rx0 = w->rx_bytes;
        const char *why = NULL;
        int keep = 1;
        if (send_all(w->c.fd, iov, n) < 0)
            why = "send failed (connection reset or closed)";
        else if (read_response(w, &keep, &why) == 0)
            why = check_answer(w);
        else
            keep = 0;
        double t1 = now_s();
        /* an answer that arrives in the window counts, whenever its request was sent: a connection
         * the server leaves waiting through the warm-up shows in the latencies */
        int measured = t1 >= cfg.t_measure;
        if (!measured) {
            w->rx_bytes = rx0; /* warm-up bytes are not counted */
            w->warm++;
        }
        w->requests_total++;
        if (why) {
            w->errors_total++;
            if (measured)
                w->errors++;
            note_failure(w, why, w->body.p ? w->body.p : "", w->body.len);
        } else if (cfg.mode == MODE_ITI41 && cfg.ids_out) {
            buf_add(&w->ids_out, w->uid.p, w->uid.len);
            buf_add(&w->ids_out, "\n", 1);
        }
        if (measured) {
            record_latency(w, (t1 - t0) * 1000.0);
            w->last_done = t1;
        }
        if (!keep)
            conn_close(&w->c);
    }
    conn_close(&w->c);
    return NULL;
}

/* ---- main ----------------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t k = (size_t)(p * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

static void usage(void)
{
    fputs("usage: xdsload --url http://HOST:PORT/PATH --mode iti41|iti43|iti18|empty --connections N\n"
          "               --duration S [--warmup S] [--doc FILE] [--patient CX] [--repo OID]\n"
          "               [--ids FILE] [--ids-out FILE] [--uid-prefix OID] [--template FILE] [--verify]\n"
          "               [--min-objects N]\n",
          stderr);
    exit(2);
}

static void parse_url(const char *url)
{
    if (strncmp(url, "http://", 7) != 0)
        die("--url %s: only http:// is supported", url);
    const char *h = url + 7;
    const char *slash = strchr(h, '/');
    const char *hostport_end = slash ? slash : h + strlen(h);
    char *hp = strndup(h, (size_t)(hostport_end - h));
    char *colon = strrchr(hp, ':');
    if (colon) {
        *colon = '\0';
        cfg.port = colon + 1;
    } else {
        cfg.port = "80";
    }
    cfg.host = hp;
    cfg.path = slash ? slash : "/";
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int rc = getaddrinfo(cfg.host, cfg.port, &hints, &cfg.addr);
    if (rc != 0)
        die("getaddrinfo(%s:%s): %s", cfg.host, cfg.port, gai_strerror(rc));
}

static void load_ids(const char *path)
{
    size_t len;
    char *text = read_file(path, &len);
    size_t cap = 0;
    char *p = text, *end = text + len;
    while (p < end) {
        char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e)
            e = end;
        char *q = e;
        while (q > p && (q[-1] == '\r' || q[-1] == ' '))
            q--;
        if (q > p) {
            if (cfg.n_ids == cap) {
                cap = cap ? cap * 2 : 1024;
                cfg.ids = xrealloc(cfg.ids, sizeof *cfg.ids * cap);
            }
            cfg.ids[cfg.n_ids++] = strndup(p, (size_t)(q - p));
        }
        p = e + 1;
    }
    free(text);
    if (cfg.n_ids == 0)
        die("--ids %s: no uniqueIds", path);
}

int main(int argc, char **argv)
{
    const char *mode = NULL;
    cfg.connections = 1;
    cfg.duration = 5;
    cfg.warmup = 1;
    cfg.patient = "PT-1001^^^&1.2.3.4.5.6.7&ISO";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && (v || (usage(), 0)) && ++i)
        if (OPT("--url")) cfg.url = v;
        else if (OPT("--mode")) mode = v;
        else if (OPT("--connections")) cfg.connections = (int)strtol(v, NULL, 10);
        else if (OPT("--duration")) cfg.duration = strtod(v, NULL);
        else if (OPT("--warmup")) cfg.warmup = strtod(v, NULL);
        else if (OPT("--doc")) cfg.doc_path = v;
        else if (OPT("--patient")) cfg.patient = v;
        else if (OPT("--repo")) cfg.repo = v;
        else if (OPT("--ids")) cfg.ids_path = v;
        else if (OPT("--ids-out")) cfg.ids_out = v;
        else if (OPT("--uid-prefix")) cfg.uid_prefix = v;
        else if (OPT("--template")) cfg.template_path = v;
        else if (OPT("--min-objects")) cfg.min_objects = strtol(v, NULL, 10);
        else if (strcmp(a, "--verify") == 0) cfg.verify = 1;
        else usage();
#undef OPT
    }
    if (!cfg.url || !mode || cfg.connections < 1 || cfg.connections > 4096 || cfg.duration <= 0 ||
        cfg.warmup < 0)
        usage();
    if (strcmp(mode, "iti41") == 0) cfg.mode = MODE_ITI41;
    else if (strcmp(mode, "iti43") == 0) cfg.mode = MODE_ITI43;
    else if (strcmp(mode, "iti18") == 0) cfg.mode = MODE_ITI18;
    else if (strcmp(mode, "empty") == 0) cfg.mode = MODE_EMPTY;
    else usage();
    if (cfg.mode == MODE_ITI41 && !cfg.doc_path)
        die("--mode iti41 needs --doc FILE");
    if (cfg.mode == MODE_ITI43 && (!cfg.repo || !cfg.ids_path))
        die("--mode iti43 needs --repo OID and --ids FILE");
    if (cfg.verify && (cfg.mode != MODE_ITI43 || !cfg.doc_path))
        die("--verify is for --mode iti43 with --doc FILE");
    parse_url(cfg.url);

    static char prefix[96];
    if (!cfg.uid_prefix) { /* 2.25 (UUID-derived OIDs) + time and pid: unique between runs */
        snprintf(prefix, sizeof prefix, "2.25.%lld%05d", (long long)time(NULL), (int)(getpid() % 100000));
        cfg.uid_prefix = prefix;
    }
    if (strlen(cfg.uid_prefix) > 40)
        die("--uid-prefix %s: longer than 40 characters (a uniqueId is at most 64)", cfg.uid_prefix);
    char tpath[4096];
    if (!cfg.template_path) {
        snprintf(tpath, sizeof tpath, "%s/%s", XDSLOAD_FIXTURES,
                 cfg.mode == MODE_ITI41 ? "pnr.xml" : cfg.mode == MODE_ITI18 ? "find.xml" : "retrieve.xml");
        cfg.template_path = tpath;
    }
    size_t tlen;
    char *ttext = read_file(cfg.template_path, &tlen);
    tmpl_compile(&cfg.tmpl, ttext, tlen);
    free(ttext);
    cfg.patient_xml = xml_escape(cfg.patient);
    if (cfg.doc_path) {
        cfg.doc = read_file(cfg.doc_path, &cfg.doc_len);
        SHA1((const unsigned char *)cfg.doc, cfg.doc_len, cfg.doc_sha1);
    }
    if (cfg.mode == MODE_ITI43)
        load_ids(cfg.ids_path);

    struct worker *ws = calloc((size_t)cfg.connections, sizeof *ws);
    if (!ws)
        die("out of memory");
    cfg.t_start = now_s();
    cfg.t_measure = cfg.t_start + cfg.warmup;
    cfg.t_end = cfg.t_measure + cfg.duration;
    for (int i = 0; i < cfg.connections; i++) {
        ws[i].index = i;
        ws[i].rng = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)(i + 1) * 0xbf58476d1ce4e5b9ULL) ^
                    (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
        if (pthread_create(&ws[i].thread, NULL, worker_run, &ws[i]) != 0)
            die("pthread_create: %s", strerror(errno));
    }
    size_t total = 0;
    unsigned long errors = 0, all_requests = 0, all_errors = 0, warm = 0, connects = 0;
    uint64_t rx = 0;
    double last = cfg.t_measure;
    size_t conn_min = (size_t)-1, conn_max = 0;
    for (int i = 0; i < cfg.connections; i++) {
        pthread_join(ws[i].thread, NULL);
        total += ws[i].n_lat;
        errors += ws[i].errors;
        all_requests += ws[i].requests_total;
        all_errors += ws[i].errors_total;
        warm += ws[i].warm;
        connects += ws[i].connects;
        rx += ws[i].rx_bytes;
        if (ws[i].last_done > last)
            last = ws[i].last_done;
        if (ws[i].n_lat < conn_min)
            conn_min = ws[i].n_lat;
        if (ws[i].n_lat > conn_max)
            conn_max = ws[i].n_lat;
    }
    double *lat = xmalloc(sizeof *lat * (total ? total : 1));
    size_t k = 0;
    for (int i = 0; i < cfg.connections; i++) {
        memcpy(lat + k, ws[i].lat, sizeof *lat * ws[i].n_lat);
        k += ws[i].n_lat;
    }
    qsort(lat, total, sizeof *lat, cmp_double);
    /* the window runs from the end of the warm-up to the last answer of a request sent in it */
    double window = last - cfg.t_measure;
    if (window < cfg.duration)
        window = cfg.duration;
    if (cfg.ids_out) {
        FILE *f = fopen(cfg.ids_out, "w");
        if (!f)
            die("fopen(%s): %s", cfg.ids_out, strerror(errno));
        for (int i = 0; i < cfg.connections; i++)
            if (ws[i].ids_out.len)
                fwrite(ws[i].ids_out.p, 1, ws[i].ids_out.len, f);
        if (fclose(f) != 0)
            die("fclose(%s): %s", cfg.ids_out, strerror(errno));
    }
    printf("mode=%s connections=%d requests=%zu errors=%lu seconds=%.2f rps=%.1f p50_ms=%.2f "
           "p90_ms=%.2f p99_ms=%.2f max_ms=%.2f rx_bytes_per_s=%.0f warmup_requests=%lu "
           "conn_min=%zu conn_max=%zu connects=%lu\n",
           mode, cfg.connections, total, errors, window, (double)total / window,
           percentile(lat, total, 0.50), percentile(lat, total, 0.90), percentile(lat, total, 0.99),
           total ? lat[total - 1] : 0.0, (double)rx / window, warm, conn_min, conn_max, connects);
    if (first_failure)
        fprintf(stderr, "xdsload: %lu of %lu requests failed (warm-up included); %s\n", all_errors,
                all_requests, first_failure);
    return all_errors ? 1 : 0;
}
