/* Tests src/xml/memory.c: libxml2's allocator keeps contents across realloc between size
 * classes, serves large blocks, and lets memory freed on another thread be used again rather
 * than growing without bound, also when a thread releases its lists to the others. */
#include <libxml/globals.h>
#include <libxml/xmlmemory.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "util/alloc.h"
#include "xml/memory.h"

static int
installed(void)
{
    xmlFreeFunc f;
    xmlMallocFunc m;
    xmlReallocFunc r;
    xmlStrdupFunc s;
    xmlMemGet(&f, &m, &r, &s);
    return m != malloc; /* CDAGATE_XML_MALLOC=system keeps the C library's */
}

static void
test_sizes_and_realloc(void)
{
    /* every class boundary, one past it, and a large block; realloc up and down keeps bytes */
    static const size_t sizes[] = {0, 1, 15, 16, 17, 511, 512, 513, 4096, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = xmlMalloc(sizes[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_EQUAL((uintptr_t)p % 16, 0);
        memset(p, 0xA5, sizes[i]);
        size_t bigger = sizes[i] * 3 + 7;
        p = xmlRealloc(p, bigger);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        for (size_t k = 0; k < sizes[i]; k++)
            if (p[k] != 0xA5) {
                CU_FAIL("realloc lost bytes");
                break;
            }
        p = xmlRealloc(p, sizes[i] / 2 + 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        for (size_t k = 0; k < sizes[i] / 2; k++)
            if (p[k] != 0xA5) {
                CU_FAIL("shrinking realloc lost bytes");
                break;
            }
        xmlFree(p);
    }
    char *s = xmlMemStrdup("cdagate");
    CU_ASSERT_STRING_EQUAL(s, "cdagate");
    xmlFree(s);
    xmlFree(NULL);
}

static void
test_blocks_are_reused(void)
{
    if (!installed())
        return; /* the C library's allocator: nothing of ours to observe */
    void *a = xmlMalloc(40);
    xmlFree(a);
    void *b = xmlMalloc(48); /* same 48-byte class */
    CU_ASSERT_PTR_EQUAL(a, b);
    xmlFree(b);
}

#define HANDOFF 200000

typedef struct handoff {
    void **blocks;
    size_t n;
} handoff;

static void *
free_all(void *arg)
{
    handoff *h = arg;
    for (size_t i = 0; i < h->n; i++)
        xmlFree(h->blocks[i]);
    return NULL;
}

static void
test_cross_thread_frees_circulate(void)
{
    if (!installed())
        return;
    /* this thread allocates, another frees, ten times over: the freed blocks must come back
     * (through the shared lists) instead of new chunks being cut every round */
    handoff h = {cg_xcalloc(HANDOFF, sizeof(void *)), HANDOFF};
    CU_ASSERT_PTR_NOT_NULL_FATAL(h.blocks);
    cg_xml_memory_stats before, after;
    size_t first_round = 0;
    for (int round = 0; round < 10; round++) {
        cg_xml_memory_stats_get(&before);
        for (size_t i = 0; i < h.n; i++)
            h.blocks[i] = xmlMalloc(64);
        cg_xml_memory_stats_get(&after);
        if (round == 0)
            first_round = after.chunks - before.chunks;
        pthread_t t;
        pthread_create(&t, NULL, free_all, &h);
        pthread_join(t, NULL);
    }
    cg_xml_memory_stats_get(&after);
    /* 200,000 blocks of 80 bytes are about 62 chunks; ten rounds without reuse would be 620 */
    CU_ASSERT(first_round > 0);
    CU_ASSERT(after.chunks < before.chunks + first_round * 2);
    free(h.blocks);
}

#define RELEASED 3000 /* fewer than a thread keeps on its own lists */

static void *
allocate_released(void *arg)
{
    size_t *chunks = arg;
    cg_xml_memory_stats before, after;
    void **blocks = cg_xcalloc(RELEASED, sizeof(void *));
    cg_xml_memory_stats_get(&before);
    for (size_t i = 0; i < RELEASED; i++)
        blocks[i] = xmlMalloc(64);
    cg_xml_memory_stats_get(&after);
    *chunks = after.chunks - before.chunks;
    for (size_t i = 0; i < RELEASED; i++)
        xmlFree(blocks[i]);
    free(blocks);
    return NULL;
}

static void
test_release_hands_blocks_over(void)
{
    if (!installed())
        return;
    /* blocks this thread freed stay on its lists until it releases them; then another thread
     * allocates them instead of cutting new chunks */
    void **blocks = cg_xcalloc(RELEASED, sizeof(void *));
    for (size_t i = 0; i < RELEASED; i++)
        blocks[i] = xmlMalloc(64);
    for (size_t i = 0; i < RELEASED; i++)
        xmlFree(blocks[i]);
    free(blocks);
    cg_xml_memory_release();
    size_t chunks = 99;
    pthread_t t;
    pthread_create(&t, NULL, allocate_released, &chunks);
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(chunks, 0);
}

#define CHURN_THREADS 4
#define CHURN_ROUNDS 300
#define CHURN_BLOCKS 500

static void *
churn(void *arg)
{
    int *bad = arg;
    unsigned char *blocks[CHURN_BLOCKS];
    for (int round = 0; round < CHURN_ROUNDS; round++) {
        for (size_t i = 0; i < CHURN_BLOCKS; i++) {
            blocks[i] = xmlMalloc(16 + (i % 8) * 16);
            memset(blocks[i], (int)(i & 0xff), 16 + (i % 8) * 16);
        }
        for (size_t i = 0; i < CHURN_BLOCKS; i++) {
            for (size_t k = 0; k < 16 + (i % 8) * 16; k++)
                if (blocks[i][k] != (unsigned char)(i & 0xff))
                    *bad = 1;
            xmlFree(blocks[i]);
        }
        cg_xml_memory_release();
    }
    return NULL;
}

static void
test_release_under_contention(void)
{
    /* threads releasing their lists while others take them: no block handed out twice */
    pthread_t t[CHURN_THREADS];
    int bad[CHURN_THREADS] = {0};
    for (int i = 0; i < CHURN_THREADS; i++)
        pthread_create(&t[i], NULL, churn, &bad[i]);
    for (int i = 0; i < CHURN_THREADS; i++) {
        pthread_join(t[i], NULL);
        CU_ASSERT_EQUAL(bad[i], 0);
    }
}

void
cg_test_register_memory(void)
{
    CU_pSuite s = CU_add_suite("xml/memory", NULL, NULL);
    CU_add_test(s, "every size class, large blocks, realloc keeps contents", test_sizes_and_realloc);
    CU_add_test(s, "a freed block is reused for its size class", test_blocks_are_reused);
    CU_add_test(s, "blocks freed by another thread circulate back", test_cross_thread_frees_circulate);
    CU_add_test(s, "released blocks go to the next thread that allocates", test_release_hands_blocks_over);
    CU_add_test(s, "releasing while other threads allocate hands no block out twice",
                test_release_under_contention);
}
