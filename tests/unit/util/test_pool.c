/* Tests for util/pool: alignment, large objects, growth, cleanup order, reset. */
#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "util/pool.h"

static int order[4];
static int norder;

static void record(void *data)
{
    order[norder++] = (int)(intptr_t)data;
}

static void test_alloc_aligned_and_distinct(void)
{
    cg_pool *pool = cg_pool_new(1024);
    char *a = cg_pool_alloc(pool, 3);
    char *b = cg_pool_alloc(pool, 5);
    CU_ASSERT_EQUAL((uintptr_t)a % 16, 0);
    CU_ASSERT_EQUAL((uintptr_t)b % 16, 0);
    CU_ASSERT(b >= a + 3);
    /* past one block, and one object larger than a block */
    for (int i = 0; i < 200; i++)
        memset(cg_pool_alloc(pool, 40), 0xab, 40);
    unsigned char *big = cg_pool_calloc(pool, 1, 10000);
    CU_ASSERT_EQUAL(big[9999], 0);
    CU_ASSERT(cg_pool_used(pool) >= 10000 + 200 * 40);
    cg_pool_free(pool);
}

static void test_strings(void)
{
    cg_pool *pool = cg_pool_new(0);
    CU_ASSERT_PTR_NULL(cg_pool_strdup(pool, NULL));
    CU_ASSERT_STRING_EQUAL(cg_pool_strdup(pool, "abc"), "abc");
    CU_ASSERT_STRING_EQUAL(cg_pool_strndup(pool, "abcdef", 2), "ab");
    CU_ASSERT_STRING_EQUAL(cg_pool_printf(pool, "%s-%d", "x", 42), "x-42");
    size_t cap = 0;
    int *v = NULL;
    for (int i = 0; i < 100; i++) {
        v = cg_pool_grow(pool, v, &cap, (size_t)i + 1, sizeof(*v));
        v[i] = i;
    }
    CU_ASSERT_EQUAL(v[0], 0);
    CU_ASSERT_EQUAL(v[99], 99);
    cg_pool_free(pool);
}

static void test_cleanup_order_and_reset(void)
{
    cg_pool *pool = cg_pool_new(0);
    norder = 0;
    cg_pool_cleanup(pool, record, (void *)1);
    cg_pool_cleanup(pool, record, (void *)2);
    cg_pool_reset(pool);
    CU_ASSERT_EQUAL(norder, 2);
    CU_ASSERT_EQUAL(order[0], 2); /* last registered runs first */
    CU_ASSERT_EQUAL(order[1], 1);
    CU_ASSERT_EQUAL(cg_pool_used(pool), 0);
    cg_pool_cleanup(pool, record, (void *)3);
    cg_pool_free(pool);
    CU_ASSERT_EQUAL(norder, 3);
    CU_ASSERT_EQUAL(order[2], 3);
    cg_pool_free(NULL);
}

void cg_test_register_pool(void)
{
    CU_pSuite s = CU_add_suite("util/pool", NULL, NULL);
    CU_add_test(s, "allocations are aligned and distinct, large ones too", test_alloc_aligned_and_distinct);
    CU_add_test(s, "strings and growing arrays", test_strings);
    CU_add_test(s, "cleanups run last-first on reset and free", test_cleanup_order_and_reset);
}
