/* fuzz_render: the C-CDA renderer (render/render): a document parsed through xml/parse, the
 * renderer stylesheet run under its security preferences, the allow-list pass over the page.
 * Input: the bytes of a C-CDA document. The stylesheet is read from $CDAGATE_XSLT_DIR (else the
 * installed copy, else the source tree's), compiled once. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "render/render.h"
#include "util/buf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cg_fuzz_init();
    static cg_render *r;
    cg_err err;
    cg_err_init(&err);
    if (r == NULL && cg_render_open(&r, NULL, &err) != CG_OK) {
        fprintf(stderr, "fuzz_render: %s\n", err.msg);
        exit(2);
    }
    cg_xml_limits lim;
    cg_xml_limits_default(&lim);
    lim.max_bytes = 1 << 20;
    cg_render_options opt = {
        .lang = NULL, .mask_ids = size > 0 && (data[0] & 1), .css_nonce = "bm9uY2U="};
    cg_buf out;
    cg_buf_init(&out, 16 << 20);
    cg_render_bytes(r, (const char *)data, size, "fuzz.xml", &lim, &opt, &out, &err);
    cg_buf_dispose(&out);
    return 0;
}
