/* cmd_serve: `cdagate serve`: the XDS.b gateway (repository and registry) on one port. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "gateway/config.h"
#include "gateway/gateway.h"
#include "util/alloc.h"

static cg_gateway *running;

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: cdagate serve [--config FILE] [--listen HOST:PORT] [--data-dir DIR]\n"
            "                     [--repository-id OID] [--set SECTION.KEY=VALUE]... [--print-config]\n"
            "\n"
            "Serves the XDS.b Document Repository (ITI-41, ITI-43) and Document Registry (ITI-42)\n"
            "over SOAP 1.2 with MTOM. No configuration file is needed: --listen and --data-dir are\n"
            "enough (plain HTTP is allowed on loopback only unless server.allow_plain_http is set).\n"
            "Without --repository-id, one is made at the first start and kept in the data directory.\n"
            "Every configuration key is described in docs/configuration.md; --set overrides one.\n"
            "SIGINT or SIGTERM stops the server after the requests in progress.\n");
}

static void
on_signal(int sig)
{
    (void)sig;
    if (running)
        cg_gateway_stop(running);
}

int
cg_cmd_serve(int argc, char **argv)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"listen", required_argument, NULL, 'l'},
                                             {"data-dir", required_argument, NULL, 'd'},
                                             {"repository-id", required_argument, NULL, 'r'},
                                             {"set", required_argument, NULL, 's'},
                                             {"print-config", no_argument, NULL, 'p'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *config = NULL;
    int print = 0;
    char **overrides = cg_xcalloc((size_t)argc + 1, sizeof(*overrides));
    size_t n = 0;
    int c, rc = 2;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:l:d:r:s:ph", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'l': overrides[n++] = cg_xasprintf("server.listen=%s", optarg); break;
        case 'd': overrides[n++] = cg_xasprintf("store.data_dir=%s", optarg); break;
        case 'r': overrides[n++] = cg_xasprintf("repository.id=%s", optarg); break;
        case 's': overrides[n++] = cg_xstrdup(optarg); break;
        case 'p': print = 1; break;
        case 'h': usage(stdout); rc = 0; goto done;
        default: usage(stderr); goto done;
        }
    }
    if (optind != argc) {
        usage(stderr);
        goto done;
    }
    cg_gateway_config cfg;
    cg_err err;
    cg_err_init(&err);
    if (cg_gateway_config_load(&cfg, config, (const char *const *)overrides, n, &err) != CG_OK) {
        fprintf(stderr, "cdagate serve: %s\n", err.msg);
        cg_gateway_config_dispose(&cfg);
        goto done;
    }
    if (print) {
        cg_gateway_config_print(&cfg, stdout);
        cg_gateway_config_dispose(&cfg);
        rc = 0;
        goto done;
    }
    cg_gateway *gw = NULL;
    if (cg_gateway_open(&gw, &cfg, &err) != CG_OK) {
        fprintf(stderr, "cdagate serve: %s\n", err.msg);
        cg_gateway_config_dispose(&cfg);
        goto done;
    }
    running = gw;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Memory a request freed stays with the C library's allocator (up to 2 MB at the top of each
     * of its arenas) for the next request, instead of going back to the kernel every time: that
     * (madvise) stops every core the process runs on to flush its TLB, a tenth of the time of a
     * 50-document query. Blocks of 1 MB and more are still mapped and unmapped on their own. */
    mallopt(M_TRIM_THRESHOLD, 2 << 20);
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    cg_gateway_describe(gw, stdout);
    rc = cg_gateway_run(gw) == CG_OK ? 0 : 1;
    running = NULL;
    cg_gateway_free(gw);
    cg_gateway_config_dispose(&cfg);
    fprintf(stderr, "cdagate: stopped\n");
done:
    for (size_t i = 0; i < n; i++)
        free(overrides[i]);
    free(overrides);
    return rc;
}
