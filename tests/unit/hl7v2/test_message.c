/* Tests for hl7v2/message: segments on CR, LF and CRLF; MSH-1/MSH-2 delimiters (the default ones
 * and others); repetitions, components, subcomponents; the escape sequences; the size, segment
 * and field limits at the limit and one past it; malformed MSH; escaping for an answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7v2/message.h"
#include "unit.h"
#include "util/alloc.h"

#define A01                                                                                        \
    "MSH|^~\\&|ADT1|HOSP|CDAGATE|HIE|20261125080000||ADT^A01^ADT_A01|MSG0001|P|2.5\r"              \
    "EVN|A01|20261125080000\r"                                                                     \
    "PID|1||PT-1^^^&1.2.3.4&ISO~LOC9^^^HOSP~\\F\\odd\\S\\id^^^&1.2.3.4&ISO||DOE^JANE||19800101|"   \
    "F\r"

static int
parse(cg_hl7_message *m, const char *text, const cg_hl7_limits *lim, int *why)
{
    cg_err err;
    cg_err_init(&err);
    return cg_hl7_parse(m, text, strlen(text), lim, why, &err);
}

static void
test_segments_and_fields(void)
{
    cg_hl7_message m;
    int why = 0;
    CU_ASSERT_EQUAL_FATAL(parse(&m, A01, NULL, &why), CG_OK);
    CU_ASSERT_EQUAL(m.nsegs, 3);
    const cg_hl7_segment *msh = cg_hl7_segment_find(&m, "MSH", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(msh);
    CU_ASSERT_STRING_EQUAL(cg_hl7_field(msh, 1), "|");
    CU_ASSERT_STRING_EQUAL(cg_hl7_field(msh, 2), "^~\\&");
    CU_ASSERT_STRING_EQUAL(cg_hl7_field(msh, 10), "MSG0001");
    CU_ASSERT_STRING_EQUAL(cg_hl7_field(msh, 12), "2.5");
    CU_ASSERT_STRING_EQUAL(cg_hl7_field(msh, 13), ""); /* absent */
    char v[64];
    CU_ASSERT_EQUAL(cg_hl7_get(v, sizeof v, &m, cg_hl7_field(msh, 9), 1, 2, 0), 3);
    CU_ASSERT_STRING_EQUAL(v, "A01");
    const cg_hl7_segment *pid = cg_hl7_segment_find(&m, "PID", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pid);
    CU_ASSERT_PTR_NULL(cg_hl7_segment_find(&m, "PID", 2));
    const char *pid3 = cg_hl7_field(pid, 3);
    CU_ASSERT_EQUAL(cg_hl7_repetitions(&m, pid3), 3);
    cg_hl7_get(v, sizeof v, &m, pid3, 1, 1, 0);
    CU_ASSERT_STRING_EQUAL(v, "PT-1");
    cg_hl7_get(v, sizeof v, &m, pid3, 1, 4, 2);
    CU_ASSERT_STRING_EQUAL(v, "1.2.3.4");
    cg_hl7_get(v, sizeof v, &m, pid3, 1, 4, 3);
    CU_ASSERT_STRING_EQUAL(v, "ISO");
    cg_hl7_get(v, sizeof v, &m, pid3, 2, 4, 0);
    CU_ASSERT_STRING_EQUAL(v, "HOSP");
    /* escaped delimiters are data, not splits */
    cg_hl7_get(v, sizeof v, &m, pid3, 3, 1, 0);
    CU_ASSERT_STRING_EQUAL(v, "|odd^id");
    CU_ASSERT_EQUAL(cg_hl7_get(v, sizeof v, &m, pid3, 4, 1, 0), 0); /* no 4th repetition */
    CU_ASSERT_EQUAL(cg_hl7_get(v, 3, &m, pid3, 1, 1, 0), -1);       /* does not fit */
    CU_ASSERT_STRING_EQUAL(v, "");
    cg_hl7_message_dispose(&m);
}

