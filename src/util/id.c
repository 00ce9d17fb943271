/* id: identifiers cdagate makes up (see id.h). */
#define _POSIX_C_SOURCE 200809L
#include "util/id.h"

#include <assert.h>
#include <ctype.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static void
id_draw(unsigned char *out, size_t len)
{
    if (RAND_bytes(out, (int)len) != 1) {
        fputs("cdagate: the system random generator failed\n", stderr);
        abort();
    }
}

/* Random bytes for ids, drawn from OpenSSL's generator ID_POOL at a time by each thread: every
 * draw costs a lock and a getpid() (OpenSSL's fork check), and one request makes several ids.
 * Bytes handed out are wiped from the pool. A forked child starts with an empty pool
 * (id_forked: the forking thread is the child's only one), so it never repeats its parent's. */
#define ID_POOL 1024
static _Thread_local unsigned char id_pool[ID_POOL];
static _Thread_local size_t id_left;
static pthread_once_t id_once = PTHREAD_ONCE_INIT;

static void
id_forked(void)
{
    memset(id_pool, 0, sizeof(id_pool));
    id_left = 0;
}

static void
id_init(void)
{
    pthread_atfork(NULL, NULL, id_forked);
}

static void
id_random(unsigned char *out, size_t len)
{
    assert(len <= ID_POOL);
    pthread_once(&id_once, id_init);
    if (id_left < len) {
        id_draw(id_pool, ID_POOL);
        id_left = ID_POOL;
    }
    unsigned char *from = id_pool + (ID_POOL - id_left);
    memcpy(out, from, len);
    memset(from, 0, len);
    id_left -= len;
}

/* RFC 9562 4.1, 4.2: the version in the high nibble of octet 6, the variant (10) in octet 8. */
static void
id_uuid_mark(unsigned char b[16], unsigned version)
{
    b[6] = (unsigned char)((b[6] & 0x0f) | (version << 4));
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
}

static void
id_uuid_format(const unsigned char b[16], char out[CG_UUID_URN_LEN + 1])
{
    snprintf(out, CG_UUID_URN_LEN + 1,
             "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

void
cg_id_uuid_urn(char out[CG_UUID_URN_LEN + 1])
{
    unsigned char b[16];
    id_random(b, sizeof(b));
    id_uuid_mark(b, 4);
    id_uuid_format(b, out);
}

void
cg_id_uuid7_urn(char out[CG_UUID_URN_LEN + 1])
{
    unsigned char b[16];
    id_random(b, sizeof(b));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long long ms =
        (unsigned long long)ts.tv_sec * 1000u + (unsigned long long)ts.tv_nsec / 1000000u;
    for (int i = 5; i >= 0; i--, ms >>= 8)
        b[i] = (unsigned char)(ms & 0xff);
    id_uuid_mark(b, 7);
    id_uuid_format(b, out);
}

void
cg_id_oid(char out[CG_OID_MAX + 1])
{
    unsigned char b[16];
    id_random(b, sizeof(b));
    id_uuid_mark(b, 4);
    /* 128-bit big-endian integer to decimal by repeated division */
    char digits[48];
    size_t nd = 0;
    int nonzero = 1;
    while (nonzero) {
        unsigned rem = 0;
        nonzero = 0;
        for (size_t i = 0; i < sizeof(b); i++) {
            unsigned cur = (rem << 8) | b[i];
            b[i] = (unsigned char)(cur / 10);
            rem = cur % 10;
            if (b[i])
                nonzero = 1;
        }
        digits[nd++] = (char)('0' + rem);
    }
    size_t o = 0;
    memcpy(out, "2.25.", 5);
    o = 5;
    while (nd > 0)
        out[o++] = digits[--nd];
    out[o] = '\0';
}

int
cg_id_is_oid(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > CG_OID_MAX || s[0] < '0' || s[0] > '2')
        return 0;
    const char *p = s;
    int arcs = 0;
    for (;;) {
        if (!isdigit((unsigned char)*p))
            return 0;
        if (*p == '0' && isdigit((unsigned char)p[1]))
            return 0; /* leading zero */
        while (isdigit((unsigned char)*p))
            p++;
        arcs++;
        if (*p == '\0')
            break;
        if (*p != '.')
            return 0;
        p++;
    }
    return arcs >= 2;
}

int
cg_id_is_uuid_urn(const char *s)
{
    if (strncasecmp(s, "urn:uuid:", 9) != 0)
        return 0;
    s += 9;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return 0;
    }
    return s[36] == '\0';
}
