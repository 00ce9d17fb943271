/* Tests src/util/buf.c: the hard size cap holds at the limit and one past it. */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "util/buf.h"
#include "util/err.h"

static void
test_append_up_to_limit(void)
{
    cg_buf b;
    cg_buf_init(&b, 8);
    CU_ASSERT_EQUAL(cg_buf_puts(&b, "12345678"), CG_OK);
    CU_ASSERT_EQUAL(b.len, 8);
    CU_ASSERT_STRING_EQUAL(b.data, "12345678");
    CU_ASSERT_EQUAL(cg_buf_putc(&b, '9'), CG_ETOOBIG);
    CU_ASSERT_STRING_EQUAL(b.data, "12345678");
    cg_buf_dispose(&b);
}

static void
test_printf_large(void)
{
    cg_buf b;
    cg_buf_init(&b, 100000);
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CU_ASSERT_EQUAL(cg_buf_printf(&b, "<%s>", big), CG_OK);
    CU_ASSERT_EQUAL(b.len, sizeof big + 1);
    CU_ASSERT_EQUAL(b.data[0], '<');
    CU_ASSERT_EQUAL(b.data[b.len - 1], '>');
    cg_buf_dispose(&b);
}

static void
test_detach_leaves_empty(void)
{
    cg_buf b;
    cg_buf_init(&b, 100);
    cg_buf_puts(&b, "abc");
    char *s = cg_buf_detach(&b);
    CU_ASSERT_STRING_EQUAL(s, "abc");
    CU_ASSERT_EQUAL(b.len, 0);
    CU_ASSERT_PTR_NULL(b.data);
    free(s);
    cg_buf_dispose(&b);
}

void
cg_test_register_buf(void)
{
    CU_pSuite s = CU_add_suite("util/buf", NULL, NULL);
    CU_add_test(s, "append up to the limit, refuse one past it", test_append_up_to_limit);
    CU_add_test(s, "printf longer than the stack buffer", test_printf_large);
    CU_add_test(s, "detach hands over the bytes", test_detach_leaves_empty);
}
