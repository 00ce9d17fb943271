/* memory: see memory.h.
 *
 * Every block starts with a 16-byte header: a magic number and the block's size class, or for a
 * large block the class LARGE and the requested size. Small blocks (up to 512 bytes) come from a
 * thread's own free list for their class, refilled from a shared list of returned batches or cut
 * from a 256 KiB chunk; a free goes onto the freeing thread's list. A list that grows past
 * LOCAL_MAX blocks (a thread that frees what others allocated) hands a batch back to the shared
 * list, and an exiting thread hands back everything, so memory circulates instead of piling up.
 * Chunks are kept for the life of the process. */
#define _POSIX_C_SOURCE 200809L
#include "xml/memory.h"

#include <libxml/globals.h>
#include <libxml/xmlmemory.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

#define GRAIN 16u
#define NCLASSES 32u /* classes of 16, 32, ... 512 bytes */
#define HEADER 16u
#define CHUNK_SIZE ((size_t)256 << 10)
#define LOCAL_MAX 4096u
#define BATCH 1024u
#define MAGIC 0x63674d45u /* "cgME" */
#define LARGE 0xffffu

typedef struct header {
    uint32_t magic;
    uint32_t cls;
    uint64_t size; /* requested size, for large blocks */
} header;

typedef struct free_block {
    struct free_block *next;
} free_block;

typedef struct batch {
    free_block *head;
    struct batch *next;
} batch;

typedef struct cache {
    free_block *list[NCLASSES];
    unsigned count[NCLASSES];
    char *chunk;
    size_t chunk_left;
} cache;

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static batch *shared[NCLASSES];
static batch *spare_batches; /* batch records not in use */
static size_t nchunks;
static pthread_key_t cache_key;
static __thread cache *tcache;

static void
corrupt(const void *p)
{
    fprintf(stderr, "cdagate: xmlFree(%p): not a block of cdagate's XML allocator; exiting\n", p);
    abort();
}

/* Puts a list of free blocks of class c on the shared list, as one batch. */
static void
share(unsigned c, free_block *head)
{
    pthread_mutex_lock(&shared_lock);
    batch *b = spare_batches;
    if (b)
        spare_batches = b->next;
    pthread_mutex_unlock(&shared_lock);
    if (b == NULL)
        b = cg_xmalloc(sizeof *b);
    b->head = head;
    pthread_mutex_lock(&shared_lock);
    b->next = shared[c];
    shared[c] = b;
    pthread_mutex_unlock(&shared_lock);
}

/* Moves `n` blocks (at most) of class c from the thread's list to the shared list. */
static void
give_back(cache *tc, unsigned c, unsigned n)
{
    if (tc->list[c] == NULL)
        return;
    free_block *head = tc->list[c], *tail = head;
    unsigned moved = 1;
    while (moved < n && tail->next) {
        tail = tail->next;
        moved++;
    }
    tc->list[c] = tail->next;
    tail->next = NULL;
    tc->count[c] -= moved;
    share(c, head);
}

static void
thread_exit(void *arg)
{
    cache *tc = arg;
    for (unsigned c = 0; c < NCLASSES; c++)
        while (tc->list[c])
            give_back(tc, c, UINT32_MAX);
    /* the rest of the current chunk stays with the process, as every chunk does */
    free(tc);
}

static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void
make_key(void)
{
    pthread_key_create(&cache_key, thread_exit);
}

static cache *
get_cache_slow(void)
{
    pthread_once(&key_once, make_key);
    tcache = cg_xcalloc(1, sizeof *tcache);
    pthread_setspecific(cache_key, tcache);
    return tcache;
}

static void *
refill(cache *tc, unsigned c)
{
    pthread_mutex_lock(&shared_lock);
    batch *b = shared[c];
    free_block *head = NULL;
    if (b) {
        /* the record goes back to the spare list at once: another thread may reuse it as
         * soon as the lock is released, so its head is read here */
        head = b->head;
        shared[c] = b->next;
        b->next = spare_batches;
        spare_batches = b;
    }
    pthread_mutex_unlock(&shared_lock);
    if (head) {
        unsigned n = 0;
        for (free_block *f = head; f; f = f->next)
            n++;
        tc->list[c] = head;
        tc->count[c] = n;
        free_block *f = tc->list[c];
        tc->list[c] = f->next;
        tc->count[c]--;
        return f;
    }
    size_t need = HEADER + (size_t)(c + 1) * GRAIN;
    if (tc->chunk_left < need) {
        tc->chunk = cg_xmalloc(CHUNK_SIZE);
        tc->chunk_left = CHUNK_SIZE;
        pthread_mutex_lock(&shared_lock);
        nchunks++;
        pthread_mutex_unlock(&shared_lock);
    }
    void *p = tc->chunk;
    tc->chunk += need;
    tc->chunk_left -= need;
    return p;
}

