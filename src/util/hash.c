/* hash: see hash.h. */
#define _POSIX_C_SOURCE 200809L
#include "util/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
to_hex(char *out, const unsigned char *md, unsigned len)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < len; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * len] = '\0';
}

void
cg_sha256_init(cg_sha256 *h)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        fprintf(stderr, "cdagate: EVP_DigestInit_ex(sha256) failed; exiting\n");
        abort();
    }
    h->md = ctx;
}

void
cg_sha256_update(cg_sha256 *h, const void *data, size_t len)
{
    EVP_DigestUpdate(h->md, data, len);
}

void
cg_sha256_final(cg_sha256 *h, char out[CG_SHA256_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(h->md, md, &len);
    EVP_MD_CTX_free(h->md);
    h->md = NULL;
    to_hex(out, md, len);
}

void
cg_sha256_hex(char out[CG_SHA256_HEX_LEN + 1], const void *data, size_t len)
{
    cg_sha256 h;
    cg_sha256_init(&h);
    cg_sha256_update(&h, data, len);
    cg_sha256_final(&h, out);
}

int
cg_sha256_file(char out[CG_SHA256_HEX_LEN + 1], const char *path, cg_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cg_err_set(err, errno == ENOENT ? CG_ENOTFOUND : CG_EIO, "open(%s): %s", path,
                          strerror(errno));
    cg_sha256 h;
    cg_sha256_init(&h);
    unsigned char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            cg_sha256_final(&h, out);
            close(fd);
            return cg_err_set(err, CG_EIO, "read(%s): %s", path, strerror(e));
        }
        if (n == 0)
            break;
        cg_sha256_update(&h, chunk, (size_t)n);
    }
    close(fd);
    cg_sha256_final(&h, out);
    return CG_OK;
}
