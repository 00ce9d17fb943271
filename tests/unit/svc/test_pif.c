/* Tests for svc/pif (ITI-8) with a real store: A01/A04/A05/A08 register, A40 merges, and each
 * acknowledgement code a sender can meet (AA, AE, AR with their ERR codes), in 2.3.1 and 2.5
 * shapes; store merges (unknown, repeated, chained, refused) and the registry refusing a
 * submission's merged patient id is in tests/pif/feed.test end to end. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc/pif.h"
#include "unit.h"
#include "util/alloc.h"

#define AUTH "1.2.3.4.5"

typedef struct env {
    char *dir;
    cg_store *store;
    cg_registry *reg;
    cg_pif *pif;
    cg_buf ack;
    cg_hl7_message m; /* the last answer, parsed */
    cg_pif_outcome o;
} env;

static void
env_open(env *e, const char *const *auths, size_t nauths, const char *proc)
{
    memset(e, 0, sizeof(*e));
    e->dir = cg_test_tmpdir();
    cg_store_config sc = {.data_dir = e->dir, .readers = 2, .commit_batch = 4};
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_store_open(&e->store, &sc, &err), CG_OK);
    e->reg = cg_registry_new(e->store, NULL);
    cg_pif_config pc = {.authorities = auths, .nauthorities = nauths, .processing_ids = proc};
    e->pif = cg_pif_new(e->reg, &pc);
    cg_buf_init(&e->ack, 8192);
}

static void
env_close(env *e)
{
    cg_hl7_message_dispose(&e->m);
    cg_buf_dispose(&e->ack);
    cg_pif_free(e->pif);
    cg_registry_free(e->reg);
    cg_store_free(e->store);
    free(e->dir);
}

/* Sends text (segments joined with \r) and parses the answer into e->m. */
static void
send_msg(env *e, const char *text)
{
    cg_hl7_message_dispose(&e->m);
    cg_pif_handle(e->pif, text, strlen(text), 0, &e->ack, &e->o);
    cg_err err;
    cg_err_init(&err);
    int why;
    CU_ASSERT_EQUAL_FATAL(cg_hl7_parse(&e->m, e->ack.data, e->ack.len, NULL, &why, &err), CG_OK);
}

static const char *
field(env *e, const char *seg, size_t n)
{
    return cg_hl7_field(cg_hl7_segment_find(&e->m, seg, 1), n);
}

static int
known(env *e, const char *pid)
{
    int k = 0;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_patient_known(e->store, pid, &k, &err), CG_OK);
    return k;
}

#define MSH25(trigger, id)                                                                         \
    "MSH|^~\\&|ADT1|HOSP|CDAGATE|HIE|20261125080000||ADT^" trigger "^ADT_A01|" id "|P|2.5\r"
#define MSH231(trigger, id) "MSH|^~\\&|ADT1|HOSP|||20261125080000||ADT^" trigger "|" id "|P|2.3.1\r"
#define PID(ids) "PID|1||" ids "||DOE^JANE||19800101|F\r"

static void
test_register_events(void)
{
    env e;
    env_open(&e, NULL, 0, NULL);
    send_msg(&e, MSH25("A01", "M1") "EVN|A01|20261125080000\r" PID("P1^^^&" AUTH "&ISO~L7^^^HOSP"));
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AA");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 2), "M1");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSH", 9), "ACK^A01^ACK");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSH", 3), "CDAGATE"); /* we answer as the receiver */
    CU_ASSERT_STRING_EQUAL(field(&e, "MSH", 5), "ADT1");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSH", 12), "2.5");
    CU_ASSERT_PTR_NULL(cg_hl7_segment_find(&e.m, "ERR", 1));
    CU_ASSERT(known(&e, "P1^^^&" AUTH "&ISO"));
    CU_ASSERT(!known(&e, "L7^^^&HOSP&ISO"));
    /* 2.3.1: ACK^A04, and an already known patient is not an error (A08 update) */
    send_msg(&e, MSH231("A04", "M2") PID("P2^^^&" AUTH "&ISO"));
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AA");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSH", 9), "ACK^A04");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSH", 12), "2.3.1");
    send_msg(&e, MSH231("A05", "M3") PID("P3^^^&" AUTH "&ISO"));
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AA");
    send_msg(&e, MSH25("A08", "M4") PID("P3^^^&" AUTH "&ISO"));
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AA");
    CU_ASSERT(known(&e, "P2^^^&" AUTH "&ISO") && known(&e, "P3^^^&" AUTH "&ISO"));
    /* LF line ends and an escaped character in the id */
    send_msg(&e, "MSH|^~\\&|A|B|||||ADT^A01|M5|P|2.5\nPID|||P\\T\\4^^^&" AUTH "&ISO\n");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AE"); /* & is not allowed in an XDS id */
    CU_ASSERT_STRING_EQUAL(field(&e, "ERR", 3), "102^Data type error^HL70357");
    env_close(&e);
}

