/* mime: bounded streaming multipart/related reader (see mime.h). */
#define _POSIX_C_SOURCE 200809L
#include "transport/mime.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/base64.h"

typedef enum {
    MIME_PREAMBLE,    /* before the first delimiter */
    MIME_AFTER_DELIM, /* just after "--boundary": "--" ends, else padding up to the line end */
    MIME_HEADERS,     /* a part's header block, up to the empty line */
    MIME_BODY,        /* a part's content, up to the next delimiter */
    MIME_EPILOGUE,    /* after the closing delimiter: ignored, but bounded */
    MIME_FAILED
} mime_state;

typedef struct mime_held {
    unsigned char *data; /* heap; handed to the pool by finish */
} mime_held;

struct cg_mime_reader {
    cg_pool *pool;
    cg_mime_limits limits;
    char *boundary; /* heap */
    size_t blen;
    char *start; /* normalised start parameter, pool, may be NULL */
    mime_state state;

    unsigned char *pend; /* bytes not consumed yet (heap); in MIME_BODY the part's content */
    size_t plen, pcap;
    size_t scanned;    /* MIME_BODY: bytes of pend already searched for the delimiter */
    size_t hashed;     /* MIME_BODY: bytes of pend already hashed */
    size_t body_limit; /* MIME_BODY: most bytes the current part may hold as sent */
    size_t epilogue;

    /* the part being read */
    const char *cur_id, *cur_type;
    int cur_base64;
    int cur_root;
    EVP_MD_CTX *sha;

    /* parts read so far */
    cg_part *parts;
    unsigned char **held; /* heap data of parts[i] until finish */
    size_t nparts, cap;
    size_t nseen; /* all parts, root included */
    int have_root;
    cg_mime_message msg;
    unsigned char *root_data; /* heap until finish */
};

static const char hexdig[] = "0123456789abcdef";

/* ---- header value helpers ------------------------------------------------------------------ */

char *cg_mime_type(cg_pool *pool, const char *header)
{
    if (!header)
        return NULL;
    while (*header == ' ' || *header == '\t')
        header++;
    size_t n = strcspn(header, ";");
    while (n > 0 && (header[n - 1] == ' ' || header[n - 1] == '\t'))
        n--;
    char *t = cg_pool_strndup(pool, header, n);
    for (char *p = t; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return t;
}

char *cg_mime_param(cg_pool *pool, const char *header, const char *name)
{
    if (!header)
        return NULL;
    size_t nlen = strlen(name);
    const char *p = header;
    int quoted = 0;
    /* walk to each ';' that is not inside quotes */
    for (;;) {
        while (*p && (*p != ';' || quoted)) {
            if (*p == '"')
                quoted = !quoted;
            else if (*p == '\\' && quoted && p[1])
                p++;
            p++;
        }
        if (!*p)
            return NULL;
        p++;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        const char *key = p;
        while (*p && *p != '=' && *p != ';' && *p != ' ' && *p != '\t')
            p++;
        size_t klen = (size_t)(p - key);
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '=')
            continue;
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (klen == nlen && strncasecmp(key, name, nlen) == 0) {
            size_t cap = strlen(p) + 1;
            char *out = cg_pool_alloc(pool, cap);
            size_t o = 0;
            if (*p == '"') {
                p++;
                while (*p && *p != '"') {
                    if (*p == '\\' && p[1])
                        p++;
                    out[o++] = *p++;
                }
            } else {
                while (*p && *p != ';' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
                    out[o++] = *p++;
            }
            out[o] = '\0';
            return out;
        }
        if (*p == '"') {
            /* skip a quoted value so a ';' inside it is not taken for a separator */
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                p++;
            }
            if (*p)
                p++;
        }
    }
}

char *cg_mime_cid(cg_pool *pool, const char *value)
{
    if (!value)
        return NULL;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strlen(value);
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t' || value[n - 1] == '\r'))
        n--;
    if (n >= 2 && value[0] == '<' && value[n - 1] == '>') {
        value++;
        n -= 2;
    }
    return cg_pool_strndup(pool, value, n);
}

/* ---- reader -------------------------------------------------------------------------------- */

