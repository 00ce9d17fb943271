/* Tests for util/id: the identifiers cdagate makes up. */
#define _POSIX_C_SOURCE 200809L
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "util/id.h"

static void
test_uuid4(void)
{
    char a[CG_UUID_URN_LEN + 1], b[CG_UUID_URN_LEN + 1];
    cg_id_uuid_urn(a);
    cg_id_uuid_urn(b);
    CU_ASSERT_EQUAL(strlen(a), CG_UUID_URN_LEN);
    CU_ASSERT(cg_id_is_uuid_urn(a));
    CU_ASSERT_EQUAL(a[9 + 14], '4');              /* version */
    CU_ASSERT(strchr("89ab", a[9 + 19]) != NULL); /* variant */
    CU_ASSERT(strcmp(a, b) != 0);
}

/* Ids come from a pool of random bytes per thread: many are distinct, and a forked child does not
 * make its parent's next ids (its pool starts empty). */
static void
test_ids_distinct_across_fork(void)
{
    enum { N = 300 }; /* more ids than one pool holds */
    static char seen[N][CG_UUID_URN_LEN + 1];
    for (int i = 0; i < N; i++) {
        cg_id_uuid_urn(seen[i]);
        for (int k = 0; k < i; k++)
            if (strcmp(seen[k], seen[i]) == 0)
                CU_FAIL("a UUID came twice");
    }
    int fds[2];
    CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        char child[CG_UUID_URN_LEN + 1];
        cg_id_uuid_urn(child);
        ssize_t w = write(fds[1], child, CG_UUID_URN_LEN);
        _exit(w == CG_UUID_URN_LEN ? 0 : 1);
    }
    close(fds[1]);
    char mine[CG_UUID_URN_LEN + 1], theirs[CG_UUID_URN_LEN + 1] = {0};
    cg_id_uuid_urn(mine);
    CU_ASSERT_EQUAL(read(fds[0], theirs, CG_UUID_URN_LEN), CG_UUID_URN_LEN);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT(cg_id_is_uuid_urn(theirs));
    CU_ASSERT(strcmp(mine, theirs) != 0);
}

/* Version 7: well-formed, distinct, and later ones sort after earlier ones (a millisecond apart:
 * within one millisecond the order is random). */
static void
test_uuid7_sorts_by_time(void)
{
    char prev[CG_UUID_URN_LEN + 1], cur[CG_UUID_URN_LEN + 1];
    cg_id_uuid7_urn(prev);
    for (int i = 0; i < 20; i++) {
        struct timespec ts = {0, 1500000};
        nanosleep(&ts, NULL);
        cg_id_uuid7_urn(cur);
        CU_ASSERT(cg_id_is_uuid_urn(cur));
        CU_ASSERT_EQUAL(cur[9 + 14], '7');
        CU_ASSERT(strchr("89ab", cur[9 + 19]) != NULL);
        CU_ASSERT(strcmp(prev, cur) < 0);
        memcpy(prev, cur, sizeof(cur));
    }
    /* the first 48 bits are now, in milliseconds */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    unsigned long long ms =
        (unsigned long long)now.tv_sec * 1000u + (unsigned long long)now.tv_nsec / 1000000u;
    char hex[13];
    memcpy(hex, cur + 9, 8);
    memcpy(hex + 8, cur + 9 + 9, 4);
    hex[12] = 0;
    unsigned long long got = strtoull(hex, NULL, 16);
    CU_ASSERT(got <= ms && ms - got < 1000);
    /* many in the same millisecond are still distinct */
    char many[64][CG_UUID_URN_LEN + 1];
    for (int i = 0; i < 64; i++)
        cg_id_uuid7_urn(many[i]);
    for (int i = 0; i < 64; i++)
        for (int j = i + 1; j < 64; j++)
            CU_ASSERT(strcmp(many[i], many[j]) != 0);
}

void
cg_test_register_id(void)
{
    CU_pSuite s = CU_add_suite("util/id", NULL, NULL);
    CU_add_test(s, "random UUIDs: version 4, well-formed, distinct", test_uuid4);
    CU_add_test(s, "ids from the per-thread pool: distinct, and not repeated by a forked child",
                test_ids_distinct_across_fork);
    CU_add_test(s, "time-ordered UUIDs: version 7, later ones sort after",
                test_uuid7_sorts_by_time);
}
