/* cmd_validate: `cdagate validate [options] FILE|DIR...`: validates documents with N threads that
 * share one loaded profile, and prints the reports in the order the files were given. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "validate/validator.h"

#define MAX_THREADS 64
#define MAX_FILES 1000000

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: cdagate validate [--format text|json|svrl|tsv] [--phase errors|warnings|all]\n"
            "                        [--checks all|xsd|schematron|none] [--profile NAME]\n"
            "                        [--profile-dir DIR] [--max-bytes N] [--max-depth N] [-j N]\n"
            "                        FILE|DIR...\n"
            "\n"
            "Checks each C-CDA document: well-formed and safe XML (no DTD entities, bounded size and\n"
            "depth), a {urn:hl7-org:v3}ClinicalDocument root, the profile's XML Schema and its\n"
            "Schematron. A directory is searched for *.xml files. Exit status: 0 all valid,\n"
            "1 some document invalid, 2 usage or I/O error.\n"
            "\n"
            "  --format   text (default; like a compiler), json, svrl (the Schematron report),\n"
            "             tsv (severity, assert id, location: one Schematron finding a line)\n"
            "  --phase    Schematron phase: errors, warnings or all (default)\n"
            "  --checks   which checks beyond well-formedness run (default all)\n"
            "  --profile  validation profile (default %s); see `cdagate profile`\n"
            "  -j N       validate N documents at a time (default 1)\n",
            CG_PROFILE_DEFAULT);
}

typedef struct job {
    char *path;
    cg_report report;
    int rc; /* CG_OK, or why the file could not be validated */
    char msg[1024];
    int done;
} job;

typedef struct batch {
    const cg_validator_options *opt;
    job *jobs;
    size_t njobs;
    size_t next;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} batch;

static void *
worker(void *arg)
{
    batch *b = arg;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        size_t i = b->next < b->njobs ? b->next++ : b->njobs;
        pthread_mutex_unlock(&b->lock);
        if (i >= b->njobs)
            return NULL;
        job *j = &b->jobs[i];
        cg_err err;
        cg_err_init(&err);
        cg_report_init(&j->report, j->path);
        j->rc = cg_validate_file(b->opt, j->path, &j->report, &err);
        snprintf(j->msg, sizeof j->msg, "%s", err.msg);
        pthread_mutex_lock(&b->lock);
        j->done = 1;
        pthread_cond_broadcast(&b->cond);
        pthread_mutex_unlock(&b->lock);
    }
}

static int
ends_with_xml(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".xml") == 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the *.xml files under dir (recursively, sorted) to the list. */
static int
collect_dir(const char *dir, char ***list, size_t *n, size_t *cap, int depth)
{
    if (depth > 32) {
        fprintf(stderr, "cdagate: validate: %s: nested deeper than 32 directories\n", dir);
        return -1;
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "cdagate: validate: opendir(%s): %s\n", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    char **names = NULL;
    size_t nn = 0, ncap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        names = cg_xgrow(names, &ncap, nn + 1, sizeof *names);
        names[nn++] = cg_fs_join(dir, e->d_name);
    }
    closedir(d);
    if (nn > 1)
        qsort(names, nn, sizeof *names, cmp_str);
    for (size_t i = 0; i < nn; i++) {
        if (cg_fs_is_dir(names[i])) {
            if (collect_dir(names[i], list, n, cap, depth + 1) != 0)
                rc = -1;
            free(names[i]);
        } else if (ends_with_xml(names[i]) && *n < MAX_FILES) {
            *list = cg_xgrow(*list, cap, *n + 1, sizeof **list);
            (*list)[(*n)++] = names[i];
        } else
            free(names[i]);
    }
    free(names);
    return rc;
}

static int
parse_size(size_t *out, const char *s)
{
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || v == 0)
        return -1;
    if (*end == 'k' || *end == 'K')
        v <<= 10, end++;
    else if (*end == 'm' || *end == 'M')
        v <<= 20, end++;
    if (*end != '\0')
        return -1;
    *out = (size_t)v;
    return 0;
}

