/* format: the value shapes of XDS metadata (ITI TF-3 4.2.3 data types).
 * Owns: syntax checks for DTM, HL7 CX patient ids, OIDs-with-extension, SHA-1 hex, sizes,
 * RFC 5646 language tags and MIME types. Does not own: which attribute needs which shape
 * (registry/rules) or the OID and UUID syntax itself (util/id). Each returns 1 when s fits. */
#ifndef CG_REGISTRY_FORMAT_H
#define CG_REGISTRY_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

#define CG_FORMAT_UNIQUE_ID_MAX 128 /* a DocumentEntry uniqueId: OID (64) ^ extension (16) */
#define CG_FORMAT_EXTENSION_MAX 16
#define CG_FORMAT_PATIENT_ID_MAX 256 /* a bound of ours: XDS sets none */

/* YYYY[MM[DD[hh[mm[ss]]]]], each part in its range (Feb 29 only in leap years). */
int cg_format_is_dtm(const char *s);
/* "ID^^^&OID&ISO" exactly: the form XDS requires for patientId. */
int cg_format_is_cx(const char *s);
/* The same, saying why not into why (NUL-terminated, cut to whylen) when it returns 0. */
int cg_format_cx_why(const char *s, char *why, size_t whylen);
/* "ID^^^AUTHORITY[^...]": the lighter shape accepted for sourcePatientId, whose assigning
 * authority is the source's own and need not be an ISO OID. */
int cg_format_is_cx_light(const char *s);
/* OID, or OID^extension with an extension of 1..16 printable characters, 128 at most. */
int cg_format_is_oid_ext(const char *s);
/* 40 hexadecimal digits (either case). */
int cg_format_is_sha1(const char *s);
/* Decimal digits for a non-negative 64-bit size. */
int cg_format_is_size(const char *s);
/* An RFC 5646 tag's shape: "en", "en-US", "zh-Hant-TW", "x-private", "i-klingon". */
int cg_format_is_language(const char *s);
/* "type/subtype" of RFC 2045 tokens, without parameters. */
int cg_format_is_mime(const char *s);

/* Formats a message into out (size > 0) like snprintf, cutting a value too long for it back to
 * the last whole UTF-8 character: messages quote submitted values and must stay valid text. */
void cg_format_message(char *out, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif
