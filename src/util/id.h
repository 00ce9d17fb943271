/* id: identifiers cdagate makes up: UUIDs (entryUUIDs, MessageIDs, MIME content ids) and OIDs.
 * Owns: random version-4 and time-ordered version-7 UUIDs from the OpenSSL CSPRNG, the 2.25 OID form of a UUID, and
 * syntax checks for OIDs and UUID URNs. Does not own: which id a protocol wants where. */
#ifndef CG_UTIL_ID_H
#define CG_UTIL_ID_H

#include <stddef.h>

#define CG_UUID_URN_LEN 45 /* "urn:uuid:" + 36 */
#define CG_OID_MAX 64

/* "urn:uuid:xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" and a NUL. */
void cg_id_uuid_urn(char out[CG_UUID_URN_LEN + 1]);
/* The same form, version 7 (RFC 9562): the first 48 bits are the Unix time in milliseconds, the
 * rest random (74 bits). Ids made one after another sort together, so the store's indexes on
 * entryUUIDs take them near their end instead of at random pages. */
void cg_id_uuid7_urn(char out[CG_UUID_URN_LEN + 1]);
/* A new OID "2.25.<128-bit decimal>" (ITU-T X.667) and a NUL. */
void cg_id_oid(char out[CG_OID_MAX + 1]);
/* 1 when s is an OID (digits and dots, no leading zeros in arcs, first arc 0-2, at most 64 chars). */
int cg_id_is_oid(const char *s);
/* 1 when s is "urn:uuid:" followed by a well-formed UUID (any case). */
int cg_id_is_uuid_urn(const char *s);

#endif