static void
test_rejections(void)
{
    env e;
    env_open(&e, NULL, 0, "P");
    send_msg(&e, "MSH|^~\\&|A|B|||||ADT^A01|R1|P|2.2\rPID|||P1^^^&" AUTH "&ISO\r");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AR");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 2), "R1");
    CU_ASSERT_STRING_EQUAL(field(&e, "ERR", 3), "203^Unsupported version id^HL70357");
    CU_ASSERT_STRING_EQUAL(field(&e, "ERR", 2), "MSH^1^12");
    send_msg(&e, "MSH|^~\\&|A|B|||||ADT^A01|R2|T|2.5\rPID|||P1^^^&" AUTH "&ISO\r");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AR");
    CU_ASSERT_STRING_EQUAL(field(&e, "ERR", 3), "202^Unsupported processing id^HL70357");
    send_msg(&e, "MSH|^~\\&|A|B|||||ADT^A01||P|2.5\rPID|||P1^^^&" AUTH "&ISO\r");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AR");
    CU_ASSERT_STRING_EQUAL(field(&e, "ERR", 3), "101^Required field missing^HL70357");
    /* not HL7 at all: rejected, with the default delimiters */
    send_msg(&e, "GET / HTTP/1.1\r\n\r\n");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AR");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 2), "");
    CU_ASSERT(!known(&e, "P1^^^&" AUTH "&ISO"));
    /* too long for the transport: rejected, MSH-10 echoed */
    cg_hl7_message_dispose(&e.m);
    const char *big = "MSH|^~\\&|A|B|||||ADT^A01|R4|P|2.3.1\rPID|||P1^^^&1.2";
    cg_pif_handle(e.pif, big, strlen(big), 1, &e.ack, &e.o);
    cg_err err;
    cg_err_init(&err);
    int why;
    CU_ASSERT_EQUAL_FATAL(cg_hl7_parse(&e.m, e.ack.data, e.ack.len, NULL, &why, &err), CG_OK);
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AR");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 2), "R4");
    /* 2.3.1 ERR-1: segment^sequence^field^code&text&table */
    CU_ASSERT_STRING_EQUAL(field(&e, "ERR", 1), "^^^207&Application internal error&HL70357");
    env_close(&e);
}

static void
test_application_errors(void)
{
    static const char *const auths[] = {AUTH};
    env e;
    env_open(&e, auths, 1, NULL);
    send_msg(&e, "MSH|^~\\&|A|B|||||ORU^R01|E1|P|2.5\rPID|||P1^^^&" AUTH "&ISO\r");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AE");
    CU_ASSERT_STRING_EQUAL(field(&e, "ERR", 3), "200^Unsupported message type^HL70357");
    send_msg(&e, MSH25("A03", "E2") PID("P1^^^&" AUTH "&ISO"));
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AE");
    CU_ASSERT_STRING_EQUAL(field(&e, "ERR", 3), "201^Unsupported event code^HL70357");
    send_msg(&e, MSH25("A01", "E3") "EVN|A01\r");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AE");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 2), "E3");
    CU_ASSERT_STRING_EQUAL(field(&e, "ERR", 3), "100^Segment sequence error^HL70357");
    send_msg(&e, MSH25("A01", "E4") "PID|1||\r");
    CU_ASSERT_STRING_EQUAL(field(&e, "ERR", 3), "101^Required field missing^HL70357");
    CU_ASSERT_STRING_EQUAL(field(&e, "ERR", 2), "PID^1^3");
    /* the same in 2.3.1: ERR-1 segment^sequence^field^code&text&table */
    send_msg(&e, MSH231("A01", "E4B") "PID|1||\r");
    CU_ASSERT_STRING_EQUAL(field(&e, "ERR", 1), "PID^1^3^101&Required field missing&HL70357");
    send_msg(&e, MSH231("A01", "E4C") "EVN|A01\r");
    CU_ASSERT_STRING_EQUAL(field(&e, "ERR", 1), "PID^1^^100&Segment sequence error&HL70357");
    /* an identifier of another domain only */
    send_msg(&e, MSH25("A01", "E5") PID("P9^^^&9.9.9&ISO~P9^^^LOCAL"));
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AE");
    CU_ASSERT_STRING_EQUAL(field(&e, "ERR", 3), "103^Table value not found^HL70357");
    CU_ASSERT(!known(&e, "P9^^^&9.9.9&ISO"));
    /* a segment that is not one */
    send_msg(&e, MSH25("A01", "E6") "pid|||x\r");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AE");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 2), "E6");
    env_close(&e);
}

static int
family_put(void *ctx, const char *id, int surviving)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "%s=%d ", id, surviving);
    return 0;
}

/* cg_store_patient_family's answer as "id=surviving " in the order given (a static buffer). */
static const char *
family_of(cg_store *store, const char *id)
{
    static char out[512];
    out[0] = '\0';
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_patient_family(store, id, family_put, out, &err), CG_OK);
    return out;
}

