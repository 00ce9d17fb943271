/* Tests src/registry/format.c: the value shapes of XDS metadata, at and past their limits. */
#include <stdarg.h>
#include <string.h>

#include "registry/format.h"
#include "registry/registry.h"
#include "unit.h"

static void
test_dtm(void)
{
    const char *good[] = {"2024",         "202401",         "20240105", "2024010510",
                          "202401051015", "20240105101559", "20000229", "20241231235959"};
    const char *bad[] = {
        "",           "202",          "20241",          "2024-01-05",      "202413",
        "202400",     "20240132",     "20230229",       "19000229",        "20240431",
        "2024010524", "202401052360", "20240105235960", "202401051015590", "2024010510155",
        "2024 105",   "20240105T1015"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        CU_ASSERT_TRUE(cg_format_is_dtm(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_FALSE(cg_format_is_dtm(bad[i]));
}

static void
test_cx(void)
{
    CU_ASSERT_TRUE(cg_format_is_cx("P-1001^^^&1.3.6.1.4.1.99999.3&ISO"));
    CU_ASSERT_TRUE(cg_format_is_cx("103^^^&2.3.4&ISO"));
    const char *bad[] = {"",
                         "P1",
                         "^^^&1.2.3&ISO",
                         "P1^^^1.2.3&ISO",
                         "P1^^^&1.2.3&L",
                         "P1^^^&1.2.3&ISO^PI",
                         "P1^^^&1.2.3&ISOX",
                         "P1^^^&abc&ISO",
                         "P1^^^&&ISO",
                         "P&1^^^&1.2.3&ISO",
                         " P1^^^&1.2.3&ISO",
                         "P1^x^^&1.2.3&ISO"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_FALSE(cg_format_is_cx(bad[i]));
    /* the reasons say which part is wrong */
    char why[128];
    CU_ASSERT_EQUAL(cg_registry_patient_id_check("P1^^^&1.2.3&ISO", why, sizeof(why)), CG_OK);
    CU_ASSERT_STRING_EQUAL(why, "");
    CU_ASSERT_EQUAL(cg_registry_patient_id_check("P1^^^&x.y&ISO", why, sizeof(why)), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "not an OID"));
    CU_ASSERT_EQUAL(cg_registry_patient_id_check("P1^^^&1.2&L", why, sizeof(why)), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "not ISO"));
    CU_ASSERT_EQUAL(cg_registry_patient_id_check("^^^&1.2&ISO", why, sizeof(why)), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "ID (first component) is empty"));
    CU_ASSERT_EQUAL(cg_registry_patient_id_check("P1^^^&1.2&ISO^X", why, sizeof(why)), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "more after &ISO"));
    CU_ASSERT_EQUAL(cg_registry_patient_id_check("P1", why, 8), CG_EINVAL);
    CU_ASSERT_EQUAL(strlen(why), 7); /* cut to the buffer */
    CU_ASSERT_EQUAL(cg_registry_patient_id_check("P1", NULL, 0), CG_EINVAL);
    /* 256 characters at most */
    char long_id[300];
    memset(long_id, 'A', sizeof(long_id));
    memcpy(long_id + 256 - 13, "^^^&1.2.3&ISO", 14);
    CU_ASSERT_EQUAL(strlen(long_id), 256);
    CU_ASSERT_TRUE(cg_format_is_cx(long_id));
    memmove(long_id + 1, long_id, 257);
    CU_ASSERT_FALSE(cg_format_is_cx(long_id));
    CU_ASSERT_EQUAL(cg_registry_patient_id_check(long_id, why, sizeof(why)), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "longer than 256"));

    /* sourcePatientId: the source's own authority, not necessarily an ISO OID */
    CU_ASSERT_TRUE(cg_format_is_cx_light("L-77^^^&1.2.3&ISO"));
    CU_ASSERT_TRUE(cg_format_is_cx_light("L-77^^^LOCAL^PI"));
    CU_ASSERT_FALSE(cg_format_is_cx_light("L-77"));
    CU_ASSERT_FALSE(cg_format_is_cx_light("L-77^^^"));
    CU_ASSERT_FALSE(cg_format_is_cx_light("^^^&1.2&ISO"));
    CU_ASSERT_FALSE(cg_format_is_cx_light("L-77^^^&1.2&ISO\n"));
}