static void
test_line_ends(void)
{
    const char *variants[] = {
        "MSH|^~\\&|A|B|C|D|||ADT^A04|1|P|2.3.1\nEVN|A04\nPID|||X^^^&1.2&ISO\n",
        "MSH|^~\\&|A|B|C|D|||ADT^A04|1|P|2.3.1\r\nEVN|A04\r\nPID|||X^^^&1.2&ISO\r\n",
        "\r\nMSH|^~\\&|A|B|C|D|||ADT^A04|1|P|2.3.1\rEVN|A04\r\rPID|||X^^^&1.2&ISO",
    };
    for (size_t i = 0; i < 3; i++) {
        cg_hl7_message m;
        int why;
        CU_ASSERT_EQUAL_FATAL(parse(&m, variants[i], NULL, &why), CG_OK);
        CU_ASSERT_EQUAL(m.nsegs, 3);
        CU_ASSERT_STRING_EQUAL(cg_hl7_field(cg_hl7_segment_find(&m, "PID", 1), 3), "X^^^&1.2&ISO");
        cg_hl7_message_dispose(&m);
    }
}

static void
test_other_delimiters(void)
{
    cg_hl7_message m;
    int why;
    const char *t =
        "MSH#@*$%#A#B#C#D###ADT@A08#7#P#2.5\rPID###Q$F$1@@@%1.2.9%ISO*R2@@@%1.2.9%ISO\r";
    CU_ASSERT_EQUAL_FATAL(parse(&m, t, NULL, &why), CG_OK);
    CU_ASSERT_EQUAL(m.d.field, '#');
    CU_ASSERT_EQUAL(m.d.comp, '@');
    CU_ASSERT_EQUAL(m.d.rep, '*');
    CU_ASSERT_EQUAL(m.d.esc, '$');
    CU_ASSERT_EQUAL(m.d.sub, '%');
    const char *pid3 = cg_hl7_field(cg_hl7_segment_find(&m, "PID", 1), 3);
    CU_ASSERT_EQUAL(cg_hl7_repetitions(&m, pid3), 2);
    char v[32];
    cg_hl7_get(v, sizeof v, &m, pid3, 1, 1, 0);
    CU_ASSERT_STRING_EQUAL(v, "Q#1");
    cg_hl7_get(v, sizeof v, &m, pid3, 2, 4, 2);
    CU_ASSERT_STRING_EQUAL(v, "1.2.9");
    cg_hl7_message_dispose(&m);
}

static void
test_escapes(void)
{
    cg_hl7_delims d = {'|', '^', '~', '\\', '&'};
    char out[64];
    const char *in = "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\X4142\\g\\.br\\h\\Zq\\i\\";
    CU_ASSERT_EQUAL(cg_hl7_unescape(out, sizeof out, &d, in, strlen(in)), 26);
    CU_ASSERT_STRING_EQUAL(out, "a|b^c&d~e\\fABg\\.br\\h\\Zq\\i\\");
    /* an escape with no closing character is kept */
    CU_ASSERT_EQUAL(cg_hl7_unescape(out, sizeof out, &d, "x\\F", 3), 3);
    CU_ASSERT_STRING_EQUAL(out, "x\\F");
    /* and back: every delimiter escaped, line ends made spaces */
    cg_buf b;
    cg_buf_init(&b, 1024);
    CU_ASSERT_EQUAL(cg_hl7_escape(&b, &d, "a|b^c&d~e\\f\rg"), 0);
    CU_ASSERT_STRING_EQUAL(b.data, "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f g");
    char back[64];
    cg_hl7_unescape(back, sizeof back, &d, b.data, b.len);
    CU_ASSERT_STRING_EQUAL(back, "a|b^c&d~e\\f g");
    cg_buf_dispose(&b);
}

