/* hl7v2/message: one HL7 v2 message parsed within limits (see message.h).
 *
 * The message's bytes are copied once; segment ends and field separators in the copy become NUL
 * bytes, and each segment keeps an array of pointers to its fields. Repetitions, components and
 * subcomponents are found on demand in a field's raw text, and unescaped only then: an escaped
 * delimiter (\S\ ...) never splits anything. */
#include "hl7v2/message.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/base64.h"

void
cg_hl7_limits_default(cg_hl7_limits *out)
{
    out->max_bytes = (size_t)1 << 20;
    out->max_segments = 1000;
    out->max_fields = 256;
}

static int
is_delim_char(unsigned char c)
{
    /* printable, not a letter, digit or space: what HL7 allows as a delimiter */
    return c > 0x20 && c < 0x7f && !(c >= '0' && c <= '9') && !(c >= 'A' && c <= 'Z') &&
           !(c >= 'a' && c <= 'z');
}

/* The delimiters of "MSH|^~\&|...": CG_OK, or CG_EINVAL with the reason. */
static int
read_delims(cg_hl7_delims *d, const char *p, size_t len, cg_err *err)
{
    if (len < 8 || memcmp(p, "MSH", 3) != 0)
        return cg_err_set(err, CG_EINVAL, "the message does not start with an MSH segment");
    d->field = p[3];
    d->comp = p[4];
    d->rep = p[5];
    d->esc = p[6];
    d->sub = p[7];
    const char c[5] = {d->field, d->comp, d->rep, d->esc, d->sub};
    for (int i = 0; i < 5; i++) {
        if (!is_delim_char((unsigned char)c[i]))
            return cg_err_set(err, CG_EINVAL,
                              "MSH-1/MSH-2: delimiter %d is not a printable punctuation character",
                              i + 1);
        for (int j = 0; j < i; j++)
            if (c[i] == c[j])
                return cg_err_set(err, CG_EINVAL, "MSH-1/MSH-2: the delimiters are not distinct");
    }
    /* MSH-2 ends at the field separator (2.7 adds a fifth, truncation, character) */
    if (len > 8 && p[8] != d->field && !(len > 9 && p[9] == d->field))
        return cg_err_set(err, CG_EINVAL, "MSH-2: the encoding characters are not followed by %c",
                          d->field);
    return CG_OK;
}

