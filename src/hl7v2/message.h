/* hl7v2/message: one HL7 v2 message (ER7, the "pipe and hat" encoding), parsed within limits.
 * Owns: splitting a message into segments (CR, LF or CRLF) and fields, the delimiters MSH-1 and
 * MSH-2 declare, repetitions, components and subcomponents, the escape sequences (\F\ \S\ \T\
 * \R\ \E\ \Xhh\), the size, segment and field limits, and escaping values for an answer.
 * Does not own: what a message means (svc/pif: ITI-8), the MLLP framing (transport/mllp). */
#ifndef CG_HL7V2_MESSAGE_H
#define CG_HL7V2_MESSAGE_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

typedef struct cg_hl7_limits {
    size_t max_bytes;    /* the whole message (default 1 MiB) */
    size_t max_segments; /* segments (default 1,000) */
    size_t max_fields;   /* fields of one segment (default 256) */
} cg_hl7_limits;

void cg_hl7_limits_default(cg_hl7_limits *out);

typedef struct cg_hl7_delims {
    char field, comp, rep, esc, sub; /* | ^ ~ \ & by default */
} cg_hl7_delims;

typedef struct cg_hl7_segment {
    char id[4];     /* "MSH", "PID" ... */
    char **fields;  /* fields[n] is field n, raw (escapes kept); fields[0] is the id */
    size_t nfields; /* fields present, counting fields[0] */
} cg_hl7_segment;

typedef struct cg_hl7_message {
    cg_hl7_delims d;
    cg_hl7_segment *segs;
    size_t nsegs;
    char *text; /* the message's bytes, cut into fields */
} cg_hl7_message;

/* Why a parse failed, as an acknowledgement needs it. */
enum {
    CG_HL7_BAD_MSH = 1, /* no MSH first, or unusable delimiters: the message is rejected (AR) */
    CG_HL7_BAD_SEGMENT, /* a segment that is not an id of three letters or digits */
    CG_HL7_TOO_BIG      /* a limit was passed */
};

/* Parses len bytes (the frame's content; NUL bytes are refused). On success out owns its memory
 * (cg_hl7_message_dispose). CG_EINVAL or CG_ETOOBIG with *why set to CG_HL7_* and the message in
 * err; out is then empty, but its delimiters are set when MSH-1/2 could be read. */
int cg_hl7_parse(cg_hl7_message *out, const char *data, size_t len, const cg_hl7_limits *lim,
                 int *why, cg_err *err);
void cg_hl7_message_dispose(cg_hl7_message *msg);

/* The nth (from 1) segment with this id, NULL when there is none. */
const cg_hl7_segment *cg_hl7_segment_find(const cg_hl7_message *msg, const char *id, size_t nth);
/* Field n of a segment, raw; "" when absent. For MSH, field 1 is the field separator and field
 * 2 the encoding characters, as HL7 counts them. */
const char *cg_hl7_field(const cg_hl7_segment *seg, size_t n);
/* How many repetitions a raw field has (0 for an empty field). */
size_t cg_hl7_repetitions(const cg_hl7_message *msg, const char *raw);
/* Repetition rep (from 1), component comp (from 1) and subcomponent sub (from 1; 0: the whole
 * component) of a raw field, unescaped into out (NUL-terminated). Returns its length, 0 when
 * absent or empty, or -1 when it does not fit in cap bytes (out is then ""). */
int cg_hl7_get(char *out, size_t cap, const cg_hl7_message *msg, const char *raw, size_t rep,
               size_t comp, size_t sub);
/* Unescapes len bytes of raw text into out: \F\ \S\ \T\ \R\ \E\ become the delimiters, \Xhh..\
 * bytes; other sequences (formatting: \.br\ ...) are kept as they are. Same returns as above. */
int cg_hl7_unescape(char *out, size_t cap, const cg_hl7_delims *d, const char *raw, size_t len);
/* Appends text to buf with every delimiter escaped, and CR/LF (which would end a segment)
 * replaced by spaces. */
int cg_hl7_escape(cg_buf *buf, const cg_hl7_delims *d, const char *text);

#endif