static cache *get_cache_slow(void);

static inline cache *
get_cache(void)
{
    cache *tc = tcache;
    return tc ? tc : get_cache_slow();
}

static void *
mem_malloc(size_t size)
{
    if (size > NCLASSES * GRAIN) {
        if (size > SIZE_MAX - HEADER)
            return NULL;
        header *h = malloc(HEADER + size);
        if (h == NULL)
            return NULL;
        h->magic = MAGIC;
        h->cls = LARGE;
        h->size = size;
        return (char *)h + HEADER;
    }
    unsigned c = size > GRAIN ? (unsigned)((size - 1) / GRAIN) : 0;
    cache *tc = get_cache();
    header *h;
    free_block *f = tc->list[c];
    if (f) {
        tc->list[c] = f->next;
        tc->count[c]--;
        h = (header *)f;
    } else
        h = refill(tc, c);
    h->magic = MAGIC;
    h->cls = c; /* small blocks keep no size: realloc copies the whole class */
    return (char *)h + HEADER;
}

static void
mem_free(void *p)
{
    if (p == NULL)
        return;
    header *h = (header *)((char *)p - HEADER);
    if (h->magic != MAGIC)
        corrupt(p);
    if (h->cls == LARGE) {
        h->magic = 0;
        free(h);
        return;
    }
    if (h->cls >= NCLASSES)
        corrupt(p);
    unsigned c = h->cls;
    h->magic = 0; /* a second free of the same block is caught above */
    cache *tc = get_cache();
    free_block *f = (free_block *)h;
    f->next = tc->list[c];
    tc->list[c] = f;
    if (++tc->count[c] > LOCAL_MAX)
        give_back(tc, c, BATCH);
}

static size_t
block_capacity(const header *h)
{
    return h->cls == LARGE ? (size_t)h->size : (size_t)(h->cls + 1) * GRAIN;
}

static void *
mem_realloc(void *p, size_t size)
{
    if (p == NULL)
        return mem_malloc(size);
    header *h = (header *)((char *)p - HEADER);
    if (h->magic != MAGIC)
        corrupt(p);
    if (h->cls != LARGE && size <= block_capacity(h))
        return p;
    if (h->cls == LARGE && size > NCLASSES * GRAIN) {
        if (size > SIZE_MAX - HEADER)
            return NULL;
        header *n = realloc(h, HEADER + size);
        if (n == NULL)
            return NULL;
        n->size = size;
        return (char *)n + HEADER;
    }
    void *q = mem_malloc(size);
    if (q == NULL)
        return NULL;
    size_t old = block_capacity(h);
    memcpy(q, p, old < size ? old : size);
    mem_free(p);
    return q;
}

static char *
mem_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = mem_malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void
cg_xml_memory_release(void)
{
    cache *tc = tcache;
    if (tc == NULL)
        return;
    for (unsigned c = 0; c < NCLASSES; c++) {
        if (tc->list[c] == NULL)
            continue;
        /* the whole list as one batch: no walk here; the thread that takes it counts it */
        share(c, tc->list[c]);
        tc->list[c] = NULL;
        tc->count[c] = 0;
    }
}

int
cg_xml_memory_install(void)
{
#if defined(__SANITIZE_ADDRESS__)
    (void)mem_realloc, (void)mem_strdup; /* only installed without AddressSanitizer */
    return 0;
#else
    const char *mode = getenv("CDAGATE_XML_MALLOC");
    if (mode && strcmp(mode, "system") == 0)
        return 0;
    return xmlMemSetup(mem_free, mem_malloc, mem_realloc, mem_strdup) == 0;
#endif
}

void
cg_xml_memory_stats_get(cg_xml_memory_stats *out)
{
    pthread_mutex_lock(&shared_lock);
    out->chunks = nchunks;
    pthread_mutex_unlock(&shared_lock);
}
