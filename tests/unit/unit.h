/* unit: the CUnit runner's registry; each test file registers one suite. */
#ifndef CG_TESTS_UNIT_H
#define CG_TESTS_UNIT_H

#include <CUnit/Basic.h>

void cg_test_register_buf(void);
void cg_test_register_memory(void);
void cg_test_register_parse(void);
void cg_test_register_path(void);
void cg_test_register_xpath_scan(void);
void cg_test_register_sch_compile(void);
void cg_test_register_profile(void);
void cg_test_register_validator(void);
void cg_test_register_pool(void);
void cg_test_register_conf(void);
void cg_test_register_id(void);
/* new suites: one line each, below this one */
void cg_test_register_repository(void);
void cg_test_register_svc_request(void);
void cg_test_register_svc_xca(void);
void cg_test_register_transport(void);
void cg_test_register_ebrim_model(void);
void cg_test_register_registry_format(void);
void cg_test_register_registry(void);
void cg_test_register_store(void);
void cg_test_register_registry_query(void);
void cg_test_register_render(void);
void cg_test_register_svc_view(void);

void cg_test_register_hl7v2_message(void);
void cg_test_register_svc_pif(void);
void cg_test_register_store_delete(void);
void cg_test_register_registry_delete(void);
void cg_test_register_registry_update(void);
void cg_test_register_store_versions(void);
void cg_test_register_audit(void);
void cg_test_register_audit_sink(void);

/* A fixture's path: CG_TEST_FIXTURES "/" rel; free() it. */
char *cg_test_fixture(const char *rel);
/* A fresh temporary directory for one test; free() it (removed at exit). */
char *cg_test_tmpdir(void);

#endif
