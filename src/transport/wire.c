/* wire: one SOAP message through a gSOAP context (see wire.h). */
#define _GNU_SOURCE
#include "transport/wire.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "transport/mime.h"
#include "util/alloc.h"
#include "util/id.h"

extern struct Namespace namespaces[];          /* transport/gsoap_glue.c */
extern struct Namespace cg_wire_namespaces11[]; /* transport/gsoap_glue.c */

static int wire_parsehdr(struct soap *soap, const char *key, const char *val)
{
    cg_wire *w = soap->user;
    w->header_bytes += strlen(key) + strlen(val) + 4;
    if (w->max_header && w->header_bytes > w->max_header) {
        w->header_too_big = 1;
        return SOAP_HDR;
    }
    if (!strcasecmp(key, "Content-Type")) {
        /* gSOAP would switch to its own MIME/DIME reader for these: the body is read raw and
         * split by transport/mime instead (see mime.h), so it only sees a neutral type. */
        w->content_type = soap_strdup(soap, val);
        return w->parsehdr(soap, key, "application/octet-stream");
    }
    if (!strcasecmp(key, "Content-Encoding")) {
        w->content_encoding = soap_strdup(soap, val);
        return SOAP_OK; /* refused in cg_wire_read unless identity */
    }
    if (!strcasecmp(key, "Content-Length"))
        w->has_length = 1;
    if (!strcasecmp(key, "Host"))
        w->host = soap_strdup(soap, val);
    else if (!strcasecmp(key, "SOAPAction"))
        w->soap_action = soap_strdup(soap, val);
    return w->parsehdr(soap, key, val);
}

/* Waits up to ms (-1: no bound) for `events` on the socket: 1 when ready (or hung up, or an
 * error: the next call says which), 0 when the time ran out. */
static int wire_poll(struct soap *soap, short events, int ms)
{
    struct pollfd p = {.fd = soap->socket, .events = events};
    int r;
    do
        r = poll(&p, 1, ms);
    while (r < 0 && errno == EINTR);
    return r != 0;
}

/* Whether bytes (or the end of the connection) arrive within ms. */
static int wire_ready(struct soap *soap, unsigned ms)
{
    if (soap->ssl && (SSL_pending(soap->ssl) > 0 || SSL_has_pending(soap->ssl)))
        return 1;
    return wire_poll(soap, POLLIN, (int)ms);
}

/* Waits for `events` on a plain socket within a gSOAP timeout (seconds, or microseconds when
 * negative; 0 for none), as wire_poll. */
static int wire_wait(struct soap *soap, short events, int timeout)
{
    int ms = -1;
    if (timeout > 0)
        ms = timeout > INT32_MAX / 1000 ? INT32_MAX : timeout * 1000;
    else if (timeout < 0)
        ms = -timeout / 1000 > 0 ? -timeout / 1000 : 1;
    return wire_poll(soap, events, ms);
}

/* A plain connection's reads and writes: the call first, a wait only when the socket is not
 * ready (gSOAP's own wait before every call, a select, costs a system call per 64 KB written
 * and per read). Bounded by the same timeouts, one wait at a time, as gSOAP's; TLS stays with
 * gSOAP's own. */
static size_t wire_recv_plain(struct soap *soap, char *s, size_t n)
{
    soap->errnum = 0;
    for (;;) {
        ssize_t r = recv(soap->socket, s, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r >= 0)
            return (size_t)r;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            soap->errnum = errno;
            return 0;
        }
        if (!wire_wait(soap, POLLIN, soap->recv_timeout))
            return 0; /* the receive timeout */
    }
}

static int wire_fsend(struct soap *soap, const char *s, size_t n)
{
    cg_wire *w = soap->user;
    if (soap->ssl || !soap_valid_socket(soap->socket))
        return w->fsend(soap, s, n);
    soap->errnum = 0;
    while (n > 0) {
        ssize_t r = send(soap->socket, s, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r > 0) {
            s += r;
            n -= (size_t)r;
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            soap->errnum = errno;
            return SOAP_EOF;
        } else if (!wire_wait(soap, POLLOUT, soap->send_timeout)) {
            return SOAP_EOF; /* the send timeout */
        }
    }
    return SOAP_OK;
}

static size_t wire_frecv(struct soap *soap, char *s, size_t n)
{
    cg_wire *w = soap->user;
    if (w->parked)
        return 0;
    if (w->gate && !w->ready && !wire_ready(soap, w->gate_ms)) {
        w->parked = 1; /* gSOAP sees an end; the server sees `parked` first */
        return 0;
    }
    w->ready = 0;
    size_t got = soap->ssl || !soap_valid_socket(soap->socket) ? w->frecv(soap, s, n)
                                                                : wire_recv_plain(soap, s, n);
    if (got == 0) {
        w->eof = 1;
    } else if (w->gate) {
        if (got <= w->kept_cap - w->nkept) {
            memcpy(w->kept + w->nkept, s, got);
            w->nkept += got;
        } else {
            w->gate = 0; /* more than can be kept: this request is read to its end here */
        }
    }
    return got;
}