static int
is_segment_id(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

void
cg_hl7_message_dispose(cg_hl7_message *msg)
{
    if (msg == NULL)
        return;
    for (size_t i = 0; i < msg->nsegs; i++)
        free(msg->segs[i].fields);
    free(msg->segs);
    free(msg->text);
    msg->segs = NULL;
    msg->nsegs = 0;
    msg->text = NULL;
}

/* Splits one segment line (NUL-terminated in the copy) into its fields. */
static int
split_segment(cg_hl7_message *m, size_t *scap, char *line, const cg_hl7_limits *lim, int *why,
              cg_err *err)
{
    size_t len = strlen(line);
    if (len < 3 || !is_segment_id(line) || (len > 3 && line[3] != m->d.field)) {
        *why = CG_HL7_BAD_SEGMENT;
        return cg_err_set(err, CG_EINVAL, "segment %zu does not start with a segment id",
                          m->nsegs + 1);
    }
    cg_hl7_segment seg;
    memset(&seg, 0, sizeof seg);
    memcpy(seg.id, line, 3);
    size_t cap = 0;
    int msh = strcmp(seg.id, "MSH") == 0;
    seg.fields = cg_xgrow(NULL, &cap, 8, sizeof(*seg.fields));
    line[3] = '\0';
    seg.fields[seg.nfields++] = line;
    if (msh)
        seg.fields[seg.nfields++] = m->text; /* MSH-1: the separator, as a string */
    char *p = len > 3 ? line + 4 : NULL;
    while (p) {
        if (seg.nfields >= lim->max_fields) {
            free(seg.fields);
            *why = CG_HL7_TOO_BIG;
            return cg_err_set(err, CG_ETOOBIG, "segment %zu (%s) has more than %zu fields",
                              m->nsegs + 1, seg.id, lim->max_fields);
        }
        char *next = strchr(p, m->d.field);
        if (next)
            *next++ = '\0';
        seg.fields = cg_xgrow(seg.fields, &cap, seg.nfields + 1, sizeof(*seg.fields));
        seg.fields[seg.nfields++] = p;
        p = next;
    }
    m->segs = cg_xgrow(m->segs, scap, m->nsegs + 1, sizeof(*m->segs));
    m->segs[m->nsegs++] = seg;
    return CG_OK;
}

int
cg_hl7_parse(cg_hl7_message *out, const char *data, size_t len, const cg_hl7_limits *lim, int *why,
             cg_err *err)
{
    assert(out && (data || len == 0) && why);
    cg_hl7_limits def;
    if (lim == NULL) {
        cg_hl7_limits_default(&def);
        lim = &def;
    }
    memset(out, 0, sizeof(*out));
    *why = 0;
    if (len > lim->max_bytes) {
        *why = CG_HL7_TOO_BIG;
        return cg_err_set(err, CG_ETOOBIG, "the message is longer than %zu bytes", lim->max_bytes);
    }
    while (len > 0 && (*data == '\r' || *data == '\n')) { /* a stray line end before MSH */
        data++;
        len--;
    }
    if (read_delims(&out->d, data, len, err) != CG_OK) {
        memset(&out->d, 0, sizeof out->d);
        *why = CG_HL7_BAD_MSH;
        return CG_EINVAL;
    }
    if (memchr(data, '\0', len) != NULL) {
        *why = CG_HL7_BAD_SEGMENT;
        return cg_err_set(err, CG_EINVAL, "the message contains a NUL byte");
    }
    /* the field separator as a string (MSH-1), then the copy */
    out->text = cg_xmalloc(len + 3);
    out->text[0] = out->d.field;
    out->text[1] = '\0';
    memcpy(out->text + 2, data, len);
    out->text[len + 2] = '\0';
    int rc = CG_OK;
    size_t scap = 0;
    char *p = out->text + 2;
    char *end = p + len;
    while (p < end) {
        size_t n = strcspn(p, "\r\n");
        p[n] = '\0';
        if (n > 0) {
            if (out->nsegs >= lim->max_segments) {
                *why = CG_HL7_TOO_BIG;
                rc = cg_err_set(err, CG_ETOOBIG, "the message has more than %zu segments",
                                lim->max_segments);
                break;
            }
            if ((rc = split_segment(out, &scap, p, lim, why, err)) != CG_OK)
                break;
        }
        p += n + 1;
    }
    if (rc != CG_OK) {
        cg_hl7_delims d = out->d;
        cg_hl7_message_dispose(out);
        out->d = d;
    }
    return rc;
}

const cg_hl7_segment *
cg_hl7_segment_find(const cg_hl7_message *msg, const char *id, size_t nth)
{
    assert(msg && id && nth >= 1);
    for (size_t i = 0; i < msg->nsegs; i++)
        if (strcmp(msg->segs[i].id, id) == 0 && --nth == 0)
            return &msg->segs[i];
    return NULL;
}

const char *
cg_hl7_field(const cg_hl7_segment *seg, size_t n)
{
    if (seg == NULL || n >= seg->nfields)
        return "";
    return seg->fields[n];
}

/* The nth (from 1) piece of [s, s + len) split on c: its start and length; 0 when absent. */
static int
piece(const char *s, size_t len, char c, size_t nth, const char **out, size_t *outlen)
{
    const char *end = s + len;
    for (size_t i = 1;; i++) {
        const char *q = memchr(s, c, (size_t)(end - s));
        const char *stop = q ? q : end;
        if (i == nth) {
            *out = s;
            *outlen = (size_t)(stop - s);
            return 1;
        }
        if (q == NULL)
            return 0;
        s = q + 1;
    }
}

size_t
cg_hl7_repetitions(const cg_hl7_message *msg, const char *raw)
{
    if (raw == NULL || *raw == '\0')
        return 0;
    size_t n = 1;
    for (const char *p = raw; *p; p++)
        if (*p == msg->d.rep)
            n++;
    return n;
}

int
cg_hl7_get(char *out, size_t cap, const cg_hl7_message *msg, const char *raw, size_t rep,
           size_t comp, size_t sub)
{
    assert(out && cap > 0 && msg && raw && rep >= 1 && comp >= 1);
    out[0] = '\0';
    const char *s;
    size_t n;
    if (!piece(raw, strlen(raw), msg->d.rep, rep, &s, &n) ||
        !piece(s, n, msg->d.comp, comp, &s, &n) ||
        (sub > 0 && !piece(s, n, msg->d.sub, sub, &s, &n)))
        return 0;
    return cg_hl7_unescape(out, cap, &msg->d, s, n);
}

int
cg_hl7_unescape(char *out, size_t cap, const cg_hl7_delims *d, const char *raw, size_t len)
{
    assert(out && cap > 0 && d && (raw || len == 0));
    size_t o = 0;
#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (o + 1 >= cap) {                                                                        \
            out[0] = '\0';                                                                         \
            return -1;                                                                             \
        }                                                                                          \
        out[o++] = (ch);                                                                           \
    } while (0)
    for (size_t i = 0; i < len; i++) {
        const char *close = raw[i] == d->esc ? memchr(raw + i + 1, d->esc, len - i - 1) : NULL;
        if (close == NULL) {
            PUT(raw[i]);
            continue;
        }
        const char *seq = raw + i + 1;
        size_t n = (size_t)(close - seq);
        char one = 0;
        if (n == 1) {
            switch (*seq) {
            case 'F': one = d->field; break;
            case 'S': one = d->comp; break;
            case 'T': one = d->sub; break;
            case 'R': one = d->rep; break;
            case 'E': one = d->esc; break;
            default: break;
            }
        }
        if (one) {
            PUT(one);
        } else if (n >= 3 && *seq == 'X' && (n - 1) % 2 == 0) {
            size_t k;
            for (k = 1; k < n && cg_hex_value(seq[k]) >= 0; k++)
                ;
            if (k < n) { /* not hex after all: kept as it is */
                for (size_t j = i; j <= (size_t)(close - raw); j++)
                    PUT(raw[j]);
            } else {
                for (k = 1; k < n; k += 2) {
                    char byte = (char)(cg_hex_value(seq[k]) * 16 + cg_hex_value(seq[k + 1]));
                    PUT(byte == '\0' ? ' ' : byte);
                }
            }
        } else { /* formatting (\.br\ \H\ ...) or unknown: kept as it is */
            for (size_t j = i; j <= (size_t)(close - raw); j++)
                PUT(raw[j]);
        }
        i = (size_t)(close - raw);
    }
#undef PUT
    out[o] = '\0';
    return (int)o;
}

int
cg_hl7_escape(cg_buf *buf, const cg_hl7_delims *d, const char *text)
{
    assert(buf && d && text);
    int rc = 0;
    for (const char *p = text; *p && rc == 0; p++) {
        char e = *p == d->field  ? 'F'
                 : *p == d->comp ? 'S'
                 : *p == d->sub  ? 'T'
                 : *p == d->rep  ? 'R'
                 : *p == d->esc  ? 'E'
                                 : 0;
        if (e) {
            char seq[3] = {d->esc, e, d->esc};
            rc = cg_buf_append(buf, seq, 3);
        } else {
            rc = cg_buf_putc(buf, *p == '\r' || *p == '\n' ? ' ' : *p);
        }
    }
    return rc;
}
