/* Tests cg_view_url_decode (src/svc/view.c), the path segment decoding of GET /documents/{id}
 * and /patients/{id}: escapes in either case, malformed and truncated escapes, control
 * characters (raw or escaped, NUL included), and the decoded-length bound at and one past it.
 * The handlers themselves are tested over the wire (tests/render/http.test). */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "svc/view.h"
#include "unit.h"

static const char *decode(cg_pool *pool, const char *s, size_t max)
{
    return cg_view_url_decode(pool, s, strlen(s), max);
}

static void test_url_decode(void)
{
    cg_pool *pool = cg_pool_new(0);
    CU_ASSERT_STRING_EQUAL(decode(pool, "1.2.3", 128), "1.2.3");
    CU_ASSERT_STRING_EQUAL(decode(pool, "PT-1%5E%5e%5E%261.2%26ISO", 128), "PT-1^^^&1.2&ISO");
    CU_ASSERT_STRING_EQUAL(decode(pool, "a%2Fb", 128), "a/b");
    CU_ASSERT_STRING_EQUAL(decode(pool, "", 128), "");
    CU_ASSERT_PTR_NULL(decode(pool, "%zz", 128));
    CU_ASSERT_PTR_NULL(decode(pool, "ab%", 128));
    CU_ASSERT_PTR_NULL(decode(pool, "ab%4", 128));
    CU_ASSERT_PTR_NULL(decode(pool, "a%00b", 128));
    CU_ASSERT_PTR_NULL(decode(pool, "a%0Ab", 128));
    CU_ASSERT_PTR_NULL(decode(pool, "a%7Fb", 128));
    CU_ASSERT_PTR_NULL(decode(pool, "a\tb", 128));
    CU_ASSERT_STRING_EQUAL(decode(pool, "abcd", 4), "abcd");
    CU_ASSERT_PTR_NULL(decode(pool, "abcde", 4));
    CU_ASSERT_STRING_EQUAL(decode(pool, "%41%42%43%44", 4), "ABCD");
    CU_ASSERT_PTR_NULL(decode(pool, "%41%42%43%44%45", 4));
    cg_pool_free(pool);
}

void cg_test_register_svc_view(void)
{
    CU_pSuite s = CU_add_suite("svc/view", NULL, NULL);
    CU_add_test(s, "path segments: escapes, malformed, controls, length bound", test_url_decode);
}