/* gSOAP closes the connection at what it takes for the end of the input: not when the input
 * only stalled and the request is set aside (`parked`): the connection waits for more. */
static int wire_fclose(struct soap *soap)
{
    cg_wire *w = soap->user;
    return w->parked ? SOAP_OK : w->fclose(soap);
}

void cg_wire_attach(struct soap *soap, cg_wire *w, size_t max_header)
{
    memset(w, 0, sizeof(*w));
    w->max_header = max_header;
    w->parsehdr = soap->fparsehdr;
    w->frecv = soap->frecv;
    w->fclose = soap->fclose;
    w->fsend = soap->fsend;
    soap->user = w;
    soap->fparsehdr = wire_parsehdr;
    soap->frecv = wire_frecv;
    soap->fsend = wire_fsend;
    soap->fclose = wire_fclose;
    soap->socket_flags = MSG_NOSIGNAL;
    soap->version = 2;
    soap_set_namespaces(soap, namespaces);
}

void cg_wire_reset(cg_wire *w)
{
    w->content_type = w->host = w->soap_action = w->content_encoding = NULL;
    w->header_bytes = 0;
    w->header_too_big = 0;
    w->eof = 0;
    w->has_length = 0;
}

/* The next bytes of the HTTP body from gSOAP's buffer (chunked decoding and TLS done by it):
 * *len 0 at the end of the body. CG_EIO when the connection ended before the body did. */
typedef struct body_reader {
    struct soap *soap;
    int chunked;
    int until_close;
    unsigned long long remaining; /* Content-Length left */
    char one;
} body_reader;

static int body_next(body_reader *b, const char **data, size_t *len)
{
    struct soap *soap = b->soap;
    cg_wire *w = soap->user;
    *len = 0;
    if (!b->chunked && !b->until_close && b->remaining == 0)
        return CG_OK;
    if (soap->ahead) { /* a character gSOAP peeked at and put back */
        soap_wchar c = soap->ahead;
        soap->ahead = 0;
        if ((int)c != EOF) {
            b->one = (char)c;
            *data = &b->one;
            *len = 1;
            if (!b->chunked && !b->until_close)
                b->remaining--;
            return CG_OK;
        }
        if (b->chunked && !w->eof)
            return CG_OK; /* the last chunk was read */
    }
    if (soap->bufidx >= soap->buflen) {
        if (soap_recv(soap)) {
            /* past recv_maxlength gSOAP fails with what it read still in its buffer: the rest of
             * the body must not be taken for the next request on the connection */
            if (soap->bufidx < soap->buflen)
                return CG_ETOOBIG;
            if ((w->eof || !b->chunked) && !b->until_close)
                return CG_EIO; /* the connection ended before Content-Length bytes came */
            return CG_OK; /* last chunk, or the close that ends an unsized body */
        }
    }
    size_t n = soap->buflen - soap->bufidx;
    if (!b->chunked && !b->until_close && n > b->remaining)
        n = (size_t)b->remaining;
    *data = soap->buf + soap->bufidx;
    *len = n;
    soap->bufidx += n;
    if (!b->chunked && !b->until_close)
        b->remaining -= n;
    return CG_OK;
}

static int body_error(struct soap *soap, int rc, cg_err *err)
{
    if (rc == CG_ETOOBIG)
        return cg_err_set(err, rc, "the HTTP message is larger than %llu bytes",
                          (unsigned long long)soap->recv_maxlength);
    return cg_err_set(err, rc, "the connection ended before the request body did");
}

static void wire_free(void *p)
{
    free(p);
}

