/* base64: decoding base64 text (RFC 4648), as MTOM parts and inline XDS documents carry it, and
 * hexadecimal digits (%-escapes in URLs and cid: references, HL7 v2 \Xhh\ escapes).
 * Owns: the alphabet (standard and URL-safe), ignoring line breaks and spaces, padding rules.
 * Does not own: where the text comes from or size limits (callers bound the input). */
#ifndef CG_UTIL_BASE64_H
#define CG_UTIL_BASE64_H

#include <stddef.h>

#define CG_BASE64_INVALID ((size_t)-1)

/* Decodes len characters of in into out (which may be in itself: decoding never overtakes the
 * reading). out needs len / 4 * 3 + 3 bytes. Returns the decoded length, or CG_BASE64_INVALID
 * for a character outside the alphabet, data after padding, or a bad length. */
size_t cg_base64_decode(unsigned char *out, const unsigned char *in, size_t len);

/* The value of one hexadecimal digit (either case), or -1 for any other character. */
int cg_hex_value(int c);

#endif
