/* fuzz_mime: the MTOM/MIME reader (transport/mime) on hostile bodies.
 * Input: the HTTP Content-Type on the first line, the body after it. The body is fed in chunks
 * whose sizes come from the body's own bytes, so that boundaries split across reads are tried
 * as well; then the Content-Type parameter helpers run on the first line. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "transport/mime.h"
#include "util/alloc.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cg_fuzz_init();
    const char *nl = memchr(data, '\n', size);
    if (nl == NULL)
        return 0;
    size_t ctlen = (size_t)(nl - (const char *)data);
    char *ct = cg_xstrndup((const char *)data, ctlen);
    const uint8_t *body = (const uint8_t *)nl + 1;
    size_t len = size - ctlen - 1;
    cg_pool *pool = cg_pool_new(0);
    cg_mime_limits lim = {
        .max_root = 1 << 16, .max_part = 1 << 16, .max_parts = 8, .max_header = 1024};
    cg_err err;
    cg_err_init(&err);
    cg_mime_reader *r = NULL;
    if (cg_mime_reader_new(&r, ct, &lim, pool, &err) == CG_OK) {
        int rc = CG_OK;
        size_t off = 0;
        while (off < len && rc == CG_OK) {
            size_t step = 1 + body[off] % 61;
            if (step > len - off)
                step = len - off;
            rc = cg_mime_reader_feed(r, body + off, step, &err);
            off += step;
        }
        cg_mime_message msg;
        if (rc == CG_OK && cg_mime_reader_finish(r, &msg, &err) == CG_OK) {
            /* what the request layer then reads: every part's id, type and bytes */
            size_t sum = msg.root_len;
            for (size_t i = 0; i < msg.nparts; i++) {
                sum += msg.parts[i].len + strlen(msg.parts[i].sha1);
                if (msg.parts[i].content_id)
                    sum += strlen(msg.parts[i].content_id);
                if (msg.parts[i].len)
                    sum += msg.parts[i].data[msg.parts[i].len - 1];
            }
            if (msg.root[msg.root_len] != '\0' || sum == (size_t)-1)
                __builtin_trap();
        }
        cg_mime_reader_free(r);
    }
    (void)cg_mime_type(pool, ct);
    (void)cg_mime_param(pool, ct, "boundary");
    (void)cg_mime_param(pool, ct, "start");
    (void)cg_mime_cid(pool, ct);
    cg_pool_free(pool);
    free(ct);
    return 0;
}
