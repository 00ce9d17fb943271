/* rbench: documents per second through the renderer, beside a plain parse of the same documents
 * in the same run. Usage: rbench XSLT_DIR ROUNDS FILE...
 * Each round, for every document (read into memory once, before timing):
 *   parse   cg_xml_parse (the safe parse path), then free
 *   render  cg_xml_parse + cg_render_doc (the stylesheet compiled once, before timing), then free
 * The two are interleaved round by round so that drift hits both alike; prints one line each:
 *   NAME docs/s ms/doc   and the ratio. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "render/render.h"
#include "util/fs.h"
#include "xml/parse.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: rbench XSLT_DIR ROUNDS FILE...\n");
        return 2;
    }
    cg_xml_init();
    cg_err err;
    cg_err_init(&err);
    cg_render *r = NULL;
    if (cg_render_open(&r, argv[1], &err) != CG_OK) {
        fprintf(stderr, "rbench: %s\n", err.msg);
        return 2;
    }
    int rounds = (int)strtol(argv[2], NULL, 10);
    int n = argc - 3;
    char **data = calloc((size_t)n, sizeof *data);
    size_t *len = calloc((size_t)n, sizeof *len);
    size_t bytes = 0, html_bytes = 0;
    for (int i = 0; i < n; i++) {
        cg_err_init(&err);
        if (cg_fs_read(&data[i], &len[i], argv[i + 3], CG_XML_DEFAULT_MAX_BYTES, &err) != CG_OK) {
            fprintf(stderr, "rbench: %s\n", err.msg);
            return 2;
        }
        bytes += len[i];
    }
    double t_parse = 0, t_render = 0;
    for (int k = 0; k < rounds; k++) {
        double t0 = now();
        for (int i = 0; i < n; i++) {
            xmlDocPtr doc = NULL;
            cg_err_init(&err);
            if (cg_xml_parse(&doc, data[i], len[i], argv[i + 3], NULL, &err) != CG_OK) {
                fprintf(stderr, "rbench: %s\n", err.msg);
                return 1;
            }
            xmlFreeDoc(doc);
        }
        double t1 = now();
        for (int i = 0; i < n; i++) {
            cg_buf out;
            cg_buf_init(&out, CG_RENDER_MAX_HTML);
            cg_err_init(&err);
            if (cg_render_bytes(r, data[i], len[i], argv[i + 3], NULL, NULL, &out, &err) != CG_OK) {
                fprintf(stderr, "rbench: %s\n", err.msg);
                return 1;
            }
            if (k == 0)
                html_bytes += out.len;
            cg_buf_dispose(&out);
        }
        t_render += now() - t1;
        t_parse += t1 - t0;
    }
    double docs = (double)n * rounds;
    printf("documents %d (%.1f MB XML, %.1f MB HTML), rounds %d\n", n, (double)bytes / 1e6,
           (double)html_bytes / 1e6, rounds);
    printf("parse          %8.1f docs/s  %7.2f ms/doc\n", docs / t_parse, 1000 * t_parse / docs);
    printf("parse+render   %8.1f docs/s  %7.2f ms/doc\n", docs / t_render, 1000 * t_render / docs);
    printf("render costs %.1f x a plain parse\n", t_render / t_parse);
    for (int i = 0; i < n; i++)
        free(data[i]);
    free(data);
    free(len);
    cg_render_free(r);
    cg_xml_cleanup();
    return 0;
}
