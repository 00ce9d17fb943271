/* cmd_patient: `cdagate patient add|list|merge`: the registry's known patients, for operators. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "registry/registry.h"
#include "store/store.h"
#include "util/alloc.h"

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: cdagate patient add --data-dir DIR PATIENT_ID...\n"
            "       cdagate patient list --data-dir DIR\n"
            "       cdagate patient merge --data-dir DIR SURVIVING_ID SUBSUMED_ID\n"
            "\n"
            "PATIENT_ID is an HL7 CX with an ISO assigning authority: 'ID^^^&OID&ISO'.\n"
            "The registry refuses submissions for patients it does not know (XDSUnknownPatientId)\n"
            "unless registry.check_patients is false. A running server sees additions at once.\n"
            "merge does what an HL7 ADT^A40 does on the patient identity feed: SUBSUMED_ID is\n"
            "merged into SURVIVING_ID (added when unknown); submissions for SUBSUMED_ID are then\n"
            "refused, naming SURVIVING_ID. list shows merged ids as 'ID merged into ID2'.\n");
}

/* The merged ids, ordered by subsumed id (as the patients are listed). */
typedef struct merges {
    char **subsumed, **surviving;
    size_t n, cap;
    size_t next; /* the next one to print */
} merges;

static int
collect_merge(void *ctx, const char *subsumed, const char *surviving, const char *merged_at)
{
    merges *m = ctx;
    (void)merged_at;
    size_t cap = m->cap;
    m->subsumed = cg_xgrow(m->subsumed, &cap, m->n + 1, sizeof(*m->subsumed));
    cap = m->cap;
    m->surviving = cg_xgrow(m->surviving, &cap, m->n + 1, sizeof(*m->surviving));
    m->cap = cap;
    m->subsumed[m->n] = cg_xstrdup(subsumed);
    m->surviving[m->n] = cg_xstrdup(surviving);
    m->n++;
    return 0;
}

static int
print_patient(void *ctx, const char *patient_id, const char *added_at)
{
    merges *m = ctx;
    while (m->next < m->n && strcmp(m->subsumed[m->next], patient_id) < 0)
        m->next++;
    if (m->next < m->n && strcmp(m->subsumed[m->next], patient_id) == 0)
        printf("%s merged into %s\t%s\n", patient_id, m->surviving[m->next], added_at);
    else
        printf("%s\t%s\n", patient_id, added_at);
    return 0;
}

static void
merges_dispose(merges *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->subsumed[i]);
        free(m->surviving[i]);
    }
    free(m->subsumed);
    free(m->surviving);
}

int
cg_cmd_patient(int argc, char **argv)
{
    static const struct option longopts[] = {{"data-dir", required_argument, NULL, 'd'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    const char *data_dir = NULL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc - 1, argv + 1, "d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': data_dir = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    int nargs = argc - 1 - optind;
    char **args = argv + 1 + optind;
    int is_add = strcmp(verb, "add") == 0, is_list = strcmp(verb, "list") == 0;
    int is_merge = strcmp(verb, "merge") == 0;
    if (!data_dir || (!is_add && !is_list && !is_merge) || (is_add && nargs < 1) ||
        (is_list && nargs != 0) || (is_merge && nargs != 2)) {
        usage(stderr);
        return 2;
    }
    cg_err err;
    cg_err_init(&err);
    for (int i = 0; (is_add || is_merge) && i < nargs; i++) {
        char why[256];
        if (cg_registry_patient_id_check(args[i], why, sizeof(why)) != CG_OK) {
            fprintf(stderr, "cdagate patient: '%s': %s\n", args[i], why);
            return 2;
        }
    }
    cg_store *store = NULL;
    cg_store_config sc = {.data_dir = data_dir, .readers = 1, .commit_batch = 1, .busy_timeout_ms = 10000};
    if (cg_store_open(&store, &sc, &err) != CG_OK) {
        fprintf(stderr, "cdagate patient: %s\n", err.msg);
        return 2;
    }
    int rc = 0;
    for (int i = 0; is_add && i < nargs; i++) {
        if (cg_store_patient_add(store, args[i], &err) != CG_OK) {
            fprintf(stderr, "cdagate patient: %s\n", err.msg);
            rc = 2;
            break;
        }
        printf("added %s\n", args[i]);
    }
    if (is_merge) {
        int mrc = cg_store_patient_merge(store, args[0], args[1], &err);
        if (mrc == CG_OK) {
            printf("merged %s into %s\n", args[1], args[0]);
        } else {
            fprintf(stderr, "cdagate patient: %s\n", err.msg);
            rc = mrc == CG_EIO ? 2 : 1;
        }
    }
    merges m;
    memset(&m, 0, sizeof m);
    if (is_list && (cg_store_patient_merges(store, collect_merge, &m, &err) < 0 ||
                    cg_store_patient_list(store, print_patient, &m, &err) < 0)) {
        fprintf(stderr, "cdagate patient: %s\n", err.msg);
        rc = 2;
    }
    merges_dispose(&m);
    cg_store_free(store);
    return rc;
}