int cg_mime_reader_new(cg_mime_reader **out, const char *content_type,
                       const cg_mime_limits *limits, cg_pool *pool, cg_err *err)
{
    *out = NULL;
    char *type = cg_mime_type(pool, content_type);
    if (!type || strncmp(type, "multipart/", 10) != 0)
        return cg_err_set(err, CG_EINVAL, "Content-Type \"%s\" is not multipart",
                          content_type ? content_type : "");
    char *boundary = cg_mime_param(pool, content_type, "boundary");
    if (!boundary || !*boundary)
        return cg_err_set(err, CG_EINVAL, "multipart Content-Type has no boundary parameter");
    if (strlen(boundary) > 200)
        return cg_err_set(err, CG_EINVAL, "MIME boundary longer than 200 characters");
    cg_mime_reader *r = cg_xcalloc(1, sizeof(*r));
    r->pool = pool;
    r->limits = *limits;
    r->boundary = cg_xstrdup(boundary);
    r->blen = strlen(boundary);
    char *start = cg_mime_param(pool, content_type, "start");
    r->start = start && *start ? cg_mime_cid(pool, start) : NULL;
    r->state = MIME_PREAMBLE;
    *out = r;
    return CG_OK;
}

static void reader_drop_part(cg_mime_reader *r)
{
    if (r->sha) {
        EVP_MD_CTX_free(r->sha);
        r->sha = NULL;
    }
}

void cg_mime_reader_free(cg_mime_reader *r)
{
    if (!r)
        return;
    reader_drop_part(r);
    for (size_t i = 0; i < r->nparts; i++)
        free(r->held[i]);
    free(r->held);
    free(r->parts);
    free(r->root_data);
    free(r->pend);
    free(r->boundary);
    free(r);
}

static int reader_fail(cg_mime_reader *r, cg_err *err, int code, const char *what)
{
    r->state = MIME_FAILED;
    return cg_err_set(err, code, "MIME: %s", what);
}

/* Drops the first n bytes of pend. */
static void pend_consume(cg_mime_reader *r, size_t n)
{
    memmove(r->pend, r->pend + n, r->plen - n);
    r->plen -= n;
}

/* The position of "--boundary" at the start of pend or right after a '\n', from `from` on;
 * returns the position of the '\n' (or (size_t)-1 for "at offset 0") via *at, 1 when found. */
static int find_delim(const cg_mime_reader *r, size_t from, size_t *at, int allow_start)
{
    const unsigned char *p = r->pend;
    size_t n = r->plen, need = 2 + r->blen;
    if (allow_start && from == 0 && n >= need && p[0] == '-' && p[1] == '-' &&
        memcmp(p + 2, r->boundary, r->blen) == 0) {
        *at = (size_t)-1;
        return 1;
    }
    for (size_t i = from; i < n; i++) {
        const unsigned char *nl = memchr(p + i, '\n', n - i);
        if (!nl)
            return 0;
        i = (size_t)(nl - p);
        if (n - i - 1 < need)
            return 0;
        if (nl[1] == '-' && nl[2] == '-' && memcmp(nl + 3, r->boundary, r->blen) == 0) {
            *at = i;
            return 1;
        }
    }
    return 0;
}