int cg_wire_read(struct soap *soap, cg_pool *pool, const cg_wire_limits *limits,
                 cg_wire_message *out, cg_err *err)
{
    cg_wire *w = soap->user;
    memset(out, 0, sizeof(*out));
    if (w->content_encoding && strcasecmp(w->content_encoding, "identity") != 0)
        return cg_err_set(err, CG_EINVAL, "Content-Encoding \"%s\" is not supported",
                          w->content_encoding);
    body_reader b = {.soap = soap};
    b.chunked = (soap->mode & SOAP_IO) == SOAP_IO_CHUNK;
    if (!b.chunked) {
        if (soap->length > 0 || w->has_length)
            b.remaining = (unsigned long long)soap->length;
        else
            b.until_close = 1;
    }
    const char *type = w->content_type;
    char *media = cg_mime_type(pool, type);
    int rc = CG_OK;
    int multipart = media && strncmp(media, "multipart/", 10) == 0;
    if (!b.chunked && w->has_length) {
        /* a body longer than the limits allow is refused before it is waited for */
        unsigned long long slack = (unsigned long long)limits->max_header + 4096, most;
        most = limits->max_envelope;
        if (multipart)
            most += slack + (unsigned long long)limits->max_parts *
                                ((unsigned long long)limits->max_part / 3 * 4 +
                                 limits->max_part / 38 + slack + 4);
        if ((unsigned long long)soap->length > most && !multipart)
            return cg_err_set(err, CG_ETOOBIG,
                              "the SOAP envelope is larger than %zu bytes (Content-Length %llu)",
                              limits->max_envelope, (unsigned long long)soap->length);
        if ((unsigned long long)soap->length > most)
            return cg_err_set(err, CG_ETOOBIG,
                              "Content-Length %llu is more than the largest MTOM request the limits "
                              "allow (%llu bytes: limits.max_envelope_bytes, max_attachments, "
                              "max_attachment_bytes)",
                              (unsigned long long)soap->length, most);
    }
    if (multipart) {
        cg_mime_limits ml = {.max_root = limits->max_envelope,
                             .max_part = limits->max_part,
                             .max_parts = limits->max_parts,
                             .max_header = limits->max_header};
        cg_mime_reader *r = NULL;
        if ((rc = cg_mime_reader_new(&r, type, &ml, pool, err)) != CG_OK)
            return rc;
        for (;;) {
            const char *data;
            size_t len;
            if ((rc = body_next(&b, &data, &len)) != CG_OK) {
                body_error(soap, rc, err);
                break;
            }
            if (len == 0)
                break;
            if ((rc = cg_mime_reader_feed(r, data, len, err)) != CG_OK)
                break;
        }
        cg_mime_message msg;
        if (rc == CG_OK && (rc = cg_mime_reader_finish(r, &msg, err)) == CG_OK) {
            out->envelope = msg.root;
            out->envelope_len = msg.root_len;
            out->root_content_type = msg.root_content_type;
            out->parts = msg.parts;
            out->nparts = msg.nparts;
            out->multipart = 1;
        }
        cg_mime_reader_free(r);
        return rc;
    }
    /* application/soap+xml (or anything else: the envelope parser says what is wrong) */
    size_t cap = 4096, n = 0;
    char *buf = cg_xmalloc(cap);
    for (;;) {
        const char *data;
        size_t len;
        if ((rc = body_next(&b, &data, &len)) != CG_OK) {
            body_error(soap, rc, err);
            break;
        }
        if (len == 0)
            break;
        if (n + len > limits->max_envelope) {
            rc = cg_err_set(err, CG_ETOOBIG, "the SOAP envelope is larger than %zu bytes",
                            limits->max_envelope);
            break;
        }
        if (n + len + 1 > cap) {
            while (n + len + 1 > cap)
                cap *= 2;
            buf = cg_xrealloc(buf, cap);
        }
        memcpy(buf + n, data, len);
        n += len;
    }
    if (rc != CG_OK) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    cg_pool_cleanup(pool, wire_free, buf);
    out->envelope = buf;
    out->envelope_len = n;
    return CG_OK;
}

/* The Envelope, header, body or fault: the same calls count and then send. */
static int wire_put_envelope(struct soap *soap, const cg_wire_out *o)
{
    if (soap_envelope_begin_out(soap))
        return soap->error;
    if (o->header_xml && soap_send(soap, o->header_xml))
        return soap->error;
    if (o->fault_code) {
        if (soap_body_begin_out(soap) || soap_putfault(soap) || soap_body_end_out(soap))
            return soap->error;
    } else if (o->body_xml && o->nsplice > 0 && o->splice_at != SIZE_MAX) {
        /* the body up to the splice, the pieces, the rest: no copy of the pieces into one text */
        if (soap_send_raw(soap, o->body_xml, o->splice_at))
            return soap->error;
        for (size_t i = 0; i < o->nsplice; i++)
            if (o->splice[i].len && soap_send_raw(soap, o->splice[i].text, o->splice[i].len))
                return soap->error;
        if (soap_send(soap, o->body_xml + o->splice_at))
            return soap->error;
    } else if (o->body_xml && soap_send(soap, o->body_xml)) {
        return soap->error;
    }
    return soap_envelope_end_out(soap);
}

/* An MTOM part of an answer, read by gSOAP through the fmimeread callbacks. */
typedef struct wire_part_src {
    const unsigned char *data;
    size_t len;
    size_t off;
} wire_part_src;

static void *wire_part_open(struct soap *soap, void *handle, const char *id, const char *type,
                            const char *description)
{
    (void)soap, (void)id, (void)type, (void)description;
    wire_part_src *src = handle;
    src->off = 0; /* the counting pass and the sending pass each read the part once */
    return src;
}