int
cg_cmd_validate(int argc, char **argv)
{
    static const struct option longopts[] = {{"format", required_argument, NULL, 'f'},
                                             {"phase", required_argument, NULL, 'p'},
                                             {"checks", required_argument, NULL, 'c'},
                                             {"profile", required_argument, NULL, 'P'},
                                             {"profile-dir", required_argument, NULL, 'd'},
                                             {"max-bytes", required_argument, NULL, 'B'},
                                             {"max-depth", required_argument, NULL, 'D'},
                                             {"jobs", required_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cg_format fmt = CG_FMT_TEXT;
    const char *profile_name = NULL, *dir_arg = NULL;
    long threads = 1;
    cg_validator_options opt;
    cg_validator_options_default(&opt);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:p:c:P:d:B:D:j:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (cg_format_parse(&fmt, optarg) != 0) {
                fprintf(stderr, "cdagate: validate: unknown format '%s'\n", optarg);
                return 2;
            }
            break;
        case 'p':
            if (strcmp(optarg, "all") == 0 || strcmp(optarg, "#ALL") == 0)
                opt.phase = "#ALL";
            else if (strcmp(optarg, "errors") == 0 || strcmp(optarg, "warnings") == 0)
                opt.phase = optarg;
            else {
                fprintf(stderr, "cdagate: validate: phase must be errors, warnings or all\n");
                return 2;
            }
            break;
        case 'c':
            if (strcmp(optarg, "all") == 0)
                opt.checks = CG_CHECK_ALL;
            else if (strcmp(optarg, "xsd") == 0)
                opt.checks = CG_CHECK_XSD;
            else if (strcmp(optarg, "schematron") == 0)
                opt.checks = CG_CHECK_SCHEMATRON;
            else if (strcmp(optarg, "none") == 0)
                opt.checks = 0;
            else {
                fprintf(stderr, "cdagate: validate: checks must be all, xsd, schematron or none\n");
                return 2;
            }
            break;
        case 'P': profile_name = optarg; break;
        case 'd': dir_arg = optarg; break;
        case 'B':
            if (parse_size(&opt.limits.max_bytes, optarg) != 0) {
                fprintf(stderr, "cdagate: validate: --max-bytes takes a size such as 64M\n");
                return 2;
            }
            break;
        case 'D': {
            size_t d;
            if (parse_size(&d, optarg) != 0 || d > 100000) {
                fprintf(stderr, "cdagate: validate: --max-depth takes a number up to 100000\n");
                return 2;
            }
            opt.limits.max_depth = (unsigned)d;
            break;
        }
        case 'j': {
            char *end = NULL;
            threads = strtol(optarg, &end, 10);
            if (end == optarg || *end || threads < 1 || threads > MAX_THREADS) {
                fprintf(stderr, "cdagate: validate: -j takes 1 to %d\n", MAX_THREADS);
                return 2;
            }
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    opt.keep_svrl = fmt == CG_FMT_SVRL;

    int status = 0;
    char **paths = NULL;
    size_t npaths = 0, cap = 0;
    for (int i = optind; i < argc; i++) {
        if (cg_fs_is_dir(argv[i])) {
            size_t before = npaths;
            if (collect_dir(argv[i], &paths, &npaths, &cap, 0) != 0)
                status = 2;
            else if (npaths == before) {
                fprintf(stderr, "cdagate: validate: no *.xml files under %s\n", argv[i]);
                status = 2;
            }
        } else {
            paths = cg_xgrow(paths, &cap, npaths + 1, sizeof *paths);
            paths[npaths++] = cg_xstrdup(argv[i]);
        }
    }

    cg_err err;
    cg_err_init(&err);
    cg_profile *profile = NULL;
    char *missing = NULL;
    if (opt.checks) {
        const char *dir = cg_profile_dir(dir_arg);
        const char *name = profile_name ? profile_name : CG_PROFILE_DEFAULT;
        int rc = cg_profile_open(&profile, dir, name, &err);
        if (rc == CG_ENOTFOUND && profile_name == NULL) {
            missing = cg_xasprintf("no validation profile: %s (install one with `cdagate profile "
                                   "install %s --from DIR`)",
                                   err.msg, CG_PROFILE_DEFAULT);
            fprintf(stderr,
                    "cdagate: warning: %s; XML Schema and Schematron checks skipped (only "
                    "well-formedness and the CDA root are checked)\n",
                    missing);
            opt.missing_profile_reason = missing;
        } else if (rc != CG_OK) {
            fprintf(stderr, "cdagate: validate: %s\n", err.msg);
            status = 2;
            goto done;
        } else if (profile->compiled_now)
            fprintf(stderr, "cdagate: compiled the Schematron of profile %s (cached for next time)\n",
                    name);
    }
    opt.profile = profile;

    batch b = {.opt = &opt, .njobs = npaths};
    b.jobs = cg_xcalloc(npaths ? npaths : 1, sizeof *b.jobs);
    for (size_t i = 0; i < npaths; i++)
        b.jobs[i].path = paths[i];
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.cond, NULL);
    pthread_t tids[MAX_THREADS];
    size_t nthreads = (size_t)threads < npaths ? (size_t)threads : npaths;
    for (size_t t = 0; t < nthreads; t++)
        pthread_create(&tids[t], NULL, worker, &b);

    size_t valid = 0, invalid = 0, errors = 0, warnings = 0, failed = 0;
    cg_buf jb;
    cg_buf_init(&jb, (size_t)1 << 30);
    if (fmt == CG_FMT_JSON)
        printf("{\"version\":1,\"documents\":[");
    for (size_t i = 0; i < npaths; i++) {
        job *j = &b.jobs[i];
        pthread_mutex_lock(&b.lock);
        while (!j->done)
            pthread_cond_wait(&b.cond, &b.lock);
        pthread_mutex_unlock(&b.lock);
        if (j->rc != CG_OK) {
            fprintf(stderr, "cdagate: %s\n", j->msg);
            if (fmt == CG_FMT_JSON) {
                cg_buf_reset(&jb);
                if (valid + invalid + failed > 0)
                    cg_buf_putc(&jb, ',');
                cg_buf_puts(&jb, "{\"file\":");
                cg_json_put_string(&jb, j->path);
                cg_buf_puts(&jb, ",\"valid\":false,\"error\":");
                cg_json_put_string(&jb, j->msg);
                cg_buf_putc(&jb, '}');
                fwrite(jb.data, 1, jb.len, stdout);
            }
            failed++;
            status = 2;
        } else {
            int ok = cg_report_valid(&j->report);
            valid += ok;
            invalid += !ok;
            errors += cg_report_count(&j->report, CG_SEV_ERROR);
            warnings += cg_report_count(&j->report, CG_SEV_WARNING);
            if (!ok && status == 0)
                status = 1;
            if (fmt == CG_FMT_JSON && valid + invalid + failed > 1)
                putchar(',');
            if (fmt == CG_FMT_TSV && npaths > 1) {
                for (size_t k = 0; k < j->report.n; k++) {
                    const cg_finding *f = &j->report.v[k];
                    if (f->source == CG_SRC_SCHEMATRON)
                        printf("%s\t%s\t%s\t%s\n", j->path, cg_severity_name(f->severity),
                               f->id ? f->id : "", f->location ? f->location : "");
                }
            } else
                cg_report_write(stdout, &j->report, fmt);
        }
        cg_report_dispose(&j->report);
        free(j->path);
    }
    for (size_t t = 0; t < nthreads; t++)
        pthread_join(tids[t], NULL);
    if (fmt == CG_FMT_JSON)
        printf("],\"summary\":{\"documents\":%zu,\"valid\":%zu,\"invalid\":%zu,\"unreadable\":%zu,"
               "\"errors\":%zu,\"warnings\":%zu}}\n",
               valid + invalid, valid, invalid, failed, errors, warnings);
    else if (fmt == CG_FMT_TEXT && npaths > 1)
        printf("%zu documents: %zu valid, %zu invalid%s (%zu errors, %zu warnings)\n",
               valid + invalid, valid, invalid, failed ? ", some unreadable" : "", errors, warnings);
    cg_buf_dispose(&jb);
    pthread_mutex_destroy(&b.lock);
    pthread_cond_destroy(&b.cond);
    free(b.jobs);
    free(paths);
    paths = NULL;
    npaths = 0;
done:
    for (size_t i = 0; i < npaths; i++)
        free(paths[i]);
    free(paths);
    free(missing);
    cg_profile_free(profile);
    return status;
}
