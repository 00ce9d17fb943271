/* cmd_patient: `cdagate patient add|list`: the registry's known patients, for operators. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "registry/registry.h"
#include "store/store.h"

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: cdagate patient add --data-dir DIR PATIENT_ID...\n"
            "       cdagate patient list --data-dir DIR\n"
            "\n"
            "PATIENT_ID is an HL7 CX with an ISO assigning authority: 'ID^^^&OID&ISO'.\n"
            "The registry refuses submissions for patients it does not know (XDSUnknownPatientId)\n"
            "unless registry.check_patients is false. A running server sees additions at once.\n");
}

static int
print_patient(void *ctx, const char *patient_id, const char *added_at)
{
    (void)ctx;
    printf("%s\t%s\n", patient_id, added_at);
    return 0;
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
    if (!data_dir || (!is_add && !is_list) || (is_add && nargs < 1) || (is_list && nargs != 0)) {
        usage(stderr);
        return 2;
    }
    cg_err err;
    cg_err_init(&err);
    for (int i = 0; is_add && i < nargs; i++) {
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
    if (is_list && cg_store_patient_list(store, print_patient, NULL, &err) < 0) {
        fprintf(stderr, "cdagate patient: %s\n", err.msg);
        rc = 2;
    }
    cg_store_free(store);
    return rc;
}