static void sha_hex(EVP_MD_CTX *sha, char out[CG_SHA1_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_DigestFinal_ex(sha, md, &mdlen);
    for (unsigned i = 0; i < mdlen && i < 20; i++) {
        out[2 * i] = hexdig[md[i] >> 4];
        out[2 * i + 1] = hexdig[md[i] & 15];
    }
    out[CG_SHA1_HEX_LEN] = '\0';
}

static int id_seen(const cg_mime_reader *r, const char *id)
{
    if (r->have_root && r->msg.root_content_id && strcmp(r->msg.root_content_id, id) == 0)
        return 1;
    for (size_t i = 0; i < r->nparts; i++)
        if (r->parts[i].content_id && strcmp(r->parts[i].content_id, id) == 0)
            return 1;
    return 0;
}

/* Parses a header block (pend[0..len)) of the part that starts now. */
static int parse_headers(cg_mime_reader *r, size_t len, cg_err *err)
{
    char *block = cg_pool_strndup(r->pool, (const char *)r->pend, len);
    const char *id = NULL, *type = NULL, *cte = NULL;
    char *line = block;
    while (line && *line) {
        /* one logical line: up to a '\n' not followed by a blank (folding) */
        char *end = line;
        for (;;) {
            end = strchr(end, '\n');
            if (!end || (end[1] != ' ' && end[1] != '\t'))
                break;
            end++;
        }
        char *next = end ? end + 1 : NULL;
        if (end)
            *end = '\0';
        for (char *p = line; *p; p++)
            if (*p == '\r' || *p == '\n')
                *p = ' ';
        char *colon = strchr(line, ':');
        if (colon) {
            *colon = '\0';
            char *name = line, *value = colon + 1;
            size_t nl = strlen(name);
            while (nl > 0 && (name[nl - 1] == ' ' || name[nl - 1] == '\t'))
                name[--nl] = '\0';
            while (*value == ' ' || *value == '\t')
                value++;
            size_t vl = strlen(value);
            while (vl > 0 && (value[vl - 1] == ' ' || value[vl - 1] == '\t'))
                value[--vl] = '\0';
            if (strcasecmp(name, "Content-ID") == 0)
                id = value;
            else if (strcasecmp(name, "Content-Type") == 0)
                type = value;
            else if (strcasecmp(name, "Content-Transfer-Encoding") == 0)
                cte = value;
        } else if (*line && strspn(line, " \t") != strlen(line)) {
            return reader_fail(r, err, CG_EINVAL, "a part header line has no ':'");
        }
        line = next;
    }
    r->cur_id = id && *id ? cg_mime_cid(r->pool, id) : NULL;
    r->cur_type = type ? cg_pool_strdup(r->pool, type) : NULL;
    r->cur_base64 = 0;
    if (cte && *cte) {
        if (strcasecmp(cte, "base64") == 0)
            r->cur_base64 = 1;
        else if (strcasecmp(cte, "binary") != 0 && strcasecmp(cte, "8bit") != 0 &&
                 strcasecmp(cte, "7bit") != 0) {
            r->state = MIME_FAILED;
            return cg_err_set(err, CG_EINVAL, "MIME: Content-Transfer-Encoding \"%s\" is not supported",
                              cte);
        }
    }
    if (r->cur_id && id_seen(r, r->cur_id)) {
        r->state = MIME_FAILED;
        return cg_err_set(err, CG_EINVAL, "MIME: two parts have Content-ID <%s>", r->cur_id);
    }
    if (r->start)
        r->cur_root = !r->have_root && r->cur_id && strcmp(r->cur_id, r->start) == 0;
    else
        r->cur_root = r->nseen == 0;
    r->nseen++;
    if (!r->cur_root) {
        size_t attachments = r->nparts + 1;
        if (attachments > r->limits.max_parts) {
            r->state = MIME_FAILED;
            return cg_err_set(err, CG_ETOOBIG, "MIME: more than %zu attachments",
                              r->limits.max_parts);
        }
    }
    size_t limit = r->cur_root ? r->limits.max_root : r->limits.max_part;
    if (r->cur_base64) /* as sent: 4 characters per 3 bytes, and line breaks */
        limit = limit / 3 * 4 + 4 + (limit / 3 * 4) / 38 + 2;
    r->body_limit = limit;
    if (!r->cur_root && !r->cur_base64) {
        r->sha = EVP_MD_CTX_new();
        if (!r->sha || EVP_DigestInit_ex(r->sha, EVP_sha1(), NULL) != 1)
            return reader_fail(r, err, CG_EIO, "EVP_DigestInit_ex(sha1) failed");
    }
    return CG_OK;
}

/* The current part's content is pend[0..len); keeps it and resets pend to an empty buffer. */
static int finish_part(cg_mime_reader *r, size_t len, cg_err *err)
{
    unsigned char *data = r->pend;
    r->pend = NULL;
    r->plen = r->pcap = 0;
    if (r->cur_base64) {
        size_t n = cg_base64_decode(data, data, len);
        if (n == CG_BASE64_INVALID) {
            free(data);
            r->state = MIME_FAILED;
            return cg_err_set(err, CG_EINVAL, "MIME: part <%s> is not valid base64",
                              r->cur_id ? r->cur_id : "");
        }
        len = n;
    }
    size_t limit = r->cur_root ? r->limits.max_root : r->limits.max_part;
    if (len > limit) {
        free(data);
        r->state = MIME_FAILED;
        if (r->cur_root)
            return cg_err_set(err, CG_ETOOBIG, "MIME: the root part is larger than %zu bytes",
                              limit);
        return cg_err_set(err, CG_ETOOBIG, "MIME: part <%s> is larger than %zu bytes",
                          r->cur_id ? r->cur_id : "", limit);
    }
    if (r->cur_root) {
        unsigned char *root = cg_xrealloc(data, len + 1);
        root[len] = '\0';
        r->root_data = root;
        r->msg.root = (const char *)root;
        r->msg.root_len = len;
        r->msg.root_content_type = r->cur_type;
        r->msg.root_content_id = r->cur_id;
        r->have_root = 1;
        return CG_OK;
    }
    if (r->nparts == r->cap) {
        size_t cap = r->cap;
        r->parts = cg_xgrow(r->parts, &cap, r->nparts + 1, sizeof(*r->parts));
        r->held = cg_xrealloc(r->held, cap * sizeof(*r->held));
        r->cap = cap;
    }
    cg_part *p = &r->parts[r->nparts];
    memset(p, 0, sizeof(*p));
    p->content_id = r->cur_id ? r->cur_id : "";
    p->content_type = r->cur_type;
    p->data = data;
    p->len = len;
    r->held[r->nparts] = data;
    r->nparts++;
    if (r->cur_base64) {
        EVP_MD_CTX *sha = EVP_MD_CTX_new();
        EVP_DigestInit_ex(sha, EVP_sha1(), NULL);
        EVP_DigestUpdate(sha, data, len);
        sha_hex(sha, p->sha1);
        EVP_MD_CTX_free(sha);
    } else {
        if (len > r->hashed)
            EVP_DigestUpdate(r->sha, data + r->hashed, len - r->hashed);
        sha_hex(r->sha, p->sha1);
        reader_drop_part(r);
    }
    return CG_OK;
}

/* Runs the state machine over pend until it needs more bytes. */
static int reader_run(cg_mime_reader *r, cg_err *err)
{
    size_t dlen = 3 + r->blen; /* "\n--boundary" */
    for (;;) {
        switch (r->state) {
        case MIME_PREAMBLE: {
            size_t at;
            if (find_delim(r, 0, &at, 1)) {
                pend_consume(r, at == (size_t)-1 ? 2 + r->blen : at + dlen);
                r->state = MIME_AFTER_DELIM;
                continue;
            }
            if (r->plen > r->limits.max_header + dlen)
                return reader_fail(r, err, CG_EINVAL,
                                   "no delimiter line with the boundary of the Content-Type");
            return CG_OK;
        }
        case MIME_AFTER_DELIM: {
            if (r->plen < 2)
                return CG_OK;
            if (r->pend[0] == '-' && r->pend[1] == '-') {
                pend_consume(r, 2);
                r->state = MIME_EPILOGUE;
                continue;
            }
            const unsigned char *nl = memchr(r->pend, '\n', r->plen);
            if (!nl) {
                if (r->plen > r->limits.max_header)
                    return reader_fail(r, err, CG_EINVAL, "junk after a delimiter");
                return CG_OK;
            }
            for (const unsigned char *p = r->pend; p < nl; p++)
                if (*p != ' ' && *p != '\t' && *p != '\r')
                    return reader_fail(r, err, CG_EINVAL,
                                       "a delimiter line has characters after the boundary");
            pend_consume(r, (size_t)(nl - r->pend) + 1);
            r->state = MIME_HEADERS;
            continue;
        }
        case MIME_HEADERS: {
            /* the header block ends with an empty line: at offset 0, or "\n\n" / "\n\r\n" */
            size_t end = 0, skip = 0;
            int found = 0;
            if (r->plen >= 1 && r->pend[0] == '\n') {
                found = 1, end = 0, skip = 1;
            } else if (r->plen >= 2 && r->pend[0] == '\r' && r->pend[1] == '\n') {
                found = 1, end = 0, skip = 2;
            } else {
                for (size_t i = 0; i + 1 < r->plen; i++) {
                    if (r->pend[i] != '\n')
                        continue;
                    if (r->pend[i + 1] == '\n') {
                        found = 1, end = i + 1, skip = i + 2;
                        break;
                    }
                    if (r->pend[i + 1] == '\r' && i + 2 < r->plen && r->pend[i + 2] == '\n') {
                        found = 1, end = i + 1, skip = i + 3;
                        break;
                    }
                }
            }
            if (!found) {
                if (r->plen > r->limits.max_header)
                    return reader_fail(r, err, CG_ETOOBIG, "a part's headers exceed the limit");
                return CG_OK;
            }
            if (end > r->limits.max_header)
                return reader_fail(r, err, CG_ETOOBIG, "a part's headers exceed the limit");
            int rc = parse_headers(r, end, err);
            if (rc != CG_OK)
                return rc;
            pend_consume(r, skip);
            r->scanned = 0;
            r->hashed = 0;
            r->state = MIME_BODY;
            continue;
        }
        case MIME_BODY: {
            size_t at;
            size_t from = r->scanned;
            if (find_delim(r, from, &at, 1)) {
                size_t len = at == (size_t)-1 ? 0 : at;
                size_t after = at == (size_t)-1 ? 2 + r->blen : at + dlen;
                if (len > 0 && r->pend[len - 1] == '\r')
                    len--;
                /* the rest goes into a fresh buffer; the content buffer becomes the part */
                size_t rest = r->plen - after;
                unsigned char *tail = cg_xmalloc(rest ? rest : 1);
                memcpy(tail, r->pend + after, rest);
                int rc = finish_part(r, len, err);
                if (rc != CG_OK) {
                    free(tail);
                    return rc;
                }
                r->pend = tail;
                r->plen = rest;
                r->pcap = rest ? rest : 1;
                r->state = MIME_AFTER_DELIM;
                continue;
            }
            /* bytes before the last dlen+1 cannot belong to a delimiter: they are content */
            size_t safe = r->plen > dlen + 1 ? r->plen - dlen - 1 : 0;
            if (r->plen > dlen && r->plen - dlen > r->body_limit) {
                if (r->cur_root)
                    return reader_fail(r, err, CG_ETOOBIG, "the root part exceeds the limit");
                r->state = MIME_FAILED;
                return cg_err_set(err, CG_ETOOBIG, "MIME: part <%s> is larger than %zu bytes",
                                  r->cur_id ? r->cur_id : "", r->limits.max_part);
            }
            if (r->sha && safe > r->hashed) {
                EVP_DigestUpdate(r->sha, r->pend + r->hashed, safe - r->hashed);
                r->hashed = safe;
            }
            r->scanned = r->plen > dlen ? r->plen - dlen : 0;
            return CG_OK;
        }
        case MIME_EPILOGUE:
            r->epilogue += r->plen;
            r->plen = 0;
            if (r->epilogue > r->limits.max_header + 1024)
                return reader_fail(r, err, CG_ETOOBIG, "too many bytes after the closing delimiter");
            return CG_OK;
        case MIME_FAILED:
            return cg_err_set(err, CG_EINVAL, "MIME: the body was refused earlier");
        }
    }
}

int cg_mime_reader_feed(cg_mime_reader *r, const void *data, size_t len, cg_err *err)
{
    if (r->state == MIME_FAILED)
        return cg_err_set(err, CG_EINVAL, "MIME: the body was refused earlier");
    if (len == 0)
        return CG_OK;
    if (r->state == MIME_EPILOGUE) {
        r->epilogue += len;
        if (r->epilogue > r->limits.max_header + 1024)
            return reader_fail(r, err, CG_ETOOBIG, "too many bytes after the closing delimiter");
        return CG_OK;
    }
    if (r->plen + len > r->pcap) {
        size_t cap = r->pcap ? r->pcap : 4096;
        while (cap < r->plen + len)
            cap *= 2;
        r->pend = cg_xrealloc(r->pend, cap);
        r->pcap = cap;
    }
    memcpy(r->pend + r->plen, data, len);
    r->plen += len;
    return reader_run(r, err);
}

int cg_mime_reader_finish(cg_mime_reader *r, cg_mime_message *out, cg_err *err)
{
    memset(out, 0, sizeof(*out));
    if (r->state == MIME_FAILED)
        return cg_err_set(err, CG_EINVAL, "MIME: the body was refused earlier");
    if (r->state != MIME_EPILOGUE) {
        const char *where = r->state == MIME_PREAMBLE ? "no delimiter line with the boundary"
                                                        : "no closing delimiter (truncated body)";
        return reader_fail(r, err, CG_EINVAL, where);
    }
    if (!r->have_root) {
        r->state = MIME_FAILED;
        if (r->start)
            return cg_err_set(err, CG_EINVAL, "MIME: no part has the start Content-ID <%s>",
                              r->start);
        return cg_err_set(err, CG_EINVAL, "MIME: the body has no parts");
    }
    /* hand every buffer to the pool */
    cg_pool_cleanup(r->pool, free, r->root_data);
    r->root_data = NULL;
    cg_part *parts = r->nparts ? cg_pool_alloc(r->pool, r->nparts * sizeof(*parts)) : NULL;
    for (size_t i = 0; i < r->nparts; i++) {
        parts[i] = r->parts[i];
        cg_pool_cleanup(r->pool, free, r->held[i]);
        r->held[i] = NULL;
    }
    r->msg.parts = parts;
    r->msg.nparts = r->nparts;
    r->nparts = 0;
    *out = r->msg;
    return CG_OK;
}
