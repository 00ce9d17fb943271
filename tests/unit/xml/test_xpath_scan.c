/* Tests src/xml/xpath_scan.c: top-level splitting ignores strings, brackets and parentheses. */
#include <string.h>

#include "unit.h"
#include "xml/xpath_scan.h"

static void
test_split_union(void)
{
    cg_strv v = {0};
    cg_xpath_split_char(&v, "a[b='x|y'] | c[d|e]/f | (g)", '|');
    CU_ASSERT_EQUAL_FATAL(v.n, 3);
    CU_ASSERT_STRING_EQUAL(v.v[0], "a[b='x|y']");
    CU_ASSERT_STRING_EQUAL(v.v[1], "c[d|e]/f");
    CU_ASSERT_STRING_EQUAL(v.v[2], "g");
    cg_strv_dispose(&v);
}

static void
test_split_and(void)
{
    cg_strv v = {0};
    cg_xpath_split_word(&v, "@root='a and b' and (x or y) and cda:band", "and");
    CU_ASSERT_EQUAL_FATAL(v.n, 3);
    CU_ASSERT_STRING_EQUAL(v.v[0], "@root='a and b'");
    CU_ASSERT_STRING_EQUAL(v.v[1], "x or y");
    CU_ASSERT_STRING_EQUAL(v.v[2], "cda:band");
    cg_strv_dispose(&v);
}

static void
test_split_steps(void)
{
    cg_xpath_path p;
    CU_ASSERT_EQUAL_FATAL(cg_xpath_split_steps(&p, "cda:a[cda:t[@root='1/2']]/cda:b//cda:c[@x][2]"), 0);
    CU_ASSERT_EQUAL_FATAL(p.n, 3);
    CU_ASSERT_STRING_EQUAL(p.steps[0].sep, "");
    CU_ASSERT_STRING_EQUAL(p.steps[0].test, "cda:a");
    CU_ASSERT_EQUAL(p.steps[0].preds.n, 1);
    CU_ASSERT_STRING_EQUAL(p.steps[0].preds.v[0], "cda:t[@root='1/2']");
    CU_ASSERT_STRING_EQUAL(p.steps[2].sep, "//");
    CU_ASSERT_EQUAL(p.steps[2].preds.n, 2);
    cg_xpath_path_dispose(&p);
    CU_ASSERT_EQUAL(cg_xpath_split_steps(&p, "/"), 0);
    CU_ASSERT_EQUAL(p.n, 1);
    cg_xpath_path_dispose(&p);
    CU_ASSERT_EQUAL(cg_xpath_split_steps(&p, "a = b"), -1);
}

static void
test_qname(void)
{
    CU_ASSERT_TRUE(cg_xpath_is_qname("cda:templateId"));
    CU_ASSERT_TRUE(cg_xpath_is_qname("name"));
    CU_ASSERT_FALSE(cg_xpath_is_qname("cda:*"));
    CU_ASSERT_FALSE(cg_xpath_is_qname("a:b:c"));
    CU_ASSERT_FALSE(cg_xpath_is_qname("1a"));
}

void
cg_test_register_xpath_scan(void)
{
    CU_pSuite s = CU_add_suite("xml/xpath_scan", NULL, NULL);
    CU_add_test(s, "union split skips strings and predicates", test_split_union);
    CU_add_test(s, "and/or split respects words and parentheses", test_split_and);
    CU_add_test(s, "location steps, separators and predicates", test_split_steps);
    CU_add_test(s, "QName recognition", test_qname);
}
