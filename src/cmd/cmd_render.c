/* cmd_render: `cdagate render [--lang L] [--mask-ids] FILE`: one C-CDA document as an HTML page
 * on standard output, through the same renderer the gateway's /documents/{id}/view uses. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "render/render.h"
#include "util/fs.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cdagate render [--lang L] [--mask-ids] [--max-bytes N] [--max-depth N] FILE\n"
            "\n"
            "Writes the C-CDA document FILE as one self-contained HTML page on standard output:\n"
            "its header (patient, authors, encounter, custodian, ...) and its whole narrative,\n"
            "with every link, image and embedded file checked against the renderer's allow-lists.\n"
            "Exit status: 0 rendered, 1 the file is not a well-formed, safe CDA document,\n"
            "2 usage or I/O error (unreadable file, no renderer stylesheet).\n"
            "\n"
            "  --lang      label language: en, fr, de (default: the document's, else en)\n"
            "  --mask-ids  show patient identifiers with all but their last 4 characters hidden\n"
            "  (the stylesheet is $CDAGATE_XSLT_DIR/" CG_RENDER_STYLESHEET
            " when that is set)\n");
}

static int parse_count(size_t *out, const char *s)
{
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end != '\0' || v == 0)
        return -1;
    *out = (size_t)v;
    return 0;
}

int cg_cmd_render(int argc, char **argv)
{
    static const struct option longopts[] = {{"lang", required_argument, NULL, 'l'},
                                              {"mask-ids", no_argument, NULL, 'm'},
                                              {"max-bytes", required_argument, NULL, 'B'},
                                              {"max-depth", required_argument, NULL, 'D'},
                                              {"help", no_argument, NULL, 'h'},
                                              {NULL, 0, NULL, 0}};
    cg_render_options opt = {0};
    cg_xml_limits lim;
    cg_xml_limits_default(&lim);
    lim.read_only = 1;
    size_t n;
    int c;
    while ((c = getopt_long(argc, argv, "l:mB:D:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': opt.lang = optarg; break;
        case 'm': opt.mask_ids = 1; break;
        case 'B':
            if (parse_count(&lim.max_bytes, optarg) != 0) {
                fprintf(stderr, "cdagate: render: --max-bytes: '%s' is not a size\n", optarg);
                return 2;
            }
            break;
        case 'D':
            if (parse_count(&n, optarg) != 0 || n > 100000) {
                fprintf(stderr, "cdagate: render: --max-depth: '%s' is not a depth\n", optarg);
                return 2;
            }
            lim.max_depth = (unsigned)n;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    const char *path = argv[optind];
    int status = 2;
    char *data = NULL;
    size_t len = 0;
    cg_render *r = NULL;
    cg_buf html;
    cg_buf_init(&html, CG_RENDER_MAX_HTML);
    cg_err err;
    cg_err_init(&err);
    if (cg_render_open(&r, NULL, &err) != CG_OK) {
        fprintf(stderr, "cdagate: render: %s\n", err.msg);
        goto done;
    }
    if (cg_fs_is_dir(path)) {
        fprintf(stderr, "cdagate: render: %s: is a directory (one FILE is rendered)\n", path);
        goto done;
    }
    int rc = cg_fs_read(&data, &len, path, lim.max_bytes, &err);
    if (rc == CG_ETOOBIG) {
        fprintf(stderr, "cdagate: render: %s\n", err.msg);
        status = 1;
        goto done;
    }
    if (rc != CG_OK) {
        fprintf(stderr, "cdagate: render: %s\n", err.msg);
        goto done;
    }
    rc = cg_render_bytes(r, data, len, path, &lim, &opt, &html, &err);
    if (rc != CG_OK) {
        fprintf(stderr, "cdagate: render: %s\n", err.msg);
        status = rc == CG_EIO ? 2 : 1;
        goto done;
    }
    if (fwrite(html.data, 1, html.len, stdout) != html.len || fflush(stdout) != 0) {
        fprintf(stderr, "cdagate: render: cannot write the page to standard output\n");
        goto done;
    }
    status = 0;
done:
    cg_buf_dispose(&html);
    free(data);
    cg_render_free(r);
    return status;
}