static void
test_unique_id(void)
{
    CU_ASSERT_TRUE(cg_format_is_oid_ext("1.2.3"));
    CU_ASSERT_TRUE(cg_format_is_oid_ext("1.2.3^DOC-1"));
    CU_ASSERT_TRUE(cg_format_is_oid_ext("1.2.3^0123456789abcdef"));   /* 16: the most */
    CU_ASSERT_FALSE(cg_format_is_oid_ext("1.2.3^0123456789abcdefg")); /* 17 */
    CU_ASSERT_FALSE(cg_format_is_oid_ext("1.2.3^"));
    CU_ASSERT_FALSE(cg_format_is_oid_ext("1.2.3^a b"));
    CU_ASSERT_FALSE(cg_format_is_oid_ext("1.2.3^a^b"));
    CU_ASSERT_FALSE(cg_format_is_oid_ext("^abc"));
    CU_ASSERT_FALSE(cg_format_is_oid_ext("1.02.3"));
    CU_ASSERT_FALSE(cg_format_is_oid_ext("urn:oid:1.2.3"));
    char oid[80];
    /* an OID of 64 characters is the most */
    memset(oid, 0, sizeof(oid));
    memcpy(oid, "1.2.", 4);
    memset(oid + 4, '1', 60);
    CU_ASSERT_EQUAL(strlen(oid), 64);
    CU_ASSERT_TRUE(cg_format_is_oid_ext(oid));
    oid[64] = '1';
    CU_ASSERT_FALSE(cg_format_is_oid_ext(oid));
}

static void
test_small_shapes(void)
{
    CU_ASSERT_TRUE(cg_format_is_sha1("da39a3ee5e6b4b0d3255bfef95601890afd80709"));
    CU_ASSERT_TRUE(cg_format_is_sha1("DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"));
    CU_ASSERT_FALSE(cg_format_is_sha1("da39a3ee5e6b4b0d3255bfef95601890afd8070"));
    CU_ASSERT_FALSE(cg_format_is_sha1("da39a3ee5e6b4b0d3255bfef95601890afd807090"));
    CU_ASSERT_FALSE(cg_format_is_sha1("za39a3ee5e6b4b0d3255bfef95601890afd80709"));

    CU_ASSERT_TRUE(cg_format_is_size("0"));
    CU_ASSERT_TRUE(cg_format_is_size("9223372036854775807"));
    CU_ASSERT_FALSE(cg_format_is_size("9223372036854775808"));
    CU_ASSERT_FALSE(cg_format_is_size("12a"));
    CU_ASSERT_FALSE(cg_format_is_size("-1"));
    CU_ASSERT_FALSE(cg_format_is_size(""));

    const char *langs[] = {"en",         "en-US",     "en-us",     "zh-Hant-TW",
                           "de-CH-1996", "x-private", "i-klingon", "sgn-BE-FR"};
    for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
        CU_ASSERT_TRUE(cg_format_is_language(langs[i]));
    const char *nolangs[] = {"",    "e",   "english language", "en--US", "en-",
                             "-en", "1en", "en-toolongsubtag", "x",      "en_US"};
    for (size_t i = 0; i < sizeof(nolangs) / sizeof(nolangs[0]); i++)
        CU_ASSERT_FALSE(cg_format_is_language(nolangs[i]));

    CU_ASSERT_TRUE(cg_format_is_mime("text/xml"));
    CU_ASSERT_TRUE(cg_format_is_mime("application/hl7-v3+xml"));
    CU_ASSERT_FALSE(cg_format_is_mime("textxml"));
    CU_ASSERT_FALSE(cg_format_is_mime("text/"));
    CU_ASSERT_FALSE(cg_format_is_mime("/xml"));
    CU_ASSERT_FALSE(cg_format_is_mime("text/xml; charset=utf-8"));
    CU_ASSERT_FALSE(cg_format_is_mime("text/x/y"));
}

static void
message(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cg_format_message(out, size, fmt, ap);
    va_end(ap);
}

static void
test_message_cut_keeps_utf8(void)
{
    char out[8];
    message(out, sizeof(out), "%s", "abc");
    CU_ASSERT_STRING_EQUAL(out, "abc");
    message(out, sizeof(out), "%s", "abcdef\xc3\xa9"); /* "abcdefé": the é does not fit */
    CU_ASSERT_STRING_EQUAL(out, "abcdef");
    message(out, sizeof(out), "%s", "abcd\xe2\x82\xac!"); /* "abcd€!": the € fits whole */
    CU_ASSERT_STRING_EQUAL(out, "abcd\xe2\x82\xac");
    message(out, sizeof(out), "%s", "abcde\xe2\x82\xac"); /* cut inside the € */
    CU_ASSERT_STRING_EQUAL(out, "abcde");
    message(out, sizeof(out), "%s", "abcdefghij");
    CU_ASSERT_STRING_EQUAL(out, "abcdefg");
}

void
cg_test_register_registry_format(void)
{
    CU_pSuite s = CU_add_suite("registry/format", NULL, NULL);
    CU_add_test(s, "DTM precisions and ranges", test_dtm);
    CU_add_test(s, "CX patient ids, with reasons", test_cx);
    CU_add_test(s, "uniqueId: OID^extension at its limits", test_unique_id);
    CU_add_test(s, "hash, size, language tag, MIME type", test_small_shapes);
    CU_add_test(s, "messages cut to fit keep whole UTF-8 characters", test_message_cut_keeps_utf8);
}
