/* Tests for util/conf: sections, comments, quotes, typed lookups naming the bad line, duplicate
 * and unknown keys, command-line overrides. */
#include <string.h>

#include "unit.h"
#include "util/conf.h"

static const char *const sample = "# a comment\n"
                                  "top = 1\n"
                                  "[server]\n"
                                  "listen = 127.0.0.1:8080   \n"
                                  "  ; another comment\n"
                                  "name = \"quoted value\"\n"
                                  "[limits]\n"
                                  "max = 16M\n"
                                  "small = 4k\n"
                                  "on = yes\n"
                                  "count = 12\n";

static void test_parse_and_lookups(void)
{
    cg_conf c;
    cg_err err;
    cg_err_init(&err);
    cg_conf_init(&c);
    CU_ASSERT_EQUAL_FATAL(cg_conf_parse(&c, sample, "t.conf", &err), CG_OK);
    const char *s = NULL;
    cg_conf_string(&c, "server.listen", &s);
    CU_ASSERT_STRING_EQUAL(s, "127.0.0.1:8080");
    cg_conf_string(&c, "server.name", &s);
    CU_ASSERT_STRING_EQUAL(s, "quoted value");
    cg_conf_string(&c, "top", &s);
    CU_ASSERT_STRING_EQUAL(s, "1");
    size_t z = 0;
    CU_ASSERT_EQUAL(cg_conf_size(&c, "limits.max", 1, (size_t)1 << 30, &z, &err), CG_OK);
    CU_ASSERT_EQUAL(z, (size_t)16 << 20);
    CU_ASSERT_EQUAL(cg_conf_size(&c, "limits.small", 1, 1 << 20, &z, &err), CG_OK);
    CU_ASSERT_EQUAL(z, 4096);
    int b = 0;
    CU_ASSERT_EQUAL(cg_conf_bool(&c, "limits.on", &b, &err), CG_OK);
    CU_ASSERT_EQUAL(b, 1);
    unsigned u = 7;
    CU_ASSERT_EQUAL(cg_conf_uint(&c, "limits.count", 1, 12, &u, &err), CG_OK);
    CU_ASSERT_EQUAL(u, 12);
    /* absent keys leave the default */
    u = 7;
    CU_ASSERT_EQUAL(cg_conf_uint(&c, "limits.absent", 1, 12, &u, &err), CG_OK);
    CU_ASSERT_EQUAL(u, 7);
    CU_ASSERT_EQUAL(cg_conf_check_unused(&c, &err), CG_OK);
    cg_conf_dispose(&c);
}

static void test_bad_values_name_the_line(void)
{
    cg_conf c;
    cg_err err;
    cg_conf_init(&c);
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_conf_parse(&c, sample, "t.conf", &err), CG_OK);
    unsigned u = 0;
    /* at the bound passes (above), one past it fails, naming file, line and key */
    CU_ASSERT_EQUAL(cg_conf_uint(&c, "limits.count", 1, 11, &u, &err), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "t.conf:11"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "limits.count"));
    cg_err_init(&err);
    size_t z = 0;
    CU_ASSERT_EQUAL(cg_conf_size(&c, "limits.max", 1, ((size_t)16 << 20) - 1, &z, &err), CG_EINVAL);
    cg_err_init(&err);
    int b = 0;
    CU_ASSERT_EQUAL(cg_conf_bool(&c, "server.listen", &b, &err), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "boolean"));
    cg_conf_dispose(&c);
}

static void test_syntax_errors(void)
{
    static const char *const bad[] = {"[server\nx = 1\n", "just words\n", "= value\n",
                                      "a = 1\na = 2\n", "[]\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cg_conf c;
        cg_err err;
        cg_conf_init(&c);
        cg_err_init(&err);
        CU_ASSERT_EQUAL(cg_conf_parse(&c, bad[i], "bad.conf", &err), CG_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "bad.conf:"));
        cg_conf_dispose(&c);
    }
}

static void test_unknown_key_and_overrides(void)
{
    cg_conf c;
    cg_err err;
    cg_conf_init(&c);
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_conf_parse(&c, "[server]\nlisten = a\nlsiten = b\n", "u.conf", &err),
                          CG_OK);
    const char *s = NULL;
    cg_conf_string(&c, "server.listen", &s);
    CU_ASSERT_EQUAL(cg_conf_check_unused(&c, &err), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "server.lsiten"));
    cg_conf_set(&c, "server.listen", "override");
    cg_conf_string(&c, "server.listen", &s);
    CU_ASSERT_STRING_EQUAL(s, "override");
    cg_conf_dispose(&c);
}

void cg_test_register_conf(void)
{
    CU_pSuite s = CU_add_suite("util/conf", NULL, NULL);
    CU_add_test(s, "sections, comments, quotes and typed lookups", test_parse_and_lookups);
    CU_add_test(s, "a value past its bound names file, line and key", test_bad_values_name_the_line);
    CU_add_test(s, "syntax errors and duplicate keys name the line", test_syntax_errors);
    CU_add_test(s, "unknown keys are refused; overrides win", test_unknown_key_and_overrides);
}
