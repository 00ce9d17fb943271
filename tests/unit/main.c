/* The unit test runner: every suite, CUnit's basic interface, non-zero exit on any failure. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "xml/parse.h"

static char *tmproot;

char *
cg_test_fixture(const char *rel)
{
    return cg_xasprintf("%s/%s", CG_TEST_FIXTURES, rel);
}

char *
cg_test_tmpdir(void)
{
    static int n;
    char *d = cg_xasprintf("%s/t%d", tmproot, ++n);
    cg_fs_mkdirs(d, NULL);
    return d;
}

int
main(void)
{
    char tmpl[] = "/tmp/cdagate-unit-XXXXXX";
    tmproot = mkdtemp(tmpl);
    if (tmproot == NULL) {
        perror("mkdtemp");
        return 2;
    }
    cg_xml_init();
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cg_test_register_buf();
    cg_test_register_memory();
    cg_test_register_parse();
    cg_test_register_path();
    cg_test_register_xpath_scan();
    cg_test_register_sch_compile();
    cg_test_register_profile();
    cg_test_register_validator();
    cg_test_register_pool();
    cg_test_register_conf();
    cg_test_register_id();
    /* new suites: one line each, below this one */
    cg_test_register_repository();
    cg_test_register_svc_request();
    cg_test_register_transport();
    cg_test_register_ebrim_model();
    cg_test_register_registry_format();
    cg_test_register_registry();
    cg_test_register_store();
    cg_test_register_registry_query();
    cg_test_register_render();
    cg_test_register_svc_view();
    cg_test_register_hl7v2_message();
    cg_test_register_svc_pif();
    cg_test_register_store_delete();
    cg_test_register_registry_delete();
    cg_test_register_registry_update();
    cg_test_register_store_versions();
    cg_test_register_audit();
    cg_test_register_audit_sink();
    cg_test_register_svc_xca();
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned ran = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    cg_fs_remove_tree(tmproot, NULL);
    cg_xml_cleanup();
    return failed || ran == 0 ? 1 : 0;
}