static void
test_merge(void)
{
    env e;
    env_open(&e, NULL, 0, NULL);
    const char *S = "S1^^^&" AUTH "&ISO", *O = "OLD1^^^&" AUTH "&ISO";
    send_msg(&e, MSH25("A01", "G1") PID("OLD1^^^&" AUTH "&ISO"));
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AA");
    /* A40: PID-3 survives (added, as it was unknown), MRG-1 is subsumed */
    send_msg(&e, "MSH|^~\\&|A|B|||||ADT^A40^ADT_A39|G2|P|2.5\rEVN|A40\r"
                 "PID|||S1^^^&" AUTH "&ISO\rMRG|OLD1^^^&" AUTH "&ISO~OLD1^^^LOCAL\r");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AA");
    CU_ASSERT(known(&e, S));
    CU_ASSERT(!known(&e, O));
    int k = 0;
    char *into = NULL;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_patient_lookup(e.store, O, &k, &into, &err), CG_OK);
    CU_ASSERT(k == 1 && into && strcmp(into, S) == 0);
    free(into);
    /* the same merge again: accepted */
    send_msg(&e, "MSH|^~\\&|A|B|||||ADT^A40|G3|P|2.3.1\rPID|||S1^^^&" AUTH "&ISO\r"
                 "MRG|OLD1^^^&" AUTH "&ISO\r");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AA");
    /* an unknown subsumed id: AE 204 */
    send_msg(&e, "MSH|^~\\&|A|B|||||ADT^A40|G4|P|2.5\rPID|||S1^^^&" AUTH "&ISO\r"
                 "MRG|NOBODY^^^&" AUTH "&ISO\r");
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AE");
    CU_ASSERT_STRING_EQUAL(field(&e, "ERR", 3), "204^Unknown key identifier^HL70357");
    CU_ASSERT_STRING_EQUAL(field(&e, "ERR", 2), "MRG^1^1");
    /* no MRG: AE 100 */
    send_msg(&e, "MSH|^~\\&|A|B|||||ADT^A40|G5|P|2.5\rPID|||S1^^^&" AUTH "&ISO\r");
    CU_ASSERT_STRING_EQUAL(field(&e, "ERR", 3), "100^Segment sequence error^HL70357");
    /* registering a subsumed id again: AE 205, naming the surviving one */
    send_msg(&e, MSH25("A08", "G6") PID("OLD1^^^&" AUTH "&ISO"));
    CU_ASSERT_STRING_EQUAL(field(&e, "MSA", 1), "AE");
    CU_ASSERT_STRING_EQUAL(field(&e, "ERR", 3), "205^Duplicate key identifier^HL70357");
    CU_ASSERT_PTR_NOT_NULL(strstr(field(&e, "MSA", 3), "S1"));
    /* chains stay one level: S1 merged into S2 moves OLD1 to S2 */
    CU_ASSERT_EQUAL(cg_store_patient_merge(e.store, "S2^^^&" AUTH "&ISO", S, &err), CG_OK);
    CU_ASSERT_EQUAL(cg_store_patient_lookup(e.store, O, &k, &into, &err), CG_OK);
    CU_ASSERT(into && strcmp(into, "S2^^^&" AUTH "&ISO") == 0);
    free(into);
    /* what a query's patient id stands for: the surviving id first, then every id merged in */
    CU_ASSERT_STRING_EQUAL(family_of(e.store, O), "S2^^^&" AUTH "&ISO=1 "
                                                  "OLD1^^^&" AUTH "&ISO=0 S1^^^&" AUTH "&ISO=0 ");
    CU_ASSERT_STRING_EQUAL(family_of(e.store, "S2^^^&" AUTH "&ISO"),
                           "S2^^^&" AUTH "&ISO=1 OLD1^^^&" AUTH "&ISO=0 S1^^^&" AUTH "&ISO=0 ");
    CU_ASSERT_STRING_EQUAL(family_of(e.store, "NOBODY^^^&1.2&ISO"), "NOBODY^^^&1.2&ISO=1 ");
    /* refused in the store: into itself, a merged id into another, into a merged id */
    cg_err_init(&err);
    CU_ASSERT_EQUAL(
        cg_store_patient_merge(e.store, "S2^^^&" AUTH "&ISO", "S2^^^&" AUTH "&ISO", &err),
        CG_EINVAL);
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_patient_merge(e.store, "S3^^^&" AUTH "&ISO", S, &err), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "already merged into S2"));
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_patient_add(e.store, "S4^^^&" AUTH "&ISO", &err), CG_OK);
    CU_ASSERT_EQUAL(cg_store_patient_merge(e.store, S, "S4^^^&" AUTH "&ISO", &err), CG_EINVAL);
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_patient_merge(e.store, "S2^^^&" AUTH "&ISO", "NONE^^^&1.2&ISO", &err),
                    CG_ENOTFOUND);
    env_close(&e);
}

void
cg_test_register_svc_pif(void)
{
    CU_pSuite s = CU_add_suite("svc/pif", NULL, NULL);
    CU_add_test(s, "A01, A04, A05, A08 register patients; AA", test_register_events);
    CU_add_test(s, "bad version, processing id, control id, not HL7, too long: AR",
                test_rejections);
    CU_add_test(s, "message type, event, segments, fields, domains: AE", test_application_errors);
    CU_add_test(s, "A40 merges; store merge rules", test_merge);
}
