/* cmd_profile: `cdagate profile install NAME --from DIR` and `cdagate profile list`. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "util/alloc.h"
#include "validate/profile.h"

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: cdagate profile install NAME --from DIR [--manifest FILE] [--profile-dir DIR]\n"
            "       cdagate profile list [--profile-dir DIR]\n"
            "\n"
            "install  checks every file the profile's manifest names under DIR against its SHA-256,\n"
            "         copies them into the profile directory, compiles the Schematron and caches it.\n"
            "list     shows the installed profiles.\n"
            "\n"
            "The profile directory is --profile-dir, else $CDAGATE_PROFILE_DIR, else %s.\n",
            cg_profile_dir(NULL));
}

int
cg_cmd_profile(int argc, char **argv)
{
    static const struct option longopts[] = {{"from", required_argument, NULL, 'f'},
                                             {"manifest", required_argument, NULL, 'm'},
                                             {"profile-dir", required_argument, NULL, 'd'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *from = NULL, *manifest = NULL, *dir_arg = NULL;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    optind = 1;
    int c;
    while ((c = getopt_long(argc - 1, argv + 1, "f:m:d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': from = optarg; break;
        case 'm': manifest = optarg; break;
        case 'd': dir_arg = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    int nargs = argc - 1 - optind;
    char **args = argv + 1 + optind;
    const char *dir = cg_profile_dir(dir_arg);
    cg_err err;
    cg_err_init(&err);
    if (strcmp(verb, "list") == 0) {
        if (nargs != 0) {
            usage(stderr);
            return 2;
        }
        int n = cg_profile_list(stdout, dir, &err);
        if (n < 0) {
            fprintf(stderr, "cdagate: %s\n", err.msg);
            return 2;
        }
        if (n == 0)
            printf("no validation profiles installed in %s\n", dir);
        return 0;
    }
    if (strcmp(verb, "install") == 0) {
        if (nargs != 1 || from == NULL) {
            usage(stderr);
            return 2;
        }
        char *mpath = manifest ? cg_xstrdup(manifest) : cg_profile_find_manifest(args[0]);
        if (mpath == NULL) {
            fprintf(stderr, "cdagate: no manifest for a profile named '%s' (give one with --manifest)\n",
                    args[0]);
            return 2;
        }
        cg_install_stats st;
        int rc = cg_profile_install(dir, mpath, from, &st, &err);
        free(mpath);
        if (rc != 0) {
            fprintf(stderr, "cdagate: profile install %s: %s\n", args[0], err.msg);
            fprintf(stderr, "cdagate: nothing was installed\n");
            return 2;
        }
        printf("installed profile %s in %s/%s: %zu files (%llu bytes) verified\n", args[0], dir,
               args[0], st.files, st.bytes);
        if (st.sch.patterns)
            printf("compiled Schematron: %u patterns, %u rules, %u asserts, %u reports; %u rules "
                   "indexed, %u scanned; %u value-set look-ups inlined; %.2f s\n",
                   st.sch.patterns, st.sch.rules, st.sch.asserts, st.sch.reports,
                   st.sch.keyed_rules, st.sch.scanned_rules, st.sch.inlined_lookups,
                   st.compile_seconds);
        return 0;
    }
    fprintf(stderr, "cdagate: profile: '%s' is not a verb (install, list)\n", verb);
    return 2;
}
