/* hash: SHA-256 and SHA-1 digests as lowercase hex.
 * Owns: digest computation over buffers, files and incremental input. Does not own: which
 * digest a protocol demands (callers choose). */
#ifndef CG_UTIL_HASH_H
#define CG_UTIL_HASH_H

#include <stddef.h>

#include "util/err.h"

#define CG_SHA256_HEX_LEN 64

typedef struct cg_sha256 {
    void *md; /* EVP_MD_CTX */
} cg_sha256;

void cg_sha256_init(cg_sha256 *h);
void cg_sha256_update(cg_sha256 *h, const void *data, size_t len);
/* Writes 64 hex digits and a NUL into out, and disposes of the context. */
void cg_sha256_final(cg_sha256 *h, char out[CG_SHA256_HEX_LEN + 1]);
void cg_sha256_hex(char out[CG_SHA256_HEX_LEN + 1], const void *data, size_t len);
int cg_sha256_file(char out[CG_SHA256_HEX_LEN + 1], const char *path, cg_err *err);

#endif
