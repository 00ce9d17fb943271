/* fuzz: the set-up the targets share (see fuzz.h). */
#define _POSIX_C_SOURCE 200809L
#include "fuzz.h"

#include <libxml/xmlerror.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/store.h"
#include "util/alloc.h"
#include "xml/parse.h"

static void
quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

void
cg_fuzz_init(void)
{
    static int done;
    if (done++)
        return;
    cg_xml_init();
    xmlSetGenericErrorFunc(NULL, quiet);
}

cg_registry *
cg_fuzz_registry(void)
{
    static cg_registry *reg;
    static char *dir; /* kept: the store may refer to it */
    if (reg)
        return reg;
    const char *tmp = getenv("TMPDIR");
    dir = cg_xasprintf("%s/cdagate-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
    cg_store_config sc = {
        .data_dir = dir, .readers = 1, .commit_batch = 1, .busy_timeout_ms = 5000};
    cg_store *store = NULL;
    cg_err err;
    cg_err_init(&err);
    if (cg_store_open(&store, &sc, &err) != CG_OK) {
        fprintf(stderr, "fuzz: cg_store_open(%s): %s\n", dir, err.msg);
        exit(2);
    }
    cg_registry_config rc;
    cg_registry_config_default(&rc);
    rc.multi_patient_queries = 1;
    reg = cg_registry_new(store, &rc);
    return reg;
}
