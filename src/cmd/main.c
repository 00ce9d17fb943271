/* main: the cdagate program: `cdagate COMMAND [ARGS]`, in the style of git. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "config.h"
#include "xml/parse.h"

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: cdagate COMMAND [ARGS]\n"
            "\n"
            "commands:\n"
            "  validate   check C-CDA documents: well-formedness, CDA schema, C-CDA Schematron\n"
            "  profile    install and list validation profiles (schemas, Schematron, value sets)\n"
            "  serve      run the XDS.b gateway: ITI-41, ITI-42, ITI-43 over SOAP 1.2 and MTOM\n"
            "  patient    add, list and merge the patients the registry knows\n"
            "  render     write a C-CDA document as a safe HTML page for people to read\n"
            "  version    print the version\n"
            "\n"
            "`cdagate COMMAND --help` describes a command.\n");
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("cdagate %s\n", PACKAGE_VERSION);
        return 0;
    }
    int rc;
    cg_xml_init();
    if (strcmp(cmd, "validate") == 0)
        rc = cg_cmd_validate(argc - 1, argv + 1);
    else if (strcmp(cmd, "profile") == 0)
        rc = cg_cmd_profile(argc - 1, argv + 1);
    else if (strcmp(cmd, "serve") == 0)
        rc = cg_cmd_serve(argc - 1, argv + 1);
    else if (strcmp(cmd, "patient") == 0)
        rc = cg_cmd_patient(argc - 1, argv + 1);
    else if (strcmp(cmd, "render") == 0)
        rc = cg_cmd_render(argc - 1, argv + 1);
    else {
        fprintf(stderr, "cdagate: '%s' is not a command\n", cmd);
        usage(stderr);
        rc = 2;
    }
    cg_xml_cleanup();
    return rc;
}