static void
test_bad_msh(void)
{
    const char *bad[] = {"",
                         "PID|||X\r",
                         "MSH|^~\r",
                         "MSH|^^\\&|A\r",
                         "MSH|^~\\A|A\r",
                         "MSH ^~\\&|A\r",
                         "MSH|^~\\&XY|A\r"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cg_hl7_message m;
        int why = 0;
        CU_ASSERT_EQUAL(parse(&m, bad[i], NULL, &why), CG_EINVAL);
        CU_ASSERT_EQUAL(why, CG_HL7_BAD_MSH);
        CU_ASSERT_PTR_NULL(m.segs);
    }
    cg_hl7_message m;
    int why = 0;
    CU_ASSERT_EQUAL(parse(&m, "MSH|^~\\&|A\rpid|||x\r", NULL, &why), CG_EINVAL);
    CU_ASSERT_EQUAL(why, CG_HL7_BAD_SEGMENT);
    CU_ASSERT_EQUAL(m.d.comp, '^'); /* the delimiters are known, for the answer */
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_hl7_parse(&m, "MSH|^~\\&|A\0B\r", 12, NULL, &why, &err), CG_EINVAL);
    CU_ASSERT_EQUAL(why, CG_HL7_BAD_SEGMENT);
}

static void
test_limits(void)
{
    cg_hl7_limits lim = {.max_bytes = 64, .max_segments = 3, .max_fields = 6};
    cg_hl7_message m;
    int why;
    /* bytes: 64 accepted, 65 refused */
    char text[80];
    memset(text, 'x', sizeof text);
    memcpy(text, "MSH|^~\\&|", 9);
    text[63] = '\r';
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_hl7_parse(&m, text, 64, &lim, &why, &err), CG_OK);
    cg_hl7_message_dispose(&m);
    text[64] = '\r';
    CU_ASSERT_EQUAL(cg_hl7_parse(&m, text, 65, &lim, &why, &err), CG_ETOOBIG);
    CU_ASSERT_EQUAL(why, CG_HL7_TOO_BIG);
    /* segments: 3 accepted, 4 refused */
    CU_ASSERT_EQUAL(parse(&m, "MSH|^~\\&|A\rEVN|1\rPID|1\r", &lim, &why), CG_OK);
    cg_hl7_message_dispose(&m);
    CU_ASSERT_EQUAL(parse(&m, "MSH|^~\\&|A\rEVN|1\rPID|1\rPV1|1\r", &lim, &why), CG_ETOOBIG);
    CU_ASSERT_EQUAL(why, CG_HL7_TOO_BIG);
    /* fields (counting the id): 6 accepted, 7 refused; MSH counts MSH-1 and MSH-2 */
    CU_ASSERT_EQUAL(parse(&m, "MSH|^~\\&|A\rPID|1|2|3|4|5\r", &lim, &why), CG_OK);
    cg_hl7_message_dispose(&m);
    CU_ASSERT_EQUAL(parse(&m, "MSH|^~\\&|A\rPID|1|2|3|4|5|6\r", &lim, &why), CG_ETOOBIG);
    CU_ASSERT_EQUAL(parse(&m, "MSH|^~\\&|3|4|5|6\r", &lim, &why), CG_ETOOBIG);
    CU_ASSERT_EQUAL(parse(&m, "MSH|^~\\&|3|4|5\r", &lim, &why), CG_OK);
    cg_hl7_message_dispose(&m);
}

void
cg_test_register_hl7v2_message(void)
{
    CU_pSuite s = CU_add_suite("hl7v2/message", NULL, NULL);
    CU_add_test(s, "segments, fields, repetitions, components", test_segments_and_fields);
    CU_add_test(s, "CR, LF and CRLF line ends", test_line_ends);
    CU_add_test(s, "delimiters declared in MSH-1 and MSH-2", test_other_delimiters);
    CU_add_test(s, "escape sequences both ways", test_escapes);
    CU_add_test(s, "malformed MSH and segments", test_bad_msh);
    CU_add_test(s, "size, segment and field limits at and past the limit", test_limits);
}