static size_t wire_part_read(struct soap *soap, void *handle, char *buf, size_t len)
{
    (void)soap;
    wire_part_src *src = handle;
    size_t n = src->len - src->off;
    if (n > len)
        n = len;
    memcpy(buf, src->data + src->off, n);
    src->off += n;
    return n;
}

static void wire_part_close(struct soap *soap, void *handle)
{
    (void)soap, (void)handle;
}

int cg_wire_send(struct soap *soap, const cg_wire_out *o, const char *url, const char *action)
{
    soap->version = o->soap11 ? 1 : 2;
    soap_set_namespaces(soap, o->soap11 ? cg_wire_namespaces11 : namespaces);
    soap_clr_omode(soap, SOAP_ENC_MTOM | SOAP_ENC_MIME);
    if (o->fault_code) {
        soap_fault(soap);
        *soap_faultcode(soap) = soap_strdup(soap, o->fault_code);
        if (o->fault_subcode && !o->soap11)
            *soap_faultsubcode(soap) = soap_strdup(soap, o->fault_subcode);
        *soap_faultstring(soap) = soap_strdup(soap, o->fault_reason ? o->fault_reason : "");
    }
    if ((o->mtom || o->nparts > 0) && !o->soap11) {
        char start[64];
        snprintf(start, sizeof(start), "<root.message@cdagate>");
        /* Our boundary, from one draw of the CSPRNG: left to itself gSOAP builds one character
         * at a time, one RAND_bytes (and getpid) call each, about 60 per answer. 128 random bits
         * make a collision with document bytes as unlikely as a UUID collision. */
        char uuid[CG_UUID_URN_LEN + 1];
        cg_id_uuid_urn(uuid);
        char *boundary = soap_malloc(soap, 64);
        snprintf(boundary, 64, "MIMEBoundary_%s", uuid + 9);
        soap_set_omode(soap, SOAP_ENC_MTOM);
        soap_set_mime(soap, boundary, start);
        /* Parts are handed to gSOAP as streams read from memory: gSOAP then writes them without
         * first searching every byte offset of every part for the boundary (the boundary holds
         * 128 random bits). */
        soap->fmimereadopen = wire_part_open;
        soap->fmimeread = wire_part_read;
        soap->fmimereadclose = wire_part_close;
        for (size_t i = 0; i < o->nparts; i++) {
            const cg_out_part *p = &o->parts[i];
            char *id = soap_malloc(soap, strlen(p->content_id) + 3);
            id[0] = '<';
            memcpy(id + 1, p->content_id, strlen(p->content_id));
            id[strlen(p->content_id) + 1] = '>';
            id[strlen(p->content_id) + 2] = '\0';
            wire_part_src *src = soap_malloc(soap, sizeof(*src));
            src->data = p->data;
            src->len = p->len;
            src->off = 0;
            if (soap_set_mime_attachment(soap, (char *)src, p->len, SOAP_MIME_BINARY,
                                         p->content_type, id, NULL, NULL))
                return soap->error;
        }
    }
    soap_begin_count(soap);
    if ((soap->mode & SOAP_IO_LENGTH) && wire_put_envelope(soap, o))
        return soap->error;
    soap_end_count(soap);
    if (url) {
        if (soap_connect_command(soap, SOAP_POST, url, action))
            return soap->error;
    } else if (soap_response(soap, o->http_status == 200 || o->http_status == 0 ? SOAP_OK
                                                                               : o->http_status)) {
        return soap->error;
    }
    if (wire_put_envelope(soap, o) || soap_end_send(soap))
        return soap->error;
    return SOAP_OK;
}

void cg_wire_drain(struct soap *soap, size_t max, int timeout_ms)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t total = 0;
    char tmp[16384];
    while (total < max && soap_valid_socket(soap->socket)) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms >= timeout_ms)
            break;
        int ready = 0;
#ifdef WITH_OPENSSL
        if (soap->ssl && SSL_pending(soap->ssl) > 0)
            ready = 1;
#endif
        if (!ready) {
            struct pollfd pfd = {.fd = soap->socket, .events = POLLIN};
            int r = poll(&pfd, 1, (int)(timeout_ms - ms));
            if (r <= 0)
                break;
        }
        size_t got;
#ifdef WITH_OPENSSL
        if (soap->ssl) {
            int r = SSL_read(soap->ssl, tmp, (int)sizeof(tmp));
            got = r > 0 ? (size_t)r : 0;
        } else
#endif
        {
            ssize_t r = recv(soap->socket, tmp, sizeof(tmp), 0);
            got = r > 0 ? (size_t)r : 0;
        }
        if (got == 0)
            break;
        total += got;
    }
}

int cg_wire_tls_error(cg_err *err, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return cg_err_set(err, CG_EINVAL, "%s: %s", what, buf);
}
